"""``.dockerignore`` as Docker reads and matches it (moby/patternmatcher and its ``ignorefile`` package).

Reading: a UTF-8 BOM is dropped; only lines *starting* with ``#`` are comments; each pattern is trimmed, cleaned
like Go's ``filepath.Clean`` and a leading ``/`` dropped; ``!`` re-includes. Matching: the last matching pattern
wins; a pattern that matches a parent folder matches everything under it; ``*`` and ``?`` do not cross ``/``;
``**`` matches any number of folders; bracket expressions as Go's ``filepath.Match`` has them (``[^a]`` negates,
``[!a]`` is the characters ``!`` and ``a``, ``\\`` escapes, also inside brackets, no POSIX classes). A pattern
Docker refuses is bad input naming the file and the line. ``<Dockerfile>.dockerignore`` next to the Dockerfile
replaces the context's ``.dockerignore``.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

from ci_tags.errors import BadInput


class PatternError(ValueError):
    """A pattern Go's filepath.Match refuses (Docker refuses the whole file)."""


def clean(path: str) -> str:
    """Go's ``filepath.Clean`` (Unix)."""
    if path == "":
        return "."
    cleaned = posixpath.normpath(path)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")  # POSIX keeps a leading "//"; Go does not
    return cleaned


def read_patterns(text: str) -> list[tuple[int, str]]:
    """ignorefile.ReadAll: the patterns of an ignore file, each with its line number."""
    out: list[tuple[int, str]] = []
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw.rstrip("\r") if raw.endswith("\r") else raw
        if number == 1 and line.startswith("\ufeff"):
            line = line[1:]
        if line.startswith("#"):
            continue
        pattern = line.strip()
        if not pattern:
            continue
        invert = pattern.startswith("!")
        if invert:
            pattern = pattern[1:].strip()
        if pattern:
            pattern = clean(pattern)
            if len(pattern) > 1 and pattern.startswith("/"):
                pattern = pattern[1:]
        out.append((number, "!" + pattern if invert else pattern))
    return out


def bracket(pattern: str, i: int) -> tuple[str, int]:
    """A bracket expression at ``pattern[i] == '['`` as Go's filepath.Match reads it -> (regex, next index)."""
    i += 1
    negate = pattern[i : i + 1] == "^"
    if negate:
        i += 1
    parts: list[str] = []
    count = 0
    while True:
        if i < len(pattern) and pattern[i] == "]" and count > 0:
            i += 1
            break
        lo, i = _class_char(pattern, i)
        hi = lo
        if pattern[i : i + 1] == "-":
            hi, i = _class_char(pattern, i + 1)
            if hi < lo:
                raise PatternError("bad range")
        parts.append(re.escape(lo) if lo == hi else f"{re.escape(lo)}-{re.escape(hi)}")
        count += 1
    body = "".join(parts)
    return (f"[^{body}]" if negate else f"[{body}]"), i


def _class_char(pattern: str, i: int) -> tuple[str, int]:
    if i >= len(pattern) or pattern[i] in "-]":
        raise PatternError("syntax error in pattern")
    if pattern[i] == "\\":
        i += 1
        if i >= len(pattern):
            raise PatternError("syntax error in pattern")
    return pattern[i], i + 1


def validate(pattern: str) -> None:
    """Go's filepath.Match syntax check (patternmatcher.New calls Match(pattern, "."))."""
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "[":
            _, i = bracket(pattern, i)
            continue
        if c == "\\":
            if i + 1 >= len(pattern):
                raise PatternError("syntax error in pattern")
            i += 2
            continue
        i += 1


@dataclass
class Pattern:
    """One pattern compiled as patternmatcher compiles it: exact, prefix, suffix or regex match."""

    cleaned: str
    exclusion: bool
    kind: str = "exact"
    regex: re.Pattern[str] | None = None

    def __post_init__(self) -> None:
        out = ["^"]
        kind = "exact"
        p = self.cleaned
        i = 0
        first = True
        while i < len(p):
            ch = p[i]
            i += 1
            if ch == "*":
                if p[i : i + 1] == "*":
                    i += 1
                    if p[i : i + 1] == "/":
                        i += 1
                    if i >= len(p):
                        if kind == "exact":
                            kind = "prefix"
                        else:
                            out.append(".*")
                            kind = "regex"
                    else:
                        out.append("(.*/)?")
                        kind = "regex"
                    if first:
                        kind = "suffix"
                else:
                    out.append("[^/]*")
                    kind = "regex"
            elif ch == "?":
                out.append("[^/]")
                kind = "regex"
            elif ch == "\\":
                if i < len(p):
                    out.append(re.escape(p[i]))
                    i += 1
                    kind = "regex"
                else:
                    out.append(re.escape("\\"))
            elif ch == "[":
                regex, i = bracket(p, i - 1)
                out.append(regex)
                kind = "regex"
            else:
                out.append(re.escape(ch))
            first = False
        self.kind = kind
        if kind == "regex":
            self.regex = re.compile("".join(out) + r"\Z", re.DOTALL)

    def match(self, path: str) -> bool:
        if self.kind == "exact":
            return path == self.cleaned
        if self.kind == "prefix":
            return path.startswith(self.cleaned[:-2])
        if self.kind == "suffix":
            suffix = self.cleaned[2:]
            return path.endswith(suffix) or (suffix[:1] == "/" and path == suffix[1:])
        assert self.regex is not None
        return self.regex.match(path) is not None


def compile_patterns(patterns: list[str]) -> list[Pattern]:
    """patternmatcher.New: raises PatternError for what Docker refuses."""
    out: list[Pattern] = []
    for raw in patterns:
        p = raw.strip()
        if not p:
            continue
        p = clean(p)
        exclusion = p.startswith("!")
        if exclusion:
            if len(p) == 1:
                raise PatternError('illegal exclusion pattern: "!"')
            p = p[1:]
        validate(p)
        out.append(Pattern(p, exclusion))
    return out


def matches_or_parent_matches(patterns: list[Pattern], path: str) -> bool:
    """patternmatcher's MatchesOrParentMatches for a clean, slash-separated context path."""
    matched = False
    parent = posixpath.dirname(path) or "."
    parent_dirs = parent.split("/")
    for pattern in patterns:
        if pattern.exclusion != matched:
            continue
        match = pattern.match(path)
        if not match and parent != ".":
            for i in range(len(parent_dirs)):
                if pattern.match("/".join(parent_dirs[: i + 1])):
                    match = True
                    break
        if match:
            matched = not pattern.exclusion
    return matched


class DockerIgnore:
    """The rules of one ignore file. ``lines`` is the file's text split in lines."""

    def __init__(self, lines: list[str], where: str = ".dockerignore") -> None:
        self.where = where
        self.patterns: list[Pattern] = []
        for number, pattern in read_patterns("\n".join(lines)):
            try:
                self.patterns += compile_patterns([pattern])
            except PatternError as exc:
                raise BadInput(f"{where}:{number}: Docker refuses the pattern {pattern!r}: {exc}") from None

    @classmethod
    def for_build(cls, context: Path, dockerfile: Path) -> DockerIgnore:
        """The rules Docker applies: ``<Dockerfile>.dockerignore`` if it exists, else the context's file."""
        for candidate in (dockerfile.with_name(dockerfile.name + ".dockerignore"), context / ".dockerignore"):
            if candidate.is_file():
                try:
                    text = candidate.read_bytes().decode("utf-8")
                except UnicodeDecodeError:
                    text = candidate.read_bytes().decode("latin-1")  # Go reads bytes: patterns stay byte-exact
                return cls(text.split("\n"), str(candidate))
        return cls([])

    def ignored(self, relpath: str) -> bool:
        """Whether the context path (``a/b/c``, forward slashes) is left out of the build context."""
        path = clean(relpath)
        if path in (".", ""):
            return False
        return matches_or_parent_matches(self.patterns, path)
