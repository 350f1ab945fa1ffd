// Part of the Jenkins harness: see run_pipeline.groovy.

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
