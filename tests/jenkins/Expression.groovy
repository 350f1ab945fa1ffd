// Part of the Jenkins harness: see run_pipeline.groovy.

/** A Jenkins label expression: names, !, &&, ||, parentheses. */
interface Expression {
    boolean matches(Set<String> labels)
}
