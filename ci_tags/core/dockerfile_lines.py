"""Dockerfile instructions as buildkit's line parsers split them (``parser/line_parsers.go``,
``split_command.go``): the instruction word, its ``--flags``, and its arguments as each instruction's parser
reads them (JSON arrays, whitespace-separated words, ``name=value`` pairs, ONBUILD's instruction).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from ci_tags.core.shellwords import is_space

_WHITESPACE = re.compile(r"[\t\v\f\r ]+")


class DockerfileSyntaxError(ValueError):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


def trim_space(text: str) -> str:
    start, end = 0, len(text)
    while start < end and is_space(text[start]):
        start += 1
    while end > start and is_space(text[end - 1]):
        end -= 1
    return text[start:end]


@dataclass
class Heredoc:
    name: str
    expand: bool
    chomp: bool
    fd: int = 0
    content: str = ""


@dataclass
class Node:
    """One instruction: ``value`` (as written), ``args`` (its line parser's words), and where it came from."""

    value: str
    args: list[str] = field(default_factory=list)
    sub: Node | None = None  # ONBUILD's instruction
    flags: list[str] = field(default_factory=list)
    json: bool = False
    heredocs: list[Heredoc] = field(default_factory=list)
    original: str = ""
    start_line: int = 0
    end_line: int = 0
    args_offset: int = 0  # where the arguments (after flags) start in ``original``
    offsets: list[int] = field(default_factory=list)  # offset in the file text of each char of ``original``
    empty: bool = False  # an unknown instruction: its line parser ignores the arguments

    @property
    def command(self) -> str:
        return self.value.lower()

    def dump(self) -> str:
        """buildkit's ``Node.Dump`` (the format of its parser test files)."""
        out = [self.value.lower()]
        if self.flags:
            out.append(" [" + " ".join(go_quote(f) for f in self.flags) + "]")
        if self.sub is not None:
            out.append(" (" + self.sub.dump() + ")")
        elif self.empty:
            out.append(' ""')
        for arg in self.args:
            out.append(" " + go_quote(arg))
        return "".join(out).strip()


def go_quote(text: str) -> str:
    """Go's strconv.Quote."""
    out = ['"']
    named = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        elif ch in named:
            out.append(named[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)



# Long on purpose: buildkit's extractBuilderFlags state machine, one state per branch as in parser/line_parsers.go.
def _extract_flags(line: str, escape: str) -> tuple[int, list[str]]:
    """buildkit's extractBuilderFlags: the ``--flags`` at the start, and where the rest begins."""
    words: list[str] = []
    word: list[str] = []
    phase = "spaces"
    quote = ""
    blank_ok = False
    pos = 0
    n = len(line)
    while pos <= n:
        ch = line[pos] if pos < n else ""
        if phase == "spaces":
            if pos == n:
                break
            if is_space(ch):
                pos += 1
                continue
            if ch != "-" or pos + 1 == n or line[pos + 1] != "-":
                return pos, words
            phase = "word"
        if phase in ("word", "quote") and pos == n:
            text = "".join(word)
            if text != "--" and (blank_ok or text):
                words.append(text)
            break
        if phase == "word":
            if is_space(ch):
                text = "".join(word)
                phase = "spaces"
                if text == "--":
                    return pos, words
                if blank_ok or text:
                    words.append(text)
                word = []
                blank_ok = False
                pos += 1
                continue
            if ch in ("'", '"'):
                quote = ch
                blank_ok = True
                phase = "quote"
                pos += 1
                continue
            if ch == escape:
                if pos + 1 == n:
                    pos += 1
                    continue
                pos += 1
                ch = line[pos]
            word.append(ch)
            pos += 1
            continue
        if phase == "quote":
            if ch == quote:
                phase = "word"
                pos += 1
                continue
            if ch == escape:
                if pos + 1 == n:
                    phase = "word"
                    pos += 1
                    continue
                pos += 1
                ch = line[pos]
            word.append(ch)
            pos += 1
    return n, words


def _split_command(line: str, escape: str) -> tuple[str, list[str], str, int]:
    """The instruction word, its flags, its arguments and where they start in ``line``."""
    lead = len(line) - len(line.lstrip(" \t\n\v\f\r\x85\xa0"))
    stripped = trim_space(line)
    parts = _WHITESPACE.split(stripped, maxsplit=1)
    if len(parts) < 2:
        return parts[0], [], "", len(line)
    cmd_end = lead + len(parts[0])
    gap = _WHITESPACE.match(stripped, len(parts[0]))
    rest_start = cmd_end + (gap.end() - gap.start() if gap else 0)
    rest = stripped[len(parts[0]) + (gap.end() - gap.start() if gap else 0) :]
    at, flags = _extract_flags(rest, escape)
    args = rest[at:]
    inner_lead = len(args) - len(args.lstrip(" \t\n\v\f\r\x85\xa0"))
    return parts[0], flags, trim_space(args), rest_start + at + inner_lead


def parse_words(rest: str, escape: str) -> list[str]:
    """buildkit's parseWords (ARG, ENV, LABEL): split on spaces, quotes and escapes kept for later."""
    words: list[str] = []
    word: list[str] = []
    phase = "spaces"
    quote = ""
    blank_ok = False
    pos = 0
    n = len(rest)
    while pos <= n:
        ch = rest[pos] if pos < n else ""
        if phase == "spaces":
            if pos == n:
                break
            if is_space(ch):
                pos += 1
                continue
            phase = "word"
        if phase in ("word", "quote") and pos == n:
            if blank_ok or word:
                words.append("".join(word))
            break
        if phase == "word":
            if is_space(ch):
                phase = "spaces"
                if blank_ok or word:
                    words.append("".join(word))
                word = []
                blank_ok = False
                pos += 1
                continue
            if ch in ("'", '"'):
                quote = ch
                blank_ok = True
                phase = "quote"
            if ch == escape:
                if pos + 1 == n:
                    pos += 1
                    continue
                word.append(ch)
                pos += 1
                ch = rest[pos]
            word.append(ch)
            pos += 1
            continue
        if phase == "quote":
            if ch == quote:
                phase = "word"
            if ch == escape and quote != "'":
                if pos + 1 == n:
                    phase = "word"
                    pos += 1
                    continue
                pos += 1
                word.append(ch)
                ch = rest[pos]
            word.append(ch)
            pos += 1
    return words


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")  # Go's decoder refuses NaN and Infinity


def _json_array(rest: str) -> list[str] | None:
    """The JSON array form, or None when the text is not a JSON array (then it is shell form)."""
    rest = rest.lstrip(" \t\n\v\f\r\x85\xa0")
    if not rest.startswith("["):
        return None
    try:
        value = json.loads(rest, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, list):
        return None
    if not all(isinstance(v, str) for v in value):
        raise DockerfileSyntaxError(0, "when using JSON array syntax, arrays must be comprised of strings only")
    return value


def _whitespace_words(rest: str) -> list[str]:
    if rest == "":
        return []
    return _WHITESPACE.split(rest)


def _name_val(rest: str, key: str, escape: str) -> list[str]:
    words = parse_words(rest, escape)
    if not words:
        return []
    if "=" not in words[0]:
        parts = _WHITESPACE.split(rest, maxsplit=1)
        if len(parts) < 2:
            raise DockerfileSyntaxError(0, f"{key} must have two arguments")
        return [parts[0], parts[1], ""]
    out: list[str] = []
    for word in words:
        if "=" not in word:
            raise DockerfileSyntaxError(
                0, f"Syntax error - can't find = in {go_quote(word)}. Must be of the form: name=value")
        name, _, value = word.partition("=")
        out += [name, value, "="]
    return out


def node_from_line(line: str, escape: str) -> Node:
    cmd, flags, rest, at = _split_command(line, escape)
    node = Node(cmd, flags=flags, args_offset=at)
    kind = cmd.lower()
    if kind in ("add", "copy", "volume"):
        array = _json_array(rest)
        node.json = array is not None
        node.args = array if array is not None else _whitespace_words(rest)
    elif kind in ("cmd", "entrypoint", "run", "shell"):
        if rest:
            array = _json_array(rest)
            node.json = array is not None
            node.args = array if array is not None else [rest]
    elif kind in ("expose", "from"):
        node.args = _whitespace_words(rest)
    elif kind == "arg":
        node.args = parse_words(rest, escape)
    elif kind in ("env", "label"):
        node.args = _name_val(rest, "ENV" if kind == "env" else "LABEL", escape)
    elif kind in ("maintainer", "stopsignal", "user", "workdir"):
        node.args = [rest] if rest else []
    elif kind == "healthcheck":
        sep = 0
        while sep < len(rest) and not is_space(rest[sep]):
            sep += 1
        if sep:
            after = rest[sep:].lstrip(" \t\n\v\f\r\x85\xa0")
            node.args = [rest[:sep]]
            if after:
                array = _json_array(after)
                node.json = array is not None
                node.args += array if array is not None else [after]
    elif kind == "onbuild":
        if rest:
            node.sub = node_from_line(rest, escape)
    else:
        node.empty = True
    return node
