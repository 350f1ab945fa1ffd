// Part of the Jenkins harness: see run_pipeline.groovy.

import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.atomic.AtomicInteger
import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.control.customizers.ImportCustomizer

/** The harness' state: the job, agents, contexts, environment, log, records, the library's variables. */
class HarnessCore {
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
    final Map<String, Object> params = new ConcurrentHashMap<String, Object>()  // the build's parameters
    final List<String> triggers = new CopyOnWriteArrayList<String>()  // a declarative pipeline's, recorded
    volatile String description = null  // currentBuild.description
    final Map<String, Object> globals = new ConcurrentHashMap<String, Object>()
    final AtomicInteger scripts = new AtomicInteger()
    GroovyClassLoader loader
    Class pipelineClass = null
    Class nonCps
    final Map<Class, Set<String>> nonCpsByClass = new ConcurrentHashMap<Class, Set<String>>()

    HarnessCore(Map job) {
        this.job = job
        params.putAll((job.params ?: [:]) as Map<String, Object>)
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

    /**
     * A Multibranch Pipeline's build has BRANCH_NAME (and JOB_BASE_NAME the branch); a plain Pipeline job's has
     * neither branch variable: its branch is only what the checkout reports (GIT_BRANCH, e.g. origin/main).
     */
    Map<String, String> buildVariables() {
        Map j = job
        boolean multibranch = j.multibranch != false
        String branch = multibranch ? j.branch : null
        Map<String, String> vars = [
            JENKINS_URL: j.url, JOB_NAME: j.name, JOB_BASE_NAME: multibranch ? branch : j.name,
            BUILD_NUMBER: j.number.toString(), BUILD_ID: j.number.toString(),
            BUILD_DISPLAY_NAME: "#${j.number}".toString(),
            BUILD_TAG: "jenkins-${j.name.toString().replace('/', '-')}-${j.number}".toString(),
            BUILD_URL: "${j.url}job/${j.name}/${j.number}/".toString(),
        ] as Map<String, String>
        if (branch) { vars.BRANCH_NAME = branch }
        return vars
    }

    /** A declared parameter: its default, unless the build was started with a value for it. */
    void declareParameter(String name, Object defaultValue) {
        if (!params.containsKey(name)) { params.put(name, defaultValue) }
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
}
