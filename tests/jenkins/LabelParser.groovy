// Part of the Jenkins harness: see run_pipeline.groovy.

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
