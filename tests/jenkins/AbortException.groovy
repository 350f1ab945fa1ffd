// Part of the Jenkins harness: see run_pipeline.groovy.

/** The error the `error` step and a failing `sh` raise: Jenkins logs its message alone, without a stack trace. */
class AbortException extends RuntimeException {
    AbortException(String message) { super(message) }
}
