// Part of the Jenkins harness: see run_pipeline.groovy.

import groovy.json.JsonOutput
import groovy.json.JsonSlurper
import java.util.concurrent.ConcurrentHashMap

/** The harness: the steps' implementations and the run; its state is HarnessCore's. */
class Harness extends HarnessCore {
    Harness(Map job) {
        super(job)
    }

    // -- the steps ---------------------------------------------------------------------------------------------

    File file(String path) {
        Context c = context()
        if (c.cwd == null) { throw new AbortException(noNode('readFile')) }
        File f = new File(path)
        return f.absolute ? f : new File(c.cwd, path)
    }

    static String noNode(String step) {
        return "Required context class hudson.FilePath is missing (${step}). Perhaps you forgot to surround the " +
               'code with a step that provides this, such as: node'
    }

    Object sh(Map args) {
        Context c = context()
        if (c.cwd == null) { throw new AbortException(noNode('sh')) }
        String script = args.script
        if (script == null) { throw new AbortException('sh: script is required') }
        boolean returnStdout = args.returnStdout as boolean
        boolean returnStatus = args.returnStatus as boolean
        File tmp = new File(c.workspace.path + '@tmp', "durable-${scripts.incrementAndGet()}")
        tmp.mkdirs()
        File file = new File(tmp, 'script.sh')
        file.text = script
        List<String> command = script.startsWith('#!') ? [file.path] : ['/bin/sh', '-xe', file.path]
        file.setExecutable(true)
        Map<String, String> vars = environment(c)
        ProcessBuilder pb = new ProcessBuilder(command).directory(c.cwd)
        pb.environment().clear()
        pb.environment().putAll(vars)
        pb.redirectErrorStream(!returnStdout)
        long started = System.nanoTime()
        Process process = pb.start()
        process.outputStream.close()
        StringBuilder stdout = new StringBuilder()
        Thread errors = null
        if (returnStdout) {
            Context here = c
            errors = Thread.start { within(here) { process.errorStream.eachLine { String l -> log(l) } } }
            stdout.append(process.inputStream.getText('UTF-8'))
        } else {
            process.inputStream.eachLine('UTF-8') { String l -> log(l) }
        }
        int code = process.waitFor()
        errors?.join()
        shells << [script: script, agent: c.agent.name, workspace: c.workspace.path, cwd: c.cwd.path,
                   branch: c.branch, stages: c.stages, exit: code, seconds: (System.nanoTime() - started) / 1e9,
                   env: vars.findAll { String k, String v -> k.startsWith('CI_TAGS_') || k.startsWith('GIT_') ||
                                                             k == 'CI_REGISTRY_IMAGE' }
                            .collectEntries { String k, String v -> [(k): mask(v)] }]
        if (code != 0 && !returnStatus) {
            throw new AbortException("script returned exit code ${code}")
        }
        if (returnStatus) { return code }
        return returnStdout ? stdout.toString() : null
    }

    Object stage(String name, Closure body) {
        Context c = context()
        List<String> path = c.stages + [name]
        Map record = [name: name, path: path, branch: c.branch, result: 'SUCCESS']
        stages << record
        log("[Pipeline] stage (${name})")
        try {
            return within(c.copy(stages: path), body)
        } catch (Throwable t) {
            record.result = 'FAILURE'
            throw t
        }
    }

    Object parallel(Map branches) {
        Context c = context()
        boolean failFast = branches.failFast as boolean
        Map<String, Closure> work = branches.findAll { Object k, Object v -> k != 'failFast' } as Map<String, Closure>
        Map<String, Throwable> failures = new ConcurrentHashMap<String, Throwable>()
        List<Thread> threads = []
        work.each { String name, Closure body ->
            if (!(body instanceof Closure)) { throw new AbortException("parallel: branch ${name} is not a closure") }
            Context branchContext = c.copy(branch: name)
            Thread t = new Thread({
                within(branchContext) {
                    try {
                        body()
                    } catch (Throwable e) {
                        failures.put(name, e)
                        log(e instanceof AbortException ? "ERROR: ${e.message}" : "ERROR: ${e}")
                    }
                }
            } as Runnable, "branch ${name}")
            threads << t
        }
        threads*.start()
        threads*.join()
        if (failFast && failures && failures.size() < work.size()) {
            log('failFast: the other branches ran to their end (the harness does not interrupt them)')
        }
        if (failures) {
            String first = work.keySet().find { String n -> failures.containsKey(n) }
            log("Failed in branch ${first}")
            Throwable error = failures[first]
            throw failures.values().find { Throwable e -> e instanceof HarnessError } ?: error
        }
        return null
    }

    Object node(String label, Closure body) {
        Context c = context()
        Expression expression = LabelParser.parse(label ?: '')
        List<Agent> matching = agents.findAll { Agent a -> expression.matches(a.allLabels()) }
        if (!matching) {
            throw missing("an agent with labels matching '${label}' (agents: " +
                          agents.collect { Agent a -> "${a.name} ${a.labels}" }.join(', ') + ')')
        }
        Agent agent = null
        File workspace = null
        synchronized (agentLock) {
            while (agent == null) {
                agent = matching.find { Agent a -> a.running < a.executors }
                if (agent == null) { agentLock.wait() }
            }
            agent.running++
            String base = new File(agent.root, "workspace/${job.name.toString().replace('/', '_')}").path
            String path = base
            for (int i = 2; agent.busyWorkspaces.contains(path); i++) { path = "${base}@${i}".toString() }
            agent.busyWorkspaces << path
            workspace = new File(path)
        }
        workspace.mkdirs()
        nodes << [label: label ?: '', agent: agent.name, workspace: workspace.path, branch: c.branch,
                  stages: c.stages]
        log("Running on ${agent.name} in ${workspace}")
        List<String> frame = ["WORKSPACE=${workspace}", "WORKSPACE_TMP=${workspace}@tmp", "NODE_NAME=${agent.name}",
                              "NODE_LABELS=${agent.allLabels().sort().join(' ')}", "EXECUTOR_NUMBER=0"]*.toString()
        try {
            return within(c.copy(agent: agent, workspace: workspace, cwd: workspace, envFrames: c.envFrames + [frame]),
                          body)
        } finally {
            synchronized (agentLock) {
                agent.running--
                agent.busyWorkspaces.remove(workspace.path)
                agentLock.notifyAll()
            }
        }
    }

    /** The job's commit into this workspace with git (the Git plugin does it in Java, not in an `sh`). */
    Map checkout(Object scm) {
        Context c = context()
        if (c.cwd == null) { throw new AbortException(noNode('checkout')) }
        if (!(scm instanceof Map) || scm.url == null || scm.commit == null) {
            throw missing("checkout of ${scm} (only the job's own scm)")
        }
        File ws = c.cwd
        Closure git = { List<String> args ->
            Process p = (['git', '-C', ws.path] + args).execute(null, ws)
            String out = p.inputStream.text + p.errorStream.text
            if (p.waitFor() != 0) { throw new AbortException("git ${args.join(' ')} failed: ${out}") }
            return out.trim()
        }
        if (!new File(ws, '.git').exists()) { git(['init', '-q']) }
        git(['fetch', '-q', '--force', scm.url as String, '+refs/heads/*:refs/remotes/origin/*'])
        git(['checkout', '-q', '-f', scm.commit as String])
        // the Git plugin's GIT_BRANCH: the branch of a multibranch build; in a plain job, the remote branch it
        // fetched (origin/main); none for a detached commit
        Map vars = [GIT_COMMIT: git(['rev-parse', 'HEAD']), GIT_URL: scm.url]
        String gitBranch = scm.containsKey('gitBranch') ? scm.gitBranch : scm.branch
        if (gitBranch) { vars.GIT_BRANCH = gitBranch }
        checkouts << [agent: c.agent.name, workspace: ws.path, commit: vars.GIT_COMMIT]
        log("Checking out Revision ${vars.GIT_COMMIT} (${scm.branch})")
        return vars
    }

    Object dir(String path, Closure body) {
        Context c = context()
        File target = file(path)
        target.mkdirs()
        return within(c.copy(cwd: target), body)
    }

    Object readJSON(Map args) {
        if (args.returnPojo != true) {
            throw missing('readJSON without returnPojo: true (net.sf.json objects)')
        }
        String text = args.text != null ? args.text : file(args.file as String).getText('UTF-8')
        return pojo(new JsonSlurper().parseText(text))
    }

    static Object pojo(Object value) {
        if (value instanceof Map) {
            Map copy = new LinkedHashMap()
            value.each { Object k, Object v -> copy.put(k, pojo(v)) }
            return copy
        }
        if (value instanceof List) { return new ArrayList(value.collect { Object v -> pojo(v) }) }
        return value
    }

    Object catchError(Map args, Closure body) {
        String forBuild = Results.check(args.buildResult ?: 'FAILURE')
        String forStage = Results.check(args.stageResult ?: 'SUCCESS')
        try {
            return body()
        } catch (HarnessError e) {
            throw e
        } catch (Throwable e) {
            log(args.message ? args.message as String : (e instanceof AbortException ? "ERROR: ${e.message}" : "${e}"))
            worsen(forBuild)
            stageResult(forStage)
            return null
        }
    }

    // -- the run -----------------------------------------------------------------------------------------------

    /** `@Library('ci-tags@VERSION') _` loads this library; any other is an error, as on a Jenkins without it. */
    String loadLibraries(String script) {
        return script.replaceAll(/(?m)^\s*@Library\(\s*'([^'@]+)(?:@([^']*))?'\s*\)\s*_\s*$/) { List<String> m ->
            if (m[1] != 'ci-tags') {
                throw new HarnessError("No library named ${m[1]} found")
            }
            log("Loading library ci-tags@${m[2] ?: '(default)'}")
            return ''
        }
    }

    int run() {
        PipelineScript.harness = this
        String text = job.script
        try {
            text = loadLibraries(text)
            // As Jenkins loads a library whole when the build starts: every global variable compiled and ready
            // before any branch runs, so parallel branches never race to compile one.
            new File(libraryRoot, 'vars').eachFileMatch(~/.*\.groovy/) { File f ->
                globalVariable(f.name - '.groovy').metaClass.respondsTo(null, 'call')
            }
            pipelineClass = loader.parseClass(text, 'Jenkinsfile')
            Script script = (Script) pipelineClass.newInstance()
            script.binding = new Binding()
            script.run()
        } catch (HarnessError e) {
            if (!harnessErrors.contains(e.message)) { harnessErrors << e.message }
            worsen('FAILURE')
        } catch (AbortException e) {
            log("ERROR: ${e.message}")
            worsen('FAILURE')
        } catch (Throwable e) {
            StringWriter trace = new StringWriter()
            e.printStackTrace(new PrintWriter(trace))
            log(trace.toString())
            worsen('FAILURE')
        }
        result = result ?: 'SUCCESS'
        log("Finished: ${result}")
        Map report = [result: result, log: logLines, stages: stages, nodes: nodes, shells: shells,
                      checkouts: checkouts, harnessErrors: harnessErrors, description: description,
                      triggers: triggers, params: params]
        new File(job.report as String).text = JsonOutput.toJson(report)
        return harnessErrors ? 3 : 0
    }
}
