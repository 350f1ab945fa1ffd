// Runs its body with ci-tags ready on this agent: installed (install: 'pip') into a venv beside the workspace, not
// in the checkout, which may be an image's build context; the settings every command reads as variables; and the
// registry credentials bound. Values reach the shell as environment variables, never spliced into a script.

/** {@code settings}: from ciTagsSettings. Call inside a node, in the checkout. */
void call(Map settings, Closure body) {
    String venv = "${env.WORKSPACE_TMP ?: env.WORKSPACE + '@tmp'}/ci-tags-venv"
    List vars = [
        "CI_TAGS_CONFIG=${settings.config}",
        "CI_TAGS_DEFAULT_BRANCH=${settings.defaultBranch}",
        "CI_TAGS_INSTALL=${settings.install}",
        "CI_TAGS_PIP_SPEC=${settings.pipSpec}",
        "CI_TAGS_VENV=${venv}",
    ]
    if (settings.install == 'pip') {
        vars << "PATH+CI_TAGS=${venv}/bin"
    }
    if (settings.registryImage) {
        vars << "CI_REGISTRY_IMAGE=${settings.registryImage}"
    }
    if (settings.branch) {  // a plain Pipeline job's branch, given: ci-tags reads it as a multibranch build's
        vars << "BRANCH_NAME=${settings.branch}"
    }
    withEnv(vars) {
        // A pinned release installed once stays; anything else (a path, a git URL) may change: installed anew.
        sh '''
            if [ "$CI_TAGS_INSTALL" = pip ]; then
                case "$CI_TAGS_PIP_SPEC" in
                    *==*) installed="$(cat "$CI_TAGS_VENV/.ci-tags-spec" 2>/dev/null || true)" ;;
                    *) installed= ;;
                esac
                if [ "$installed" != "$CI_TAGS_PIP_SPEC" ]; then
                    rm -rf "$CI_TAGS_VENV"
                    python3 -m venv "$CI_TAGS_VENV"
                    "$CI_TAGS_VENV/bin/pip" install --quiet --disable-pip-version-check "$CI_TAGS_PIP_SPEC"
                    printf '%s\\n' "$CI_TAGS_PIP_SPEC" > "$CI_TAGS_VENV/.ci-tags-spec"
                fi
            fi
            ci-tags --version
        '''
        withRegistryCredentials(settings.credentialsId, body)
    }
}

/** CI_TAGS_REGISTRY_USER/_PASSWORD from the credentials {@code id}, which ci-tags reads and hands its builder. */
void withRegistryCredentials(String id, Closure body) {
    if (!id) {
        body()
        return
    }
    withCredentials([usernamePassword(credentialsId: id, usernameVariable: 'CI_TAGS_REGISTRY_USER',
                                      passwordVariable: 'CI_TAGS_REGISTRY_PASSWORD')]) {
        body()
    }
}

/**
 * The file where ci-tags writes {@code step}'s section of the per-pipeline report (plan, janitor, publish set it as
 * CI_TAGS_REPORT: a Markdown summary of what they did), beside the workspace on this agent. Call inside a node.
 */
String reportFile(String step) {
    return "${env.WORKSPACE_TMP ?: env.WORKSPACE + '@tmp'}/ci-tags-report-${step}.md"
}

/** What the last run of {@code step} on this agent wrote in its report, '' when nothing. Call inside a node. */
String readReport(String step) {
    String text = ''
    withEnv(["CI_TAGS_REPORT=${reportFile(step)}"]) {
        text = sh(script: 'cat "$CI_TAGS_REPORT" 2>/dev/null || true', returnStdout: true)
    }
    return text
}
