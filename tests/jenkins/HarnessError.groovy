// Part of the Jenkins harness: see run_pipeline.groovy.

/** The harness itself refuses: a step it does not provide, an agent no label matches. Never swallowed. */
class HarnessError extends Error {
    HarnessError(String message) { super(message) }
}
