// Part of the Jenkins harness: see run_pipeline.groovy.

/** An agent: a name, labels, executors, and a folder on this machine as its file system. */
class Agent {
    String name
    List<String> labels
    int executors
    File root
    Map<String, String> env
    final Set<String> busyWorkspaces = new HashSet<String>()
    int running = 0

    Set<String> allLabels() { return (labels + [name]) as Set<String> }
}
