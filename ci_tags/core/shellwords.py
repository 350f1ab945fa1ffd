"""Shell-word processing as Docker does it in a Dockerfile (buildkit's ``frontend/dockerfile/shell/lex.go``).

Quotes (``'...'``, ``"..."``), the escape token, and variable expansion: ``$X``, ``${X}``, ``${X:-w}``, ``${X-w}``,
``${X:+w}``, ``${X+w}``, ``${X:?w}``, ``${X?w}``, ``${X#p}``, ``${X##p}``, ``${X%p}``, ``${X%%p}``, ``${X/p/r}``,
``${X//p/r}``, nested. An unset variable expands to nothing, as in Docker. Names that the caller cannot know
(``unknown``) are recorded in :attr:`ShellLex.unresolved`, so a caller can make what depends on them broader.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

_EOF = ""
_SPECIAL_PARAMS = set("@*#?-$!0")
_ACTIVE = "$<'\""  # the characters that start something in a word (beside the escape token)


class ShellSyntaxError(ValueError):
    """A word Docker refuses to process (an unbalanced quote, a bad substitution)."""


@dataclass
class ShellLex:
    escape: str = "\\"
    raw_quotes: bool = False
    raw_escapes: bool = False
    skip_process_quotes: bool = False
    skip_unset_env: bool = False
    unknown: Callable[[str], bool] = lambda name: False
    unresolved: set[str] = field(default_factory=set)

    def process_word(self, word: str, env: Mapping[str, str]) -> str:
        """The word with quotes removed and variables expanded (one word, spaces kept)."""
        if not any(ch in word for ch in _ACTIVE) and self.escape not in word:
            return word  # nothing to expand, unquote or unescape: the lexer would give every character back
        return _Word(self, word, env).run()[0]

    def process_words(self, word: str, env: Mapping[str, str]) -> list[str]:
        """The text split into words after expansion, quotes taken into account."""
        return _Word(self, word, env).run()[1]


def is_space(ch: str) -> bool:
    """Go's unicode.IsSpace (Python's isspace() also takes the separators \\x1c to \\x1f)."""
    return ch in "\t\n\v\f\r \x85\xa0" or (ch.isspace() and ch not in "\x1c\x1d\x1e\x1f")


class _Words:
    """buildkit's wordsStruct: a word is added only when its buffer holds something, so an empty quoted word
    (``""``) adds none: ``<< ""`` is ``<<`` alone, no heredoc."""

    def __init__(self) -> None:
        self.buf: list[str] = []
        self.words: list[str] = []
        self.in_word = False

    def add_char(self, ch: str) -> None:
        if is_space(ch) and self.in_word:
            if any(self.buf):
                self.words.append("".join(self.buf))
                self.buf = []
                self.in_word = False
        elif not is_space(ch):
            self.add_raw_char(ch)

    def add_raw_char(self, ch: str) -> None:
        self.buf.append(ch)
        self.in_word = True

    def add_string(self, text: str) -> None:
        for ch in text:
            self.add_char(ch)

    def add_raw_string(self, text: str) -> None:
        self.buf.append(text)
        self.in_word = True

    def get(self) -> list[str]:
        if any(self.buf):
            self.words.append("".join(self.buf))
            self.buf = []
            self.in_word = False
        return self.words


class _Word:
    def __init__(self, lex: ShellLex, text: str, env: Mapping[str, str]) -> None:
        self.lex = lex
        self.text = text
        self.pos = 0
        self.env = env
        self.raw_escapes = lex.raw_escapes

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else _EOF

    def next(self) -> str:
        ch = self.peek()
        if ch:
            self.pos += 1
        return ch

    def run(self) -> tuple[str, list[str]]:
        try:
            return self.process_stop_on(_EOF, raw_escapes=self.raw_escapes)
        except ShellSyntaxError as exc:
            raise ShellSyntaxError(f"failed to process {self.text!r}: {exc}") from None

    def process_stop_on(self, stop: str, *, raw_escapes: bool) -> tuple[str, list[str]]:
        result: list[str] = []
        words = _Words()
        saved = self.raw_escapes
        self.raw_escapes = raw_escapes
        try:
            while self.peek() != _EOF:
                ch = self.peek()
                if stop and ch == stop:
                    self.next()
                    return "".join(result), words.get()
                if ch == "$":
                    tmp = self.process_dollar()
                    result.append(tmp)
                    words.add_string(tmp)
                elif ch == "<":
                    tmp = self.process_possible_heredoc()
                    result.append(tmp)
                    words.add_raw_string(tmp)
                elif ch in "'\"" and not self.lex.skip_process_quotes:
                    tmp = self.process_single_quote() if ch == "'" else self.process_double_quote()
                    result.append(tmp)
                    words.add_raw_string(tmp)
                else:
                    ch = self.next()
                    if ch == self.lex.escape:
                        if self.raw_escapes:
                            words.add_raw_char(ch)
                            result.append(ch)
                        ch = self.next()
                        if ch == _EOF:
                            break
                        words.add_raw_char(ch)
                    else:
                        words.add_char(ch)
                    result.append(ch)
            if stop:
                raise ShellSyntaxError(f"unexpected end of statement while looking for matching {stop}")
            return "".join(result), words.get()
        finally:
            self.raw_escapes = saved

    def process_single_quote(self) -> str:
        out = []
        ch = self.next()
        if self.lex.raw_quotes:
            out.append(ch)
        while True:
            ch = self.next()
            if ch == _EOF:
                raise ShellSyntaxError("unexpected end of statement while looking for matching single-quote")
            if ch == "'":
                if self.lex.raw_quotes:
                    out.append(ch)
                return "".join(out)
            out.append(ch)

    def process_double_quote(self) -> str:
        out = []
        ch = self.next()
        if self.lex.raw_quotes:
            out.append(ch)
        while True:
            nxt = self.peek()
            if nxt == _EOF:
                raise ShellSyntaxError("unexpected end of statement while looking for matching double-quote")
            if nxt == '"':
                ch = self.next()
                if self.lex.raw_quotes:
                    out.append(ch)
                return "".join(out)
            if nxt == "$":
                out.append(self.process_dollar())
                continue
            ch = self.next()
            if ch == self.lex.escape:
                if self.raw_escapes:
                    out.append(ch)
                after = self.peek()
                if after == _EOF:
                    continue
                if after in ('"', "$", self.lex.escape):
                    ch = self.next()
            out.append(ch)

    def get_env(self, name: str) -> str | None:
        if self.lex.unknown(name):
            self.lex.unresolved.add(name)
        return self.env.get(name)

    def process_name(self) -> str:
        name: list[str] = []
        while self.peek() != _EOF:
            ch = self.peek()
            if not name and ch.isdigit():
                while self.peek() != _EOF and self.peek().isdigit():
                    name.append(self.next())
                return "".join(name)
            if not name and ch in _SPECIAL_PARAMS:
                return self.next()
            if not (ch.isalpha() or ch.isdigit() or ch == "_"):
                break
            name.append(self.next())
        return "".join(name)

    # Long on purpose: one branch per case of buildkit's processDollar (shell/lex.go), in its order, so the two
    # can be compared side by side when buildkit changes.
    def process_dollar(self) -> str:
        self.next()
        if self.peek() != "{":
            name = self.process_name()
            if not name:
                return "$"
            value = self.get_env(name)
            if value is None and self.lex.skip_unset_env:
                return "$" + name
            return value or ""
        self.next()
        if self.peek() == _EOF:
            raise ShellSyntaxError("syntax error: missing '}'")
        if self.peek() in "{}:":
            raise ShellSyntaxError("syntax error: bad substitution")
        name = self.process_name()
        ch = self.next()
        chs = ch
        null_is_unset = False
        if ch == "}":
            value = self.get_env(name)
            if value is None and self.lex.skip_unset_env:
                return "${" + name + "}"
            return value or ""
        if ch == ":":
            null_is_unset = True
            ch = self.next()
            chs += ch
        if ch in ("+", "-", "?", "#", "%") and ch:
            raw = ch in "#%"
            if null_is_unset and raw:
                raise ShellSyntaxError(f"unsupported modifier ({chs}) in substitution")
            try:
                word, _ = self.process_stop_on("}", raw_escapes=raw)
            except ShellSyntaxError:
                if self.peek() == _EOF:
                    raise ShellSyntaxError("syntax error: missing '}'") from None
                raise
            value = self.get_env(name)
            if value is None and self.lex.skip_unset_env:
                return "${" + name + chs + word + "}"
            unset = value is None or (null_is_unset and value == "")
            if ch == "-":
                return word if unset else (value or "")
            if ch == "+":
                return "" if unset else word
            if ch == "?":
                if name in self.lex.unresolved:
                    return value or ""  # the value may well be set where Docker runs: no error here
                if value is None:
                    raise ShellSyntaxError(f"{name}: {word or 'is not allowed to be unset'}")
                if null_is_unset and value == "":
                    raise ShellSyntaxError(f"{name}: {word or 'is not allowed to be empty'}")
                return value
            greedy = word[:1] == ch
            if greedy:
                word = word[1:]
            if ch == "%":
                return _trim_suffix(word, value or "", greedy=greedy)
            return _trim_prefix(word, value or "", greedy=greedy)
        if ch == "/" and not null_is_unset:
            replace_all = self.peek() == "/"
            if replace_all:
                self.next()
            try:
                pattern, _ = self.process_stop_on("/", raw_escapes=True)
            except ShellSyntaxError:
                if self.peek() == _EOF:
                    raise ShellSyntaxError("syntax error: missing '/' in ${}") from None
                raise
            try:
                replacement, _ = self.process_stop_on("}", raw_escapes=True)
            except ShellSyntaxError:
                if self.peek() == _EOF:
                    raise ShellSyntaxError("syntax error: missing '}'") from None
                raise
            value = self.get_env(name)
            if value is None and self.lex.skip_unset_env:
                return "${" + name + "/" + pattern + "/" + replacement + "}"
            regex = _pattern_regex(pattern, greedy=True, anchored=False)
            text = value or ""
            if replace_all:
                return regex.sub(lambda m: replacement, text)
            return regex.sub(lambda m: replacement, text, count=1)
        raise ShellSyntaxError(f"unsupported modifier ({chs}) in substitution")

    def process_possible_heredoc(self) -> str:
        self.next()
        if self.peek() != "<":
            return "<"
        self.next()
        space = []
        while self.peek() in ("\t", "\r", " ") and self.peek():
            space.append(self.next())
        return "<<" + "".join(space)


def _pattern_regex(pattern: str, *, greedy: bool, anchored: bool) -> re.Pattern[str]:
    """A shell pattern of ``${X#pattern}`` and friends: ``*`` and ``?``, no bracket expressions."""
    out = ["^"] if anchored else []
    star = ".*" if greedy else ".*?"
    i = 0
    while i < len(pattern):
        tok = pattern[i]
        i += 1
        if tok == "*":
            out.append(star)
        elif tok == "?":
            out.append(".")
        elif tok == "\\":
            nxt = pattern[i : i + 1]
            if nxt in ("}", "/"):
                continue
            i += 1
            if nxt not in ("*", "?", "\\"):
                raise ShellSyntaxError(f"invalid pattern ({pattern}) in substitution: invalid escape '\\{nxt}'")
            out.append(re.escape(nxt))
        else:
            out.append(re.escape(tok))
    return re.compile("".join(out))


def _trim_prefix(pattern: str, value: str, *, greedy: bool) -> str:
    m = _pattern_regex(pattern, greedy=greedy, anchored=True).search(value)
    return value[m.end() :] if m else value


def _reverse_pattern(pattern: str) -> str:
    chars = list(pattern)
    out = [""] * len(chars)
    last = len(chars) - 1
    i = 0
    while i <= last:
        tok = chars[i]
        at = last - i
        if tok == "\\" and i != last:
            out[at - 1] = tok
            out[at] = chars[i + 1]
            i += 2
        else:
            out[at] = tok
            i += 1
    return "".join(out)


def _trim_suffix(pattern: str, value: str, *, greedy: bool) -> str:
    return _trim_prefix(_reverse_pattern(pattern), value[::-1], greedy=greedy)[::-1]
