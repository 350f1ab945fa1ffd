// Part of the Jenkins harness: see run_pipeline.groovy.

/** Jenkins' `currentBuild` (RunWrapper): only what the harness can stand behind. */
class CurrentBuild extends GroovyObjectSupport {
    Harness harness

    Object getProperty(String name) {
        switch (name) {
            case 'result': return harness.result
            case 'currentResult': return harness.result ?: 'SUCCESS'
            case 'number': return harness.job.number as int
            case 'displayName': return "#${harness.job.number}".toString()
            case 'description': return harness.description
            default: throw harness.missing("currentBuild.${name}")
        }
    }

    void setProperty(String name, Object value) {
        if (name == 'description') {
            harness.description = value == null ? null : value.toString()
            return
        }
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
            case 'getBuildCauses':  // a list of causes as maps with their _class, all or those of one class
                List<Map> causes = (harness.job.causes ?: ['hudson.model.Cause$UserIdCause']).collect { Object c ->
                    [_class: c.toString(), shortDescription: c.toString()] as Map
                }
                return a.length == 0 ? causes : causes.findAll { Map c -> c._class == a[0].toString() }
            default: throw harness.missing("currentBuild.${name}()")
        }
    }
}
