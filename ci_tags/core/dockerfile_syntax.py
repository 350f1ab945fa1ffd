"""The Dockerfile's syntax, read as buildkit's parser reads it (``frontend/dockerfile/parser``).

Parser directives (``# escape=``, ``# syntax=``, ``# check=``) only at the top; a UTF-8 BOM dropped; comment and
blank lines skipped, also inside continuations (they do not end the instruction); continuation lines joined as
Docker joins them (the escape token and the spaces after it removed, nothing added); heredocs only where buildkit
sees them (an unquoted ``<<[-]WORD`` shell word in RUN, COPY, ADD or ONBUILD of those, several per line, the body
ending at the exact terminator line); each instruction's arguments split as its line parser splits them. Every
node keeps where its text came from, so ``build`` can rewrite a ``FROM`` image in place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ci_tags.core.dockerfile_lines import DockerfileSyntaxError, Heredoc, Node, node_from_line
from ci_tags.core.shellwords import ShellLex, ShellSyntaxError

_HEREDOC = re.compile(r"(\d*)<<(-?)[\t\n\f\r ]*([^<]*)\Z")
_DIRECTIVE = re.compile(r"([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*\Z")
_DIRECTIVES = ("syntax", "escape", "check")
HEREDOC_INSTRUCTIONS = ("add", "copy", "run")


@dataclass
class Syntax:
    nodes: list[Node]
    escape: str
    text: str  # the decoded file, BOM dropped


class _Directives:
    def __init__(self) -> None:
        self.escape = "\\"
        self.done = False
        self.seen: set[str] = set()
        self._continuation = self._regex("\\")

    @staticmethod
    def _regex(token: str) -> re.Pattern[str]:
        t = re.escape(token)
        return re.compile(rf"([^{t}]){t}[ \t]*\Z|\A{t}[ \t]*\Z")

    def parse_line(self, line: str, number: int) -> bool:
        if self.done:
            return False
        if not line.startswith("#"):
            self.done = True
            return False
        m = _DIRECTIVE.match(line[1:].lstrip())
        if not m or m.group(1).lower() not in _DIRECTIVES:
            self.done = True
            return False
        key = m.group(1).lower()
        if key in self.seen:
            raise DockerfileSyntaxError(number, f"only one {key} parser directive can be used")
        self.seen.add(key)
        if key == "escape":
            if m.group(2) not in ("`", "\\"):
                raise DockerfileSyntaxError(number, f"invalid escape token '{m.group(2)}' does not match ` or \\")
            self.escape = m.group(2)
            self._continuation = self._regex(self.escape)
        return True

    def trim_continuation(self, line: str) -> tuple[str, bool]:
        m = self._continuation.search(line)
        if m:
            return line[: m.start()] + (m.group(1) or ""), False
        return line, True


def _is_comment(line: str) -> bool:
    stripped = line.lstrip()
    return stripped.startswith("#") and bool(stripped)


def _trim_newline(line: str) -> str:
    return line.rstrip("\r\n")


class _Lines:
    """The file's lines (with their offsets in the text), read one after another as buildkit's scanner does."""

    def __init__(self, text: str) -> None:
        # splitlines() also splits on \v, \f, \x1c.. and unicode separators; Docker splits on \n only
        self.lines: list[tuple[int, str]] = []
        pos = 0
        for chunk in text.split("\n"):
            self.lines.append((pos, chunk + "\n"))
            pos += len(chunk) + 1
        if self.lines and self.lines[-1][1] == "\n":
            self.lines.pop()  # text ended with a newline
        elif self.lines:
            self.lines[-1] = (self.lines[-1][0], self.lines[-1][1][:-1])
        self.index = 0
        self.number = 0  # the 1-based number of the line read last

    @property
    def more(self) -> bool:
        return self.index < len(self.lines)

    def next(self) -> tuple[int, str]:
        """(offset, raw line with its newline)."""
        line = self.lines[self.index]
        self.index += 1
        self.number += 1
        return line


def parse_syntax(text: str) -> Syntax:
    """Parse the file's text (decoded) into instruction nodes; raises DockerfileSyntaxError where buildkit does."""
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = _Lines(text)
    d = _Directives()
    nodes: list[Node] = []
    while lines.more:
        offset, raw = lines.next()
        start_line = lines.number
        processed = _trim_newline(raw)
        lead = len(processed) - len(processed.lstrip())
        processed = processed[lead:]
        if d.parse_line(processed, lines.number) or _is_comment(processed):
            continue
        part, end_of_line = d.trim_continuation(processed)
        if end_of_line and not part:
            continue
        line, offsets = _continued(lines, d, part, list(range(offset + lead, offset + lead + len(part))),
                                   end_of_line=end_of_line)
        try:
            node = node_from_line(line, d.escape)
        except DockerfileSyntaxError as exc:
            raise DockerfileSyntaxError(start_line, exc.reason) from None
        node.original = line
        node.offsets = offsets
        target = node.sub if node.command == "onbuild" and node.sub is not None else node
        if target.command in HEREDOC_INSTRUCTIONS and not target.json and "<<" in line:
            node.heredocs += _heredoc_bodies(lines, line, start_line)
        node.start_line, node.end_line = start_line, lines.number
        nodes.append(node)
    if not nodes:
        raise DockerfileSyntaxError(lines.number, "file with no instructions")
    return Syntax(nodes, d.escape, text)


def _continued(lines: _Lines, d: _Directives, part: str, offsets: list[int], *,
               end_of_line: bool) -> tuple[str, list[int]]:
    """The instruction's whole text over its continuation lines (comments and blank lines between them skipped),
    and each character's offset in the file."""
    buf = [part]
    while not end_of_line and lines.more:
        offset, raw = lines.next()
        processed = _trim_newline(raw)
        d.parse_line(processed, lines.number)
        if _is_comment(raw) or not processed.lstrip():
            continue
        part, end_of_line = d.trim_continuation(processed)
        buf.append(part)
        offsets += range(offset, offset + len(part))
    return "".join(buf), offsets


def _heredoc_bodies(lines: _Lines, line: str, start_line: int) -> list[Heredoc]:
    """The heredocs ``line`` opens, each with the lines up to its terminator as its content."""
    try:
        heredocs = heredocs_from_line(line)
    except DockerfileSyntaxError as exc:
        raise DockerfileSyntaxError(start_line, exc.reason) from None
    for doc in heredocs:
        content: list[str] = []
        while True:
            if not lines.more:
                raise DockerfileSyntaxError(start_line, "unterminated heredoc")
            _, raw = lines.next()
            candidate = _trim_newline(raw)
            if (candidate.lstrip("\t") if doc.chomp else candidate) == doc.name:
                break
            content.append(raw)
        doc.content = "".join(content)
    return heredocs


def parse_heredoc(word: str) -> Heredoc | None:
    """A heredoc marker (``<<EOF``, ``<<-EOF``, ``<<"EOF"``, ``3<<EOF``) or None."""
    m = _HEREDOC.match(word)
    if not m or not m.group(3):
        return None
    rest = m.group(3)
    try:
        words = ShellLex(skip_unset_env=True).process_words(rest, {})
    except ShellSyntaxError as exc:
        raise DockerfileSyntaxError(0, str(exc)) from None
    if len(words) != 1:
        return None
    try:
        raw = ShellLex(skip_unset_env=True, raw_quotes=True).process_words(rest, {})
    except ShellSyntaxError as exc:
        raise DockerfileSyntaxError(0, str(exc)) from None
    if len(raw) != 1:
        raise DockerfileSyntaxError(0, f"internal lexing of heredoc produced inconsistent results: {rest}")
    quotes = words[0].count("'") + words[0].count('"')
    raw_quotes = raw[0].count("'") + raw[0].count('"')
    return Heredoc(words[0], quotes == raw_quotes, m.group(2) == "-", int(m.group(1) or 0))


def heredocs_from_line(line: str) -> list[Heredoc]:
    try:
        words = ShellLex(raw_quotes=True, raw_escapes=True, skip_unset_env=True).process_words(line, {})
    except ShellSyntaxError:
        words = []
    return [doc for doc in (parse_heredoc(w) for w in words) if doc is not None]


__all__ = ["DockerfileSyntaxError", "Heredoc", "Node", "Syntax", "parse_heredoc", "parse_syntax"]
