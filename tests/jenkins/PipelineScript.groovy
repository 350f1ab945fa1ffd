// Part of the Jenkins harness: see run_pipeline.groovy.

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
    Map getParams() { return Collections.unmodifiableMap(harness.params) }

    /** Declarative: see Declarative.groovy. */
    Object pipeline(Closure body) {
        harness.step('pipeline')
        return new Declarative(harness, this).run(body)
    }

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
