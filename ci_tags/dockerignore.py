"""``.dockerignore`` matching with Docker's rules (moby's patternmatcher).

Each pattern is cleaned like Go's ``filepath.Clean`` with a leading ``/`` removed; ``*`` and ``?`` do not
cross ``/``; ``**`` matches any number of directories; ``!`` re-includes; the last matching pattern wins; a
pattern that matches a directory matches everything under it. ``<Dockerfile>.dockerignore`` next to the
Dockerfile replaces the context's ``.dockerignore``.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path


def _clean(pattern: str) -> str:
    cleaned = posixpath.normpath(pattern.strip())
    cleaned = cleaned.lstrip("/")
    return "" if cleaned == "." else cleaned


def _regex(pattern: str) -> re.Pattern[str]:
    out = ["^"]
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            if pattern[i : i + 2] == "**":
                i += 2
                if pattern[i : i + 1] == "/":  # "**/" matches zero or more directories
                    i += 1
                    out.append("(?:.*/)?")
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end]
                if body.startswith("^"):
                    body = "!" + body[1:]
                out.append("[" + ("^" + body[1:] if body.startswith("!") else body).replace("\\", "\\\\") + "]")
                i = end
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    out.append("$")
    return re.compile("".join(out))


@dataclass(frozen=True)
class _Rule:
    regex: re.Pattern[str]
    exclusion: bool  # a "!" pattern: re-include


class DockerIgnore:
    def __init__(self, lines: list[str]) -> None:
        self.rules: list[_Rule] = []
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            exclusion = line.startswith("!")
            pattern = _clean(line[1:] if exclusion else line)
            if pattern:
                self.rules.append(_Rule(_regex(pattern), exclusion))

    @classmethod
    def for_build(cls, context: Path, dockerfile: Path) -> DockerIgnore:
        """The rules Docker applies: ``<Dockerfile>.dockerignore`` if it exists, else the context's file."""
        for candidate in (dockerfile.with_name(dockerfile.name + ".dockerignore"), context / ".dockerignore"):
            if candidate.is_file():
                return cls(candidate.read_text().splitlines())
        return cls([])

    def ignored(self, relpath: str) -> bool:
        """Whether the context path (``a/b/c``, forward slashes) is left out of the build context."""
        parents = relpath.split("/")
        candidates = ["/".join(parents[: i + 1]) for i in range(len(parents))]
        verdict = False
        for rule in self.rules:
            if any(rule.regex.match(p) for p in candidates):
                verdict = not rule.exclusion
        return verdict
