"""The files of a build context that a COPY/ADD source names, as buildkit finds them.

A source is a context path; ``*``, ``?`` and ``[...]`` in a component match directory entries (Go's
``filepath.Match``, per component); a wildcard that matches nothing is fine, a missing plain path is not. A
symlink the source names (the source itself, a wildcard match, a component of its path) is followed, inside the
context: the content Docker copies counts. One that leads out of the context is bad input. Symlinks inside a
copied folder are copied as links, so their text counts.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ci_tags.core.dockerignore import DockerIgnore, PatternError, bracket
from ci_tags.errors import BadInput

CHUNK = 1 << 20
_MAX_LINKS = 40


@dataclass
class Entries:
    """Context entries by the path the build names them with: (kind, value)."""

    items: dict[str, tuple[str, str]] = field(default_factory=dict)
    bytes: int = 0
    walked: set[tuple[str, str]] = field(default_factory=set)  # (named, real) folders already walked whole


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb", buffering=0) as f:
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        while n := f.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()


def has_wildcards(component: str) -> bool:
    i = 0
    while i < len(component):
        if component[i] == "\\":
            i += 2
            continue
        if component[i] in "*?[":
            return True
        i += 1
    return False


def _component_regex(component: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(component):
        c = component[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            regex, i = bracket(component, i)
            out.append(regex)
            continue
        elif c == "\\" and i + 1 < len(component):
            i += 1
            out.append(re.escape(component[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def _unescape(component: str) -> str:
    return re.sub(r"\\(.)", r"\1", component)


class _Resolver:
    def __init__(self, context: Path, where: str) -> None:
        self.context = context
        self.where = where

    def follow(self, real: str, named: str) -> str | None:
        """The context path a context path leads to, following symlinks inside the context; None if missing."""
        for _ in range(_MAX_LINKS):
            full = self.context / real if real else self.context
            try:
                st = full.lstat()
            except (FileNotFoundError, NotADirectoryError):
                return None
            if not stat.S_ISLNK(st.st_mode):
                return real
            target = os.readlink(full)
            if target.startswith("/"):
                raise BadInput(f"{self.where}: {named!r} is a symlink to {target}, outside the build context",
                               hint="Docker copies only what is inside the context; link inside it or copy the file")
            joined = posixpath.normpath(posixpath.join(posixpath.dirname(real), target))
            if joined == ".." or joined.startswith("../"):
                raise BadInput(f"{self.where}: {named!r} is a symlink to {target}, which leads out of the build "
                               "context", hint="Docker copies only what is inside the context")
            real = "" if joined == "." else joined
        raise BadInput(f"{self.where}: {named!r}: too many levels of symbolic links")

    def resolve(self, source: str, *, missing_ok: bool = False) -> list[tuple[str, str]]:
        """(named path, real context path) pairs a source names; [] when a wildcard matches nothing."""
        normalized = posixpath.normpath(source)
        if normalized == ".." or normalized.startswith("../"):
            raise BadInput(f"{self.where}: {source!r} is outside the build context")
        cleaned = posixpath.normpath("/" + source).lstrip("/")
        if cleaned in ("", "."):
            return [("", "")]
        found: list[tuple[str, str]] = [("", "")]
        parts = cleaned.split("/")
        wildcard = False
        for part in parts:
            nxt: list[tuple[str, str]] = []
            for named, real in found:
                base = self.context / real if real else self.context
                if part == "**":  # COPY --parents: any depth (more than filepath.Match's one level: hash more)
                    wildcard = True
                    nxt += [(named, real)] + [
                        (f"{named}/{sub}" if named else sub, f"{real}/{sub}" if real else sub)
                        for sub in _subdirs(base)]
                    continue
                if has_wildcards(part):
                    wildcard = True
                    try:
                        regex = _component_regex(part)
                    except PatternError as exc:
                        raise BadInput(f"{self.where}: {source!r}: bad pattern: {exc}") from None
                    names = sorted(n for n in _listdir(base) if regex.match(n))
                else:
                    names = [_unescape(part)]
                for name in names:
                    child_named = f"{named}/{name}" if named else name
                    child_real = self.follow(f"{real}/{name}" if real else name, child_named)
                    if child_real is not None:
                        nxt.append((child_named, child_real))
            found = nxt
        if not found and not wildcard and not missing_ok:
            raise BadInput(f"{self.where}: {source!r} does not exist in the build context {self.context}")
        return found


def _subdirs(base: Path) -> list[str]:
    """Every folder under ``base`` (not through symlinks), relative to it."""
    out = []
    for dirpath, dirnames, _ in os.walk(base):
        dirnames.sort()
        rel = Path(dirpath).relative_to(base).as_posix()
        out += [d if rel == "." else f"{rel}/{d}" for d in dirnames if not (Path(dirpath) / d).is_symlink()]
    return out


def _listdir(path: Path) -> list[str]:
    try:
        return os.listdir(path) if path.is_dir() else []
    except OSError:
        return []


def _walk(root: Path, rel: str) -> Iterator[str]:
    """Everything under the context folder ``rel`` (not following symlinks), as context-relative paths."""
    full = root / rel if rel else root
    for dirpath, dirnames, filenames in os.walk(full):
        dirnames.sort()
        base = Path(dirpath).relative_to(root).as_posix()
        prefix = "" if base == "." else base + "/"
        for name in sorted(filenames) + [d for d in dirnames if (Path(dirpath) / d).is_symlink()]:
            yield prefix + name
        for d in dirnames:
            if not (Path(dirpath) / d).is_symlink():
                yield prefix + d


def add_source(context: Path, source: str, ignore: DockerIgnore, entries: Entries, where: str, *,
               missing_ok: bool = False) -> None:
    """Add every entry a COPY/ADD source takes from the context. ``missing_ok``: a stage the target skips may
    name a file that does not exist (Docker does not run it); its absence is hashed, so creating it counts."""
    resolver = _Resolver(context, where)
    found = resolver.resolve(source, missing_ok=missing_ok)
    if not found and missing_ok and not has_wildcards(source):
        entries.items.setdefault(posixpath.normpath("/" + source).lstrip("/"), ("missing", ""))
    for named, real in found:
        full = context / real if real else context
        if (named, real) in entries.walked:
            continue  # `COPY . .` twice, or several sources that take the whole context
        if full.is_dir():  # an ignored folder may hold re-included ("!") files: each path decides
            entries.walked.add((named, real))
            if named:
                entries.items.setdefault(named, ("dir", ""))
            for path in _walk(context, real):
                if ignore.ignored(path):
                    continue
                name = (named + path[len(real):]) if real else (f"{named}/{path}" if named else path)
                _add_entry(context, path, name, entries)
        elif not (real and ignore.ignored(real)):
            _add_entry(context, real, named, entries)


def _kind(st: os.stat_result) -> str | None:
    if stat.S_ISLNK(st.st_mode):
        return "symlink"
    if stat.S_ISDIR(st.st_mode):
        return "dir"
    if stat.S_ISREG(st.st_mode):
        return "file" + ("x" if st.st_mode & 0o111 else "-")
    return None


def _add_entry(context: Path, real: str, named: str, entries: Entries) -> None:
    full = context / real
    st = full.lstat()
    kind = _kind(st)
    if kind is None:
        return
    if named in entries.items:
        if entries.items[named][0] == kind:
            return  # the same entry, taken again
        # The same path taken two ways: as a link inside a copied folder (`COPY foo /`) and as a source that
        # names it (`COPY foo/sub bar`), which Docker follows: both count, the followed one by what it leads to.
        named = f"{named}\0{kind}"
        if named in entries.items:
            return
    if kind == "symlink":
        entries.items[named] = (kind, os.readlink(full))
    elif kind == "dir":
        entries.items[named] = (kind, "")
    else:
        entries.items[named] = (kind, file_digest(full))
        entries.bytes += st.st_size
