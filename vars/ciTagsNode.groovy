// An agent with the given label expression, the build's commit checked out on it, and the GIT_* variables that
// declarative stages get: ci-tags stamps GIT_COMMIT and GIT_URL into pipeline tags and falls back to GIT_BRANCH
// where BRANCH_NAME is missing, so every agent must see the same ones.

/** {@code label}: a label expression; empty means any agent. */
void call(String label, Closure body) {
    node(label) {
        // Multibranch `scm` is pinned to the build's revision: every agent gets the same commit.
        Map scmVars = checkout(scm)
        List gitEnv = []
        for (String name in ['GIT_COMMIT', 'GIT_BRANCH', 'GIT_URL']) {
            if (scmVars[name]) {
                gitEnv << "${name}=${scmVars[name]}"
            }
        }
        withEnv(gitEnv) {
            body()
        }
    }
}
