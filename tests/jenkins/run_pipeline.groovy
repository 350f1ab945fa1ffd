// A stand-in for the Jenkins steps that ci-tags' shared library (vars/) calls, to run the library for real without
// a Jenkins server: `groovy run_pipeline.groovy JOB.json` runs the job's pipeline script with the library's global
// variables loaded and writes a report (result, log, stages, nodes, every sh) to the job's "report" path.
//
// What it reproduces, from the steps' documentation: `sh` runs the script in a real /bin/sh -xe (as Jenkins does)
// in the workspace with the build's environment, and fails on a non-zero exit ("script returned exit code N")
// unless returnStatus/returnStdout; `parallel` runs its branches concurrently on threads, waits for all and fails
// with a failed branch's error; `node` takes a label expression (&&, ||, !, parentheses), picks an agent whose
// labels match and that has a free executor, gives it a workspace of its own (@2 when one is busy) and sets
// WORKSPACE, WORKSPACE_TMP, NODE_NAME, NODE_LABELS; `checkout` checks the job's commit out with git;
// `withEnv` (PATH+X prepends), `withCredentials`/`usernamePassword` (masked in the log), `dir`, `readFile`,
// `readJSON` (returnPojo: true), `stage`, `catchError` (buildResult, stageResult, message), `unstable`, `error`,
// `echo`, `env` (per block, `env.X =` for the whole build) and `currentBuild` (result, currentResult; results only
// get worse). A step or a property it does not provide FAILS the run (exit code 3), even when the library catches
// the error, so a missing step cannot silently skip work; so does a step called from a @NonCPS method (or a closure
// in one), which cannot work under Jenkins' CPS.
//
// What it does not reproduce: the rest of CPS (no continuation-passing transformation, no serialisation of the
// program's state at each step, no resumption after a restart: a non-serialisable local kept across a step, or a
// CPS method called from a @NonCPS one, is not caught here); the script security sandbox and its approvals; agents
// on other machines (every agent is a folder on this machine, with this machine's architecture); queueing,
// timeouts and failFast interruption; the declarative `pipeline {}` syntax.

import groovy.json.JsonOutput
import groovy.json.JsonSlurper
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.atomic.AtomicInteger
import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.control.customizers.ImportCustomizer

/** The error the `error` step and a failing `sh` raise: Jenkins logs its message alone, without a stack trace. */
class AbortException extends RuntimeException {
    AbortException(String message) { super(message) }
}

/** The harness itself refuses: a step it does not provide, an agent no label matches. Never swallowed. */
class HarnessError extends Error {
    HarnessError(String message) { super(message) }
}

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

/** Jenkins' `env`: the build's variables and those of the enclosing blocks; `env.X = v` sets one for the build. */
class EnvProxy extends GroovyObjectSupport {
    Harness harness

    Object getProperty(String name) { return harness.environment(harness.context()).get(name) }

    void setProperty(String name, Object value) { harness.buildEnv.put(name, value == null ? null : value.toString()) }

    Object getAt(String name) { return getProperty(name) }

    void putAt(String name, Object value) { setProperty(name, value) }

    Object invokeMethod(String name, Object args) {
        if (name == 'getEnvironment') { return harness.environment(harness.context()) }
        throw harness.missing("env.${name}()")
    }
}

/** Jenkins' `currentBuild` (RunWrapper): only what the harness can stand behind. */
class CurrentBuild extends GroovyObjectSupport {
    Harness harness

    Object getProperty(String name) {
        switch (name) {
            case 'result': return harness.result
            case 'currentResult': return harness.result ?: 'SUCCESS'
            case 'number': return harness.job.number as int
            case 'displayName': return "#${harness.job.number}".toString()
            default: throw harness.missing("currentBuild.${name}")
        }
    }

    void setProperty(String name, Object value) {
        if (name != 'result') { throw harness.missing("currentBuild.${name} =") }
        harness.worsen(Results.check(value))
    }

    Object invokeMethod(String name, Object args) {
        Object[] a = args as Object[]
        String current = harness.result ?: 'SUCCESS'
        switch (name) {
            case 'resultIsBetterOrEqualTo':
                return Results.ORDER.indexOf(current) <= Results.ORDER.indexOf(Results.check(a[0]))
            case 'resultIsWorseOrEqualTo':
                return Results.ORDER.indexOf(current) >= Results.ORDER.indexOf(Results.check(a[0]))
            default: throw harness.missing("currentBuild.${name}()")
        }
    }
}

/** The base class of the pipeline script and of every vars/ script: the steps the harness provides. */
abstract class PipelineScript extends Script {
    static Harness harness

    Object methodMissing(String name, Object args) {
        Object library = harness.globalVariable(name)
        if (library != null) {
            return library.invokeMethod('call', args)
        }
        throw harness.missing(name)
    }

    Object propertyMissing(String name) {
        Object library = harness.globalVariable(name)
        if (library != null) { return library }
        throw harness.missing(name)
    }

    Object getEnv() { return harness.envProxy }
    Object getCurrentBuild() { return harness.currentBuild }
    Object getScm() { return harness.job.scm }

    void echo(Object message) {
        harness.step('echo')
        harness.log(message.toString())
    }

    void error(String message) {
        harness.step('error')
        throw new AbortException(message)
    }

    void unstable(Object message) {
        harness.step('unstable')
        String text = message instanceof Map ? message.message : message
        harness.log("WARNING: ${text}")
        harness.worsen('UNSTABLE')
        harness.stageResult('UNSTABLE')
    }

    Object sh(String script) { return sh(script: script) }

    Object sh(Map args) {
        harness.step('sh')
        return harness.sh(args)
    }

    Object stage(String name, Closure body) {
        harness.step('stage')
        return harness.stage(name, body)
    }

    Object parallel(Map branches) {
        harness.step('parallel')
        return harness.parallel(branches)
    }

    Object node(Closure body) { return node('', body) }

    Object node(String label, Closure body) {
        harness.step('node')
        return harness.node(label, body)
    }

    Map checkout(Object scm) {
        harness.step('checkout')
        return harness.checkout(scm)
    }

    Object dir(String path, Closure body) {
        harness.step('dir')
        return harness.dir(path, body)
    }

    String readFile(String file) { return readFile(file: file) }

    String readFile(Map args) {
        harness.step('readFile')
        return harness.file(args.file as String).getText((args.encoding ?: 'UTF-8') as String)
    }

    Object readJSON(Map args) {
        harness.step('readJSON')
        return harness.readJSON(args)
    }

    Object withEnv(List vars, Closure body) {
        harness.step('withEnv')
        return harness.withEnv(vars, body)
    }

    Object withCredentials(List bindings, Closure body) {
        harness.step('withCredentials')
        return harness.withCredentials(bindings, body)
    }

    Map usernamePassword(Map args) {
        for (String key in ['credentialsId', 'usernameVariable', 'passwordVariable']) {
            if (!args[key]) { throw new AbortException("usernamePassword: ${key} is required") }
        }
        return [binding: 'usernamePassword'] + args
    }

    Object catchError(Closure body) { return catchError([:], body) }

    Object catchError(Map args, Closure body) {
        harness.step('catchError')
        return harness.catchError(args, body)
    }
}

class Harness {
    Map job
    File libraryRoot
    final EnvProxy envProxy = new EnvProxy(harness: this)
    final CurrentBuild currentBuild = new CurrentBuild(harness: this)
    final Map<String, String> buildEnv = new ConcurrentHashMap<String, String>()
    volatile String result = null
    final List<Agent> agents = []
    final Object agentLock = new Object()
    final InheritableThreadLocal<Context> contexts = new InheritableThreadLocal<Context>() {
        protected Context initialValue() { return new Context() }
    }
    final List<String> logLines = new CopyOnWriteArrayList<String>()
    final List<Map> stages = new CopyOnWriteArrayList<Map>()
    final List<Map> nodes = new CopyOnWriteArrayList<Map>()
    final List<Map> shells = new CopyOnWriteArrayList<Map>()
    final List<Map> checkouts = new CopyOnWriteArrayList<Map>()
    final List<String> harnessErrors = new CopyOnWriteArrayList<String>()
    final Map<String, Object> globals = new ConcurrentHashMap<String, Object>()
    final AtomicInteger scripts = new AtomicInteger()
    GroovyClassLoader loader
    Class pipelineClass = null
    Class nonCps
    final Map<Class, Set<String>> nonCpsByClass = new ConcurrentHashMap<Class, Set<String>>()

    Harness(Map job) {
        this.job = job
        libraryRoot = new File(job.library as String)
        for (Map a in (job.agents as List<Map>)) {
            agents << new Agent(name: a.name, labels: a.labels ?: [], executors: (a.executors ?: 1) as int,
                                root: new File(a.root as String), env: (a.env ?: [:]) as Map<String, String>)
        }
        CompilerConfiguration config = new CompilerConfiguration()
        config.scriptBaseClass = PipelineScript.name
        // What Jenkins imports into pipeline scripts by default.
        config.addCompilationCustomizers(new ImportCustomizer().addImports('com.cloudbees.groovy.cps.NonCPS'))
        loader = new GroovyClassLoader(getClass().classLoader, config)
        // Jenkins' @NonCPS marks a method to run without the CPS transformation; here every method runs so.
        nonCps = loader.parseClass('package com.cloudbees.groovy.cps\nimport java.lang.annotation.*\n' +
                                   '@Retention(RetentionPolicy.RUNTIME) @interface NonCPS {}\n', 'NonCPS.groovy')
        File src = new File(libraryRoot, 'src')
        if (src.isDirectory()) { loader.addClasspath(src.path) }
    }

    Context context() { return contexts.get() }

    Object within(Context c, Closure body) {
        Context before = contexts.get()
        contexts.set(c)
        try {
            return body()
        } finally {
            contexts.set(before)
        }
    }

    /**
     * A step is about to run: refuse it when a @NonCPS method (or a closure inside one) of the pipeline script or
     * the library is on the stack. Jenkins runs such methods outside CPS, where a step cannot run properly.
     */
    void step(String name) {
        for (StackTraceElement frame in Thread.currentThread().stackTrace) {
            String method = nonCpsMethod(frame)
            if (method != null) {
                throw missing("the step ${name} inside the @NonCPS method ${method}: Jenkins cannot run a step there")
            }
        }
    }

    /** "script.method" when this frame runs a @NonCPS method of a pipeline or library script, else null. */
    String nonCpsMethod(StackTraceElement frame) {
        String[] parts = frame.className.split('\\$', 2)
        Class script = parts[0] == 'Jenkinsfile' ? pipelineClass : globals.get(parts[0])?.getClass()
        if (script == null) { return null }
        String method = frame.methodName
        if (parts.length > 1) {
            java.util.regex.Matcher inClosure = parts[1] =~ /^_(.+?)_closure\d+/
            if (!inClosure.find()) { return null }
            method = inClosure.group(1)
        }
        return method in nonCpsMethods(script) ? "${parts[0]}.${method}".toString() : null
    }

    /** The names of a script's @NonCPS methods, looked up once per class (steps on many threads ask). */
    Set<String> nonCpsMethods(Class script) {
        Set<String> names = nonCpsByClass.get(script)
        if (names == null) {
            names = script.declaredMethods.findAll { java.lang.reflect.Method m -> m.isAnnotationPresent(nonCps) }
                .collect { java.lang.reflect.Method m -> m.name } as Set<String>
            nonCpsByClass.put(script, names)
        }
        return names
    }

    HarnessError missing(String what) {
        String message = "the harness does not provide ${what}"
        harnessErrors << message
        log("HARNESS: ${message}")
        return new HarnessError(message)
    }

    void worsen(String r) { synchronized (this) { result = Results.worse(result, r) } }

    void stageResult(String r) {
        Context c = context()
        for (Map s in stages.reverse()) {
            if (s.path == c.stages && s.branch == c.branch) {
                s.result = Results.worse(s.result as String, r)
                return
            }
        }
    }

    String mask(String text) {
        String masked = text
        for (String secret in context().secrets) {
            if (secret) { masked = masked.replace(secret, '****') }
        }
        return masked
    }

    void log(String message) {
        String prefix = context().branch ? "[${context().branch}] " : ''
        mask(message).readLines().each { String line ->
            String full = prefix + line
            logLines << full
            println(full)
        }
    }

    /** The library's global variable {@code name} (vars/NAME.groovy), one instance per build, or null. */
    Object globalVariable(String name) {
        File source = new File(libraryRoot, "vars/${name}.groovy")
        if (!source.isFile()) { return null }
        synchronized (globals) {
            if (!globals.containsKey(name)) {
                Class cls = loader.parseClass(source)
                Script instance = (Script) cls.newInstance()
                instance.binding = new Binding()
                globals.put(name, instance)
            }
            return globals.get(name)
        }
    }

    // -- the environment -------------------------------------------------------------------------------------

    Map<String, String> buildVariables() {
        Map j = job
        String branch = j.branch
        return [
            JENKINS_URL: j.url, JOB_NAME: j.name, JOB_BASE_NAME: branch, BRANCH_NAME: branch,
            BUILD_NUMBER: j.number.toString(), BUILD_ID: j.number.toString(),
            BUILD_DISPLAY_NAME: "#${j.number}".toString(),
            BUILD_TAG: "jenkins-${j.name.toString().replace('/', '-')}-${j.number}".toString(),
            BUILD_URL: "${j.url}job/${j.name}/${j.number}/".toString(),
        ] as Map<String, String>
    }

    /** The variables a step sees here: agent, build, `env.X =`, node, then each enclosing block, inner last. */
    Map<String, String> environment(Context c) {
        Map<String, String> vars = new LinkedHashMap<String, String>()
        vars.putAll(job.env as Map<String, String> ?: [:])
        if (c.agent) { vars.putAll(c.agent.env) }
        vars.putAll(buildVariables())
        buildEnv.each { String k, String v -> if (v == null) { vars.remove(k) } else { vars.put(k, v) } }
        for (List<String> frame in c.envFrames) {
            for (String entry in frame) {
                int cut = entry.indexOf('=')
                if (cut < 1) { throw new AbortException("withEnv: '${entry}' is not NAME=VALUE") }
                String name = entry.substring(0, cut)
                String value = entry.substring(cut + 1)
                int plus = name.indexOf('+')
                if (plus > 0) {
                    String base = name.substring(0, plus)
                    vars.put(base, vars.containsKey(base) ? "${value}:${vars[base]}".toString() : value)
                } else {
                    vars.put(name, value)
                }
            }
        }
        return vars
    }

    Object withEnv(List vars, Closure body) {
        Context c = context()
        List<String> frame = vars.collect { Object v -> v.toString() }
        return within(c.copy(envFrames: c.envFrames + [frame]), body)
    }

    Object withCredentials(List bindings, Closure body) {
        Context c = context()
        List<String> frame = []
        List<String> secrets = []
        Map store = (job.credentials ?: [:]) as Map
        for (Object b in bindings) {
            if (!(b instanceof Map) || b.binding != 'usernamePassword') {
                throw missing("withCredentials binding ${b}")
            }
            Map entry = store[b.credentialsId] as Map
            if (entry == null) {
                throw new AbortException("Could not find credentials entry with ID '${b.credentialsId}'")
            }
            frame << "${b.usernameVariable}=${entry.username}".toString()
            frame << "${b.passwordVariable}=${entry.password}".toString()
            secrets << (entry.password as String)
        }
        return within(c.copy(envFrames: c.envFrames + [frame], secrets: c.secrets + secrets), body)
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
        Map vars = [GIT_COMMIT: git(['rev-parse', 'HEAD']), GIT_BRANCH: scm.branch, GIT_URL: scm.url]
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
                      checkouts: checkouts, harnessErrors: harnessErrors]
        new File(job.report as String).text = JsonOutput.toJson(report)
        return harnessErrors ? 3 : 0
    }
}

/** A Jenkins label expression: names, !, &&, ||, parentheses. */
interface Expression {
    boolean matches(Set<String> labels)
}

class LabelParser {
    List<String> tokens
    int at = 0

    static Expression parse(String text) {
        LabelParser p = new LabelParser(tokens: (text =~ /&&|\|\||[!()]|"[^"]*"|[^\s&|!()]+/).collect { it as String })
        if (!p.tokens) { return { Set<String> labels -> true } as Expression }
        Expression e = p.or()
        if (p.at != p.tokens.size()) { throw new AbortException("bad label expression: ${text}") }
        return e
    }

    String peek() { return at < tokens.size() ? tokens[at] : null }

    Expression or() {
        Expression left = and()
        while (peek() == '||') {
            at++
            Expression a = left, b = and()
            left = { Set<String> l -> a.matches(l) || b.matches(l) } as Expression
        }
        return left
    }

    Expression and() {
        Expression left = not()
        while (peek() == '&&') {
            at++
            Expression a = left, b = not()
            left = { Set<String> l -> a.matches(l) && b.matches(l) } as Expression
        }
        return left
    }

    Expression not() {
        if (peek() == '!') {
            at++
            Expression e = not()
            return { Set<String> l -> !e.matches(l) } as Expression
        }
        if (peek() == '(') {
            at++
            Expression e = or()
            if (peek() != ')') { throw new AbortException('bad label expression: missing )') }
            at++
            return e
        }
        String name = tokens[at++]
        if (name == null || name in ['&&', '||', ')']) { throw new AbortException('bad label expression') }
        String label = name.startsWith('"') ? name[1..-2] : name
        return { Set<String> l -> l.contains(label) } as Expression
    }
}

if (args.length != 1) {
    System.err.println('usage: groovy run_pipeline.groovy JOB.json')
    System.exit(2)
}
Map job = new JsonSlurper().parse(new File(args[0])) as Map
System.exit(new Harness(job).run())
