// Part of the Jenkins harness: see run_pipeline.groovy.

/** What a block of the pipeline runs in: inherited by nested blocks and parallel branches, never shared back. */
class Context {
    String branch = null          // the parallel branch, for the log prefix
    List<String> stages = []
    Agent agent = null
    File workspace = null
    File cwd = null
    List<List<String>> envFrames = []   // withEnv/withCredentials/node frames, outermost first
    List<String> secrets = []

    Context copy(Map changes) {
        Context c = new Context(branch: branch, stages: stages, agent: agent, workspace: workspace, cwd: cwd,
                                envFrames: envFrames, secrets: secrets)
        changes.each { String k, Object v -> c.setProperty(k, v) }
        return c
    }
}
