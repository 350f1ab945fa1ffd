"""Content hashes: a sha256 over everything that decides a build, and nothing else.

What goes in (scheme ``ci-tags-hash-v1``): the Dockerfile's bytes; every context file that a COPY/ADD takes
(relative path, content, executable bit, symlink target), sorted, honouring .dockerignore; build args, target
and architecture; each parent image of the set by its content hash, and each external image by its reference as
written (or its digest, when pinned). What stays out: modification times, owners, the checkout's absolute path,
and files no COPY/ADD reads. COPY/ADD sources of every stage count, also of stages a ``target`` skips: a hash
that changes too often costs a build; one that changes too rarely ships a stale image.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import posixpath
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ci_tags.dockerfile import Dockerfile, parse_dockerfile
from ci_tags.dockerignore import DockerIgnore
from ci_tags.errors import BadInput

SCHEME = "ci-tags-hash-v1"
CHUNK = 1 << 20
_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class HashResult:
    hex: str
    files: int
    bytes: int
    warnings: tuple[str, ...] = ()


@dataclass
class _Entries:
    items: dict[str, tuple[str, str]] = field(default_factory=dict)  # relpath -> (kind, value)
    bytes: int = 0


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb", buffering=0) as f:
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        while n := f.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()


def _walk(root: Path, rel: str) -> Iterator[str]:
    """``rel`` and everything under it (not following symlinks), as context-relative paths."""
    yield rel
    full = root / rel if rel else root
    if full.is_dir() and not full.is_symlink():
        for dirpath, dirnames, filenames in os.walk(full):
            dirnames.sort()
            base = Path(dirpath).relative_to(root).as_posix()
            for name in sorted(filenames) + [d for d in dirnames if (Path(dirpath) / d).is_symlink()]:
                yield f"{base}/{name}" if base != "." else name
            for d in dirnames:
                if not (Path(dirpath) / d).is_symlink():
                    yield f"{base}/{d}" if base != "." else d


def _source_paths(context: Path, source: str, where: str) -> list[str]:
    """The context paths a COPY/ADD source names; a path that leaves the context is bad input, as in Docker."""
    cleaned = posixpath.normpath("/" + source).lstrip("/")
    if posixpath.normpath(source).startswith("..") or source.startswith("../"):
        raise BadInput(f"{where}: {source!r} is outside the build context")
    if cleaned in ("", "."):
        return [""]
    if not _GLOB_CHARS & set(cleaned):
        if not (context / cleaned).exists() and not (context / cleaned).is_symlink():
            raise BadInput(f"{where}: {source!r} does not exist in the build context {context}")
        return [cleaned]
    matches = [
        rel for rel in _walk(context, "")
        if rel and rel.count("/") == cleaned.count("/") and fnmatch.fnmatchcase(rel, cleaned)
    ]
    if not matches:
        raise BadInput(f"{where}: {source!r} matches no file in the build context {context}")
    return matches


def _add_path(context: Path, rel: str, ignore: DockerIgnore, entries: _Entries) -> None:
    for path in _walk(context, rel):
        if not path or path in entries.items or ignore.ignored(path):
            continue
        full = context / path
        st = full.lstat()
        if stat.S_ISLNK(st.st_mode):
            entries.items[path] = ("symlink", os.readlink(full))
        elif stat.S_ISDIR(st.st_mode):
            entries.items[path] = ("dir", "")
        elif stat.S_ISREG(st.st_mode):
            executable = "x" if st.st_mode & 0o111 else "-"
            entries.items[path] = (f"file{executable}", _file_digest(full))
            entries.bytes += st.st_size


def context_entries(context: Path, dockerfile: Dockerfile, ignore: DockerIgnore, where: str) -> _Entries:
    """Every context entry some COPY/ADD (without --from) reads."""
    entries = _Entries()
    for copy in dockerfile.copies:
        if copy.from_ is not None:
            continue
        for source in copy.sources:
            if copy.instruction == "ADD" and "://" in source:
                continue  # a remote URL: hashed as its text by the caller
            for rel in _source_paths(context, source, f"{where}:{copy.line}"):
                _add_path(context, rel, ignore, entries)
    return entries


def remote_sources(dockerfile: Dockerfile) -> list[str]:
    return [s for c in dockerfile.copies if c.instruction == "ADD" for s in c.sources if "://" in s]


def content_hash(
    dockerfile_path: Path,
    context: Path,
    *,
    arch: str,
    build_args: Mapping[str, str],
    target: str | None,
    bases: Mapping[str, str],
    where: str | None = None,
) -> HashResult:
    """The content hash of one image for one architecture.

    ``bases`` maps every external image the Dockerfile pulls (FROM, COPY --from) to what stands for it in the
    hash: a parent of the set by ``"content:<hex>"``, an external image by its reference text or its pinned
    digest. Use :func:`external_images` to learn which keys are needed.
    """
    where = where or str(dockerfile_path)
    data = dockerfile_path.read_bytes()
    parsed = parse_dockerfile(data.decode("utf-8", errors="replace"), build_args, where)
    entries = context_entries(context, parsed, DockerIgnore.for_build(context, dockerfile_path), where)
    remote = remote_sources(parsed)
    h = hashlib.sha256()

    def put(*fields: str) -> None:
        for value in fields:
            raw = value.encode()
            h.update(len(raw).to_bytes(8, "big") + raw)

    put(SCHEME, "dockerfile", hashlib.sha256(data).hexdigest(), "arch", arch, "target", target or "")
    for key in sorted(build_args):
        put("arg", key, build_args[key])
    for image in parsed.external_images():
        put("base", image, bases.get(image, image))
    for url in remote:
        put("remote", url)
    for rel in sorted(entries.items):
        kind, value = entries.items[rel]
        put("entry", rel, kind, value)
    warnings = tuple(f"{where}: ADD {url} is hashed by its URL; a change behind it is not seen" for url in remote)
    return HashResult(h.hexdigest(), sum(1 for k, _ in entries.items.values() if k.startswith("file")),
                      entries.bytes, warnings)


def external_images(dockerfile_path: Path, build_args: Mapping[str, str]) -> list[str]:
    """The images a Dockerfile pulls (FROM lines that are not stages, and COPY --from=<image>), as written."""
    text = dockerfile_path.read_text(errors="replace")
    return parse_dockerfile(text, build_args, str(dockerfile_path)).external_images()


def order_images(parents: Mapping[str, list[str]]) -> list[str]:
    """Images ordered parents first (stable, in the given order otherwise); a cycle is bad input."""
    order: list[str] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = [*path[path.index(name) :], name]
            raise BadInput(f"images build FROM each other in a cycle: {' -> '.join(cycle)}")
        state[name] = 1
        for parent in parents.get(name, []):
            visit(parent, [*path, name])
        state[name] = 2
        order.append(name)

    for name in parents:
        visit(name, [])
    return order


def parent_of(reference: str, names: set[str], registry: str) -> str | None:
    """The image of the set a FROM reference names (by set name or full repository, any tag), if any."""
    bare = reference.split("@", 1)[0]
    if ":" in bare.rsplit("/", 1)[-1]:
        bare = bare.rsplit(":", 1)[0]
    if bare in names:
        return bare
    prefix = registry.rstrip("/") + "/"
    if bare.startswith(prefix) and bare[len(prefix):] in names:
        return bare[len(prefix):]
    return None

