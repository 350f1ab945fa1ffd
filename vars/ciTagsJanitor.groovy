// `ci-tags janitor`: removes the image set's expired pipeline and content tags, never one it should keep (the
// current content tags of this checkout among them). Call inside ciTagsNode.

void call(Map args = [:]) {
    Map settings = ciTagsSettings(args)
    ciTagsEnv(settings) {
        withEnv(["CI_TAGS_MAX_AGE=${settings.maxAge}", "CI_TAGS_JANITOR_ARGS=${settings.janitorArgs}",
                 "CI_TAGS_REPORT=${ciTagsEnv.reportFile('janitor')}"]) {
            sh '''
                rm -f "$CI_TAGS_REPORT"
                ci-tags janitor --config "$CI_TAGS_CONFIG" --max-age "$CI_TAGS_MAX_AGE" $CI_TAGS_JANITOR_ARGS
            '''
        }
    }
}
