"""Content hashes: a sha256 over everything that decides a build, and nothing else.

What goes in (scheme ``ci-tags-hash-v2``): the Dockerfile's bytes; every context entry the build takes (COPY/ADD
sources and RUN bind mounts of the context, as Docker reads them for that architecture: see
:mod:`ci_tags.core.dockerfile` and :mod:`ci_tags.project.build_context`), by the path the build names it, with
its content, executable bit or symlink text, sorted, honouring .dockerignore; build args, target and
architecture; each parent
image of the set by its content hash, and each external image by its reference as written (or its digest, when
pinned); remote ADD sources by their text. What stays out: modification times, owners, the checkout's absolute
path, and files no instruction reads. Sources of every stage count, also of stages a ``target`` skips, and a source
ci-tags cannot resolve takes the whole context: a hash that changes too often costs a build; one that changes too
rarely ships a stale image.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ci_tags.core.dockerfile import BaseInfo, Dockerfile, decode_dockerfile, parse_dockerfile
from ci_tags.core.dockerignore import DockerIgnore
from ci_tags.errors import BadInput
from ci_tags.project.build_context import Entries, add_source

SCHEME = "ci-tags-hash-v2"
_REMOTE = ("http://", "https://", "git://", "git@", "ssh://")


@dataclass(frozen=True)
class HashResult:
    hex: str
    files: int
    bytes: int
    warnings: tuple[str, ...] = ()
    dockerfile: Dockerfile | None = None


def read_dockerfile_bytes(path: Path, where: str) -> bytes:
    """The Dockerfile's bytes (what the hash takes); an unreadable one is bad input."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise BadInput(f"{where}: cannot read the Dockerfile: {exc.strerror}") from None


def read_dockerfile(path: Path, where: str) -> str:
    """The Dockerfile's text (hashed by its bytes; one that is not UTF-8 is read as Docker reads it)."""
    return decode_dockerfile(read_dockerfile_bytes(path, where))


@dataclass(frozen=True)
class ReadDockerfile:
    """A Dockerfile read once: its bytes and what the parser made of them for one architecture (read without
    ``base_info``, it stands for the hash only while no base of the set can add ENV or ONBUILD to it)."""

    data: bytes
    parsed: Dockerfile


def read_and_parse(dockerfile_path: Path, build_args: Mapping[str, str], where: str, *, arch: str,
                   target: str | None, base_info: Callable[[str], BaseInfo] | None = None) -> ReadDockerfile:
    data = read_dockerfile_bytes(dockerfile_path, where)
    return ReadDockerfile(data, parse_dockerfile(decode_dockerfile(data), build_args, where, arch=arch,
                                                 target=target, base_info=base_info))


_SCP_LIKE = re.compile(r"[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+:")  # user@host:path, a git remote


def is_remote(instruction: str, source: str) -> bool:
    """An ADD source buildkit fetches from the network (an http(s) URL or a git remote), not the context."""
    return instruction == "ADD" and (source.startswith(_REMOTE) or bool(_SCP_LIKE.match(source)))


def context_entries(context: Path, dockerfile: Dockerfile, ignore: DockerIgnore, where: str) -> Entries:
    """Every context entry some COPY/ADD (without --from) or RUN --mount of the context reads; a source
    ci-tags cannot resolve (``broad``) takes the whole context."""
    entries = Entries()
    for copy in dockerfile.copies:
        if copy.from_ is not None:
            continue
        sources = ("",) if copy.broad else copy.sources
        skipped = copy.stage not in dockerfile.reachable  # Docker does not run it: a missing file is no error
        for source in sources:
            if is_remote(copy.instruction, source):
                continue  # hashed by its text by the caller
            add_source(context, source, ignore, entries, f"{where}:{copy.line}", missing_ok=skipped)
    return entries


def remote_sources(dockerfile: Dockerfile) -> list[str]:
    return [s for c in dockerfile.copies for s in c.sources if is_remote(c.instruction, s)]


def content_hash(
    dockerfile_path: Path,
    context: Path,
    *,
    arch: str,
    build_args: Mapping[str, str],
    target: str | None,
    bases: Mapping[str, str],
    where: str | None = None,
    base_info: Callable[[str], BaseInfo] | None = None,
    read: ReadDockerfile | None = None,
) -> HashResult:
    """The content hash of one image for one architecture.

    ``bases`` maps every external image the Dockerfile pulls (FROM, COPY --from) to what stands for it in the
    hash: a parent of the set by ``"content:<hex>"``, an external image by its reference text or its pinned
    digest. Use :func:`external_images` to learn which keys are needed. ``base_info`` tells what ci-tags knows
    of a base image (a parent of the set: its ENV and ONBUILD triggers). ``read``: the Dockerfile as
    :func:`read_and_parse` already read it for this arch, build args and target, given only when no
    ``base_info`` could change the parse (no base of the set); the file is then not read again.
    """
    where = where or str(dockerfile_path)
    read = read or read_and_parse(dockerfile_path, build_args, where, arch=arch, target=target, base_info=base_info)
    data, parsed = read.data, read.parsed
    entries = context_entries(context, parsed, DockerIgnore.for_build(context, dockerfile_path), where)
    remote = remote_sources(parsed)
    h = hashlib.sha256()

    def put(*fields: str) -> None:
        for value in fields:
            raw = value.encode("utf-8", "surrogateescape")
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
    warnings = parsed.warnings + tuple(
        f"{where}: ADD {url} is hashed by its URL; a change behind it is not seen" for url in remote)
    return HashResult(h.hexdigest(), sum(1 for k, _ in entries.items.values() if k.startswith("file")),
                      entries.bytes, warnings, parsed)


def external_images(dockerfile_path: Path, build_args: Mapping[str, str], arch: str = "amd64",
                    target: str | None = None) -> list[str]:
    """The images a Dockerfile pulls (FROM lines that are not stages, COPY --from=<image>), ARGs expanded."""
    where = str(dockerfile_path)
    text = read_dockerfile(dockerfile_path, where)
    return parse_dockerfile(text, build_args, where, arch=arch, target=target).external_images()


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


def parent_of(reference: str, names: set[str], registry: str,
              aliases: Mapping[str, str] | None = None) -> str | None:
    """The image of the set a FROM reference names (by set name, full repository or an alias), if any."""
    aliases = aliases or {}
    if reference in aliases:
        return aliases[reference]
    bare = reference.split("@", 1)[0]
    if ":" in bare.rsplit("/", 1)[-1]:
        bare = bare.rsplit(":", 1)[0]
    if bare in names:
        return bare
    if bare in aliases:  # an alias without a tag stands for every tag
        return aliases[bare]
    prefix = registry.rstrip("/") + "/"
    if bare.startswith(prefix) and bare[len(prefix):] in names:
        return bare[len(prefix):]
    return None


def old_name_finder(names: set[str]) -> Callable[[str], str | None]:
    """Which image of the set a registry-less FROM reference may be an older name of (``qemu:debian10`` for
    ``qemu/debian10``), so the user can list it under ``aliases:``: a lookup over ``names``, indexed once (it runs
    for every FROM of every image)."""
    flat_names: dict[str, str] = {}
    for name in sorted(names):
        flat_names.setdefault(name.translate(_SEPARATORS).lower(), name)

    def find(reference: str) -> str | None:
        first = reference.split("/", 1)[0]
        if "/" in reference and ("." in first or ":" in first or first == "localhost"):
            return None  # names a registry
        bare = reference.split("@", 1)[0]
        found = flat_names.get(bare.translate(_SEPARATORS).lower())
        if found is not None:
            return found
        # qemu 5.1's qemu/debian10 in a set that names the image debian10: the last path element, without its tag
        last = bare.rsplit("/", 1)[-1].split(":", 1)[0]
        return last if "/" in bare and last in names else None

    return find


_SEPARATORS = str.maketrans("", "", ":/_.-")  # what an old name may have in place of another
