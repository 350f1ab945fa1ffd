// Part of the Jenkins harness: see run_pipeline.groovy.

/** The build results, best first; a result only ever gets worse. */
class Results {
    static final List ORDER = ['SUCCESS', 'UNSTABLE', 'FAILURE', 'NOT_BUILT', 'ABORTED']

    static String worse(String a, String b) {
        if (a == null) { return b }
        if (b == null) { return a }
        return ORDER.indexOf(b) > ORDER.indexOf(a) ? b : a
    }

    static String check(Object result) {
        if (!(result in ORDER)) { throw new AbortException("unknown build result: ${result}") }
        return result as String
    }
}
