// `ci-tags plan`: every image gets this build's pipeline tag, by a metadata-only copy where its content tag exists;
// returns the builds still needed, in waves (what `--jenkins-matrix` writes), and sets CI_TAGS_IMAGE_<NAME> =
// <repository>:<pipeline tag> in env for later stages. Call inside ciTagsNode.

/** The plan: {@code waves} (each {@code builds}: image, arch, label; {@code manifests}), {@code images}. */
Map call(Map args = [:]) {
    Map settings = ciTagsSettings(args)
    // Beside the workspace, not in the checkout: a file there could land in a build context and change a hash.
    String out = "${env.WORKSPACE_TMP ?: env.WORKSPACE + '@tmp'}/ci-tags-plan"
    Map plan = [:]
    String dotenv = ''
    ciTagsEnv(settings) {
        withEnv(["CI_TAGS_PLAN_OUT=${out}", "CI_TAGS_REPORT=${ciTagsEnv.reportFile('plan')}"]) {
            sh '''
                mkdir -p "$CI_TAGS_PLAN_OUT"
                rm -f "$CI_TAGS_REPORT"
                ci-tags plan --config "$CI_TAGS_CONFIG" --jenkins-matrix "$CI_TAGS_PLAN_OUT/matrix.json" \\
                    --dotenv "$CI_TAGS_PLAN_OUT/ci-tags.env"
            '''
        }
    }
    dir(out) {
        plan = readJSON(file: 'matrix.json', returnPojo: true)
        dotenv = readFile('ci-tags.env')
    }
    exportReferences(dotenv)
    return plan
}

/**
 * env.CI_TAGS_IMAGE_<NAME> from ci-tags.env's NAME=VALUE lines (references only, which need no quoting). No step
 * runs here, so the map iteration needs no CPS serialisation.
 */
@NonCPS
void exportReferences(String dotenv) {
    dotenv.readLines().findAll { String line -> line.contains('=') }.each { String line ->
        int cut = line.indexOf('=')
        env[line.substring(0, cut)] = line.substring(cut + 1)
    }
}
