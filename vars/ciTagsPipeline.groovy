// The whole ci-tags flow for a Jenkins (multibranch) pipeline, as one step:
//
//   @Library('ci-tags@0.2.0') _
//   ciTagsPipeline(config: 'ci-tags.yml', agentLabel: 'linux', maxAge: '7d', credentialsId: 'registry')
//
//   plan      `ci-tags plan` on an agentLabel agent, and beside it, off the critical path, `ci-tags janitor` (its
//             failure marks the build UNSTABLE, not FAILED, and does not hold the images back)
//   build     the plan's builds wave by wave, in parallel, each on an agent with its arch's labels; then each
//             multi-arch image's manifest (ciTagsWaves)
//   publish   `ci-tags publish`, only on the default branch and only while the build is successful
//
// Pipeline tags are pipeline-<branch slug>-<BUILD_NUMBER>: build numbers restart on every branch. Parameters: see
// ciTagsSettings. The smaller steps (ciTagsNode, ciTagsPlan, ciTagsJanitor, ciTagsBuild, ciTagsManifest,
// ciTagsWaves, ciTagsPublish) assemble other pipelines.

/** Returns the plan (waves and image references), for stages of your own after it. */
Map call(Map args = [:]) {
    Map settings = ciTagsSettings(args)
    String label = ciTagsWaves.labelExpression([settings.agentLabel])
    // A result set before this step (by stages of your own) stops publishing just like one set inside it.
    boolean successBefore = currentBuild.currentResult == 'SUCCESS'
    boolean janitorFailed = false
    Map plan = [:]
    stage('ci-tags plan') {
        Map branches = [plan: { ciTagsNode(label) { plan = ciTagsPlan(settings) } }]
        if (settings.janitor) {
            branches.janitor = {
                janitorFailed = true
                catchError(buildResult: 'UNSTABLE', stageResult: 'UNSTABLE',
                           message: 'ci-tags janitor failed: the build goes on; expired tags stay until next time') {
                    ciTagsNode(label) {
                        ciTagsJanitor(settings)
                    }
                    janitorFailed = false
                }
            }
        }
        parallel(branches)
    }
    ciTagsWaves(plan, settings)
    stage('ci-tags publish') {
        String why = publishRefusal(settings, successBefore, janitorFailed)
        if (why) {
            echo "ci-tags: not publishing: ${why}"
            return
        }
        ciTagsNode(label) {
            ciTagsPublish(settings)
        }
    }
    return plan
}

/**
 * Why this build must not publish, or null. A failed build never gets here (its error ends the step); a janitor
 * failure alone leaves the build UNSTABLE but the images sound, so it does not stop publishing.
 */
String publishRefusal(Map settings, boolean successBefore, boolean janitorFailed) {
    if (!settings.publish) {
        return 'publish: false'
    }
    if (env.BRANCH_NAME != settings.defaultBranch) {
        return "${env.BRANCH_NAME ?: 'this build'} is not the default branch ${settings.defaultBranch}"
    }
    String result = currentBuild.currentResult
    if (!successBefore || !(result == 'SUCCESS' || (janitorFailed && result == 'UNSTABLE'))) {
        return "the build is ${result}"
    }
    return null
}
