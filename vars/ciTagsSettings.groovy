// The parameters every ci-tags step takes, checked and completed with their defaults. A misspelt parameter is an
// error, not a silently ignored default (a `credentialId:` that binds nothing would fail far from its cause).

import groovy.transform.Field

@Field final List JANITOR_WHEN = ['always', 'schedules', 'never']

@Field final Map DEFAULTS = [
    config: 'ci-tags.yml',       // the image set, relative to the checkout
    agentLabel: '',              // label expression of the agents that run ci-tags (and build)
    archLabels: [:],             // arch -> label expression; default: the arch's runners: in the config
    maxAge: '7d',                // the janitor removes pipeline and content tags older than this
    janitor: 'always',           // when the janitor runs beside the plan: 'always', 'schedules' (builds started by
                                 // the job's cron trigger only) or 'never'; true and false mean always and never
    janitorArgs: '',             // more janitor options, e.g. '--keep-last 5 --keep ^release-'
    publish: true,               // publish from the default branch after a successful build
    publishArgs: '',             // more publish options, e.g. '--tag latest --tag stable'
    defaultBranch: 'main',       // the only branch that publishes
    branch: '',                  // this build's branch; default BRANCH_NAME (multibranch), else the checkout's
                                 // GIT_BRANCH (a plain Pipeline job), e.g. a job parameter: branch: params.BRANCH
    credentialsId: '',           // username/password credentials for the registry
    jenkinsCredentialsId: '',    // a Jenkins user and API token: publish also asks Jenkins about the build
    registryImage: '',           // CI_REGISTRY_IMAGE for a config that says registry: $CI_REGISTRY_IMAGE
    install: 'pip',              // 'pip': into a venv beside the workspace; 'path': ci-tags is on the agents' PATH
    // The library and the package are released together: @Library('ci-tags@0.2.0') installs ci-tags 0.2.0.
    version: '0.2.0',            // the ci-tags release pip installs (install: 'pip')
    pipSpec: '',                 // what pip installs instead, e.g. 'git+https://example.org/ci-tags.git@<commit>'
]

/**
 * {@code args} over the defaults; {@code extra} names the parameters of one step (image, arch) that may also be
 * given. Unknown names and values of the wrong type are errors.
 */
Map call(Map args = [:], List extra = []) {
    List unknown = unknownKeys(args, extra)
    if (unknown) {
        error("ci-tags: unknown parameter(s) ${unknown.join(', ')}; known: ${(DEFAULTS.keySet() + extra).join(', ')}")
    }
    Map settings = [:]
    settings.putAll(DEFAULTS)
    settings.putAll(args)
    if (settings.janitor in [true, false]) {
        settings.janitor = settings.janitor ? 'always' : 'never'
    }
    String wrong = wrongType(settings)
    if (wrong) {
        error("ci-tags: parameter ${wrong}")
    }
    if (!(settings.install in ['pip', 'path'])) {
        error("ci-tags: parameter install: '${settings.install}' is neither 'pip' nor 'path'")
    }
    if (!(settings.janitor in JANITOR_WHEN)) {
        String known = JANITOR_WHEN.join(', ')
        error("ci-tags: parameter janitor: '${settings.janitor}' is none of ${known} (or true, false)")
    }
    settings.pipSpec = settings.pipSpec ?: "ci-tags==${settings.version}".toString()
    return settings
}

@NonCPS
List unknownKeys(Map args, List extra) {
    return args.keySet().findAll { Object key -> !DEFAULTS.containsKey(key) && !extra.contains(key) }
        .collect { Object key -> key.toString() }.sort()
}

/** The first parameter whose value has not the type of its default, described; null when all fit. */
@NonCPS
String wrongType(Map settings) {
    for (String key in DEFAULTS.keySet()) {
        Object value = settings[key]
        Class wanted = [Boolean, Map].find { Class type -> type.isInstance(DEFAULTS[key]) } ?: CharSequence
        if (!wanted.isInstance(value)) {
            String given = value == null ? 'null' : value.getClass().simpleName
            return "${key}: ${given} given, ${wanted.simpleName} expected"
        }
    }
    return null
}
