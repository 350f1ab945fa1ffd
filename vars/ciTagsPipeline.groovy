// The whole ci-tags flow for a Jenkins pipeline (multibranch, or a plain Pipeline job), as one step:
//
//   @Library('ci-tags@0.2.0') _
//   ciTagsPipeline(config: 'ci-tags.yml', agentLabel: 'linux', maxAge: '7d', credentialsId: 'registry')
//
//   plan      `ci-tags plan` on an agentLabel agent, and beside it, off the critical path, `ci-tags janitor` (its
//             failure marks the build UNSTABLE, not FAILED, and does not hold the images back)
//   build     the plan's builds wave by wave, in parallel, each on an agent with its arch's labels; then each
//             multi-arch image's manifest (ciTagsWaves)
//   publish   `ci-tags publish`, only on the default branch and only while the build is successful
//   report    the build's description: what plan, janitor and publish did (their CI_TAGS_REPORT sections)
//
// The branch: BRANCH_NAME in a multibranch job; in a plain Pipeline job, the checkout's GIT_BRANCH, or the branch:
// parameter (e.g. from a job parameter). janitor: 'schedules' runs the janitor only in builds the job's cron trigger
// started (declarative `triggers { cron('H 3 * * *') }`).
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
    String checkoutBranch = ''
    List reports = ['', '', '']  // plan, janitor, publish: the build's description, even when a stage fails
    try {
        stage('ci-tags plan') {
            Map branches = [plan: {
                ciTagsNode(label) {
                    try {
                        plan = ciTagsPlan(settings)
                        checkoutBranch = env.GIT_BRANCH ?: ''
                    } finally {
                        reports[0] = ciTagsEnv.readReport('plan')
                    }
                }
            }]
            String noJanitor = janitorSkipped(settings)
            if (noJanitor) {
                echo "ci-tags: no janitor in this build: ${noJanitor}"
            } else {
                branches.janitor = {
                    janitorFailed = true
                    String failed = 'ci-tags janitor failed: the build goes on; expired tags stay until next time'
                    catchError(buildResult: 'UNSTABLE', stageResult: 'UNSTABLE', message: failed) {
                        ciTagsNode(label) {
                            try {
                                ciTagsJanitor(settings)
                            } finally {
                                reports[1] = ciTagsEnv.readReport('janitor')
                            }
                        }
                        janitorFailed = false
                    }
                }
            }
            parallel(branches)
        }
        ciTagsWaves(plan, settings)
        stage('ci-tags publish') {
            String why = publishRefusal(settings, buildBranch(settings, checkoutBranch), successBefore, janitorFailed)
            if (why) {
                echo "ci-tags: not publishing: ${why}"
                reports[2] = "## ci-tags publish\n\nNot published: ${why}"
                return
            }
            ciTagsNode(label) {
                try {
                    ciTagsPublish(settings)
                } finally {
                    reports[2] = ciTagsEnv.readReport('publish')
                }
            }
        }
    } finally {
        describe(reports)
    }
    return plan
}

/**
 * This build's branch: the branch parameter, else the multibranch BRANCH_NAME, else what the checkout reported
 * (a plain Pipeline job's GIT_BRANCH, origin/main), without the remote's name, as ci-tags reads it.
 */
String buildBranch(Map settings, String checkoutBranch) {
    String branch = settings.branch ?: env.BRANCH_NAME ?: checkoutBranch
    return branch.startsWith('origin/') ? branch.substring('origin/'.length()) : branch
}

/** Why the janitor does not run in this build, or null: janitor: 'never', or 'schedules' and not a timer's build. */
String janitorSkipped(Map settings) {
    if (settings.janitor == 'never') {
        return "janitor: 'never'"
    }
    String timer = 'hudson.triggers.TimerTrigger$TimerTriggerCause'
    if (settings.janitor == 'schedules' && !currentBuild.getBuildCauses(timer)) {
        return "janitor: 'schedules', and the job's cron trigger did not start this build"
    }
    return null
}

/**
 * Why this build must not publish, or null. A failed build never gets here (its error ends the step); a janitor
 * failure alone leaves the build UNSTABLE but the images sound, so it does not stop publishing.
 */
String publishRefusal(Map settings, String branch, boolean successBefore, boolean janitorFailed) {
    if (!settings.publish) {
        return 'publish: false'
    }
    if (branch != settings.defaultBranch) {
        return "${branch ?: 'this build'} is not the default branch ${settings.defaultBranch}"
    }
    String result = currentBuild.currentResult
    if (!successBefore || !(result == 'SUCCESS' || (janitorFailed && result == 'UNSTABLE'))) {
        return "the build is ${result}"
    }
    return null
}

/** The build's description: the reports given, in order (none: the description stays as it is). */
void describe(List reports) {
    String text = joined(reports)
    if (text) {
        currentBuild.description = text
    }
}

@NonCPS
String joined(List reports) {
    return reports.findAll { Object report -> report?.toString()?.trim() }
        .collect { Object report -> report.toString().trim() }.join('\n\n')
}
