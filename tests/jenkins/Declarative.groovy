// Part of the Jenkins harness: see run_pipeline.groovy.

/**
 * Jenkins' declarative `pipeline {}`, the part its documentation (Pipeline Syntax) describes for these sections:
 * `agent` (none, any, label), `environment`, `parameters` (string, booleanParam: their defaults in `params`, values
 * given to the build win), `triggers` (cron, recorded), `stages` with `stage` (an `agent` of its own, `steps` with
 * `script`), and `post` (always, success, unstable, failure). An agent other than none runs the stages on a node
 * with the job's scm checked out first, as Declarative's default checkout does. A stage that fails fails the build
 * and skips the stages after it; post runs in every case. A section or directive not listed FAILS the run.
 */
class Declarative {
    final Harness harness
    final Script script
    Object agent = null
    final List<String> environment = []
    final List<Map> stages = []
    final Map<String, Closure> post = [:]

    Declarative(Harness harness, Script script) {
        this.harness = harness
        this.script = script
    }

    /** Reads the pipeline's sections (nothing runs yet), then runs it. */
    Object run(Closure body) {
        Section section = new Section(this, 'pipeline')
        evaluate(body, section)
        if (agent == null) { throw new AbortException("Missing required section 'agent'") }
        if (!stages) { throw new AbortException("Missing required section 'stages'") }
        harness.withEnv(environment) {
            onAgent(agent) { runStages() }
        }
        return null
    }

    static void evaluate(Closure body, Object delegate) {
        Closure c = (Closure) body.clone()
        c.delegate = delegate
        c.resolveStrategy = Closure.DELEGATE_FIRST
        c.call()
    }

    /** ``body`` on a node of the agent's label with the scm checked out, or where it is for agent none. */
    Object onAgent(Object which, Closure body) {
        if (which == 'none') { return body() }
        String label = which == 'any' ? '' : which as String
        return harness.node(label) {
            harness.log('[Pipeline] { (Declarative: Checkout SCM)')
            harness.checkout(harness.job.scm)
            body()
        }
    }

    void runStages() {
        boolean failed = false
        for (Map stage in stages) {
            if (failed) {
                harness.log("Stage \"${stage.name}\" skipped due to earlier failure(s)")
                continue
            }
            try {
                harness.stage(stage.name as String) {
                    onAgent(stage.agent ?: 'none') {
                        evaluate(stage.steps as Closure, new Steps(this))
                    }
                }
            } catch (HarnessError e) {
                throw e
            } catch (Throwable e) {
                harness.log(e instanceof AbortException ? "ERROR: ${e.message}" : "ERROR: ${e}")
                harness.worsen('FAILURE')
                failed = true
            }
        }
        runPost()
    }

    void runPost() {
        String result = harness.result ?: 'SUCCESS'
        for (String condition in ['always', 'success', 'unstable', 'failure']) {
            boolean applies = condition == 'always' || condition == result.toLowerCase()
            if (post[condition] && applies) {
                harness.log("[Pipeline] { (Declarative: Post Actions: ${condition})")
                evaluate(post[condition], new Steps(this))
            }
        }
    }
}

/** A section's directives; anything else is a directive the harness does not provide. */
class Section {
    final Declarative pipeline
    final String name

    Section(Declarative pipeline, String name) {
        this.pipeline = pipeline
        this.name = name
    }

    Object getNone() { return 'none' }
    Object getAny() { return 'any' }

    void agent(Object which) { pipeline.agent = which }

    void agent(Closure body) { pipeline.agent = new AgentSpec().read(body) }

    void environment(Closure body) {
        EnvironmentSpec spec = new EnvironmentSpec()
        Declarative.evaluate(body, spec)
        pipeline.environment.addAll(spec.vars)
    }

    void parameters(Closure body) { Declarative.evaluate(body, new ParametersSpec(pipeline.harness)) }

    void triggers(Closure body) { Declarative.evaluate(body, new TriggersSpec(pipeline.harness)) }

    void stages(Closure body) { Declarative.evaluate(body, new StagesSpec(pipeline)) }

    void post(Closure body) {
        PostSpec spec = new PostSpec()
        Declarative.evaluate(body, spec)
        pipeline.post.putAll(spec.conditions)
    }

    Object methodMissing(String method, Object args) {
        throw pipeline.harness.missing("the declarative directive ${method} in ${name}")
    }
}

/** `agent { label 'x' }`. */
class AgentSpec {
    String label = null

    String read(Closure body) {
        Declarative.evaluate(body, this)
        if (label == null) { throw new AbortException('agent: only `label` is provided by the harness') }
        return label
    }

    void label(String expression) { label = expression }
}

/** `NAME = 'value'` lines. */
class EnvironmentSpec {
    final List<String> vars = []

    void setProperty(String name, Object value) { vars << "${name}=${value}".toString() }
}

/** `string(name:, defaultValue:)` and `booleanParam(name:, defaultValue:)`: defaults unless the build got values. */
class ParametersSpec {
    final Harness harness

    ParametersSpec(Harness harness) { this.harness = harness }

    void string(Map args) { harness.declareParameter(args.name as String, (args.defaultValue ?: '') as String) }

    void booleanParam(Map args) { harness.declareParameter(args.name as String, args.defaultValue as boolean) }

    Object methodMissing(String method, Object args) { throw harness.missing("the parameter type ${method}") }
}

/** `cron('H 3 * * *')`: recorded; a build's cause (timer or not) is the job's. */
class TriggersSpec {
    final Harness harness

    TriggersSpec(Harness harness) { this.harness = harness }

    void cron(String spec) { harness.triggers << "cron ${spec}".toString() }

    Object methodMissing(String method, Object args) { throw harness.missing("the trigger ${method}") }
}

/** `stage('name') { agent ...; steps { ... } }` entries. */
class StagesSpec {
    final Declarative pipeline

    StagesSpec(Declarative pipeline) { this.pipeline = pipeline }

    void stage(String name, Closure body) {
        StageSpec spec = new StageSpec(pipeline.harness)
        Declarative.evaluate(body, spec)
        if (spec.steps == null) { throw new AbortException("stage ${name}: missing steps") }
        pipeline.stages << [name: name, agent: spec.agent, steps: spec.steps]
    }
}

/** One stage's directives. */
class StageSpec {
    final Harness harness
    Object agent = null
    Closure steps = null

    StageSpec(Harness harness) { this.harness = harness }

    Object getNone() { return 'none' }
    Object getAny() { return 'any' }

    void agent(Object which) { agent = which }

    void agent(Closure body) { agent = new AgentSpec().read(body) }

    void steps(Closure body) { steps = body }

    Object methodMissing(String method, Object args) { throw harness.missing("the stage directive ${method}") }
}

/** `always { }`, `success { }`... */
class PostSpec {
    final Map<String, Closure> conditions = [:]

    void always(Closure body) { conditions.always = body }
    void success(Closure body) { conditions.success = body }
    void unstable(Closure body) { conditions.unstable = body }
    void failure(Closure body) { conditions.failure = body }
}

/** A `steps` block: `script { }` runs its body; every other name is the pipeline script's step or variable. */
class Steps {
    final Declarative pipeline

    Steps(Declarative pipeline) { this.pipeline = pipeline }

    Object script(Closure body) {
        pipeline.harness.step('script')
        return body()
    }

    Object methodMissing(String method, Object args) { return pipeline.script.invokeMethod(method, args) }

    Object propertyMissing(String name) { return pipeline.script.getProperty(name) }
}
