// `ci-tags publish`: moves :latest (and the config's other publish tags) to this build's images. It checks by
// itself again that this is the default branch, that every image has its pipeline tag and that the move goes
// forward in time; with jenkinsCredentialsId it also asks Jenkins that the build has not failed. Call it only from
// the default branch while the build is successful (ciTagsPipeline does), inside ciTagsNode.

void call(Map args = [:]) {
    Map settings = ciTagsSettings(args)
    ciTagsEnv(settings) {
        withEnv(["CI_TAGS_PUBLISH_ARGS=${settings.publishArgs}", "CI_TAGS_REPORT=${ciTagsEnv.reportFile('publish')}"]) {
            withJenkinsToken(settings.jenkinsCredentialsId) {
                sh '''
                    rm -f "$CI_TAGS_REPORT"
                    ci-tags publish --config "$CI_TAGS_CONFIG" $CI_TAGS_PUBLISH_ARGS
                '''
            }
        }
    }
}

/** CI_TAGS_JENKINS_USER/_TOKEN from the credentials {@code id}, if given. */
void withJenkinsToken(String id, Closure body) {
    if (!id) {
        body()
        return
    }
    withCredentials([usernamePassword(credentialsId: id, usernameVariable: 'CI_TAGS_JENKINS_USER',
                                      passwordVariable: 'CI_TAGS_JENKINS_TOKEN')]) {
        body()
    }
}
