"""The image set of a checkout, resolved: for each image of ci-tags.yml, its parents in the set, its content
hash and content tag per architecture, in build order (parents first)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from ci_tags.core.dockerfile import BaseInfo
from ci_tags.errors import BadInput
from ci_tags.project.config import Config, ImageSpec
from ci_tags.project.hashing import (
    ReadDockerfile,
    content_hash,
    old_name_finder,
    order_images,
    parent_of,
    read_and_parse,
)


@dataclass(frozen=True)
class ArchImage:
    arch: str
    hash: str
    content_tag: str  # per-arch tag (the image's own tag when single-arch)
    files: int
    bytes: int


@dataclass(frozen=True)
class ResolvedImage:
    spec: ImageSpec
    repository: str  # registry/path/name
    content_tag: str  # the tag the pipeline tag stands for: the image, or the multi-arch index
    arches: tuple[ArchImage, ...]
    parents: tuple[str, ...]
    bases: dict[str, str]  # FROM reference as written -> parent image name (for build)
    warnings: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.spec.name

    def arch(self, arch: str) -> ArchImage:
        for a in self.arches:
            if a.arch == arch:
                return a
        raise BadInput(f"image {self.name} is not built for {arch}", hint=f"its arches: {', '.join(self.spec.arches)}")


def resolve(
    config: Config,
    wanted: Iterable[str] | None = None,
    pin: Callable[[str], str] | None = None,
) -> list[ResolvedImage]:
    """Hash the images (all, or ``wanted`` and the parents they need), parents first.

    ``pin`` maps an external image reference to the digest to hash instead of its text (``--pin-base``)."""
    return list(resolve_each(config, wanted, pin))


def resolve_each(
    config: Config,
    wanted: Iterable[str] | None = None,
    pin: Callable[[str], str] | None = None,
) -> Iterator[ResolvedImage]:
    """:func:`resolve`, each image given as soon as it is hashed (plan reads its tags meanwhile)."""
    names = set(config.images)
    aliases = {alias: name for name, spec in config.images.items() for alias in spec.aliases}
    reads = {name: _read(config, spec) for name, spec in config.images.items()}
    externals = {name: _from_images(read) for name, read in reads.items()}
    parents = {name: list(dict.fromkeys(p for p in (parent_of(r, names, config.registry, aliases) for r in refs) if p))
               for name, refs in externals.items()}
    order = order_images(parents)
    if wanted is not None:
        needed = _with_parents(config, wanted, parents)
        order = [n for n in order if n in needed]
    resolved: dict[str, ResolvedImage] = {}
    infos: dict[tuple[str, str], BaseInfo] = {}  # what a child of the set sees of its parent: ENV, ONBUILD
    old_name = old_name_finder(names)
    for name in order:
        base_of = {r: parent_of(r, names, config.registry, aliases) for r in externals[name]}
        # no base of the set: nothing can change the first parse, which the hash then takes as it is
        first = reads[name] if not any(base_of.values()) else {}
        resolved[name] = _resolve_image(config, config.images[name], base_of, resolved, infos, pin, first,
                                        old_name)
        yield resolved[name]


def _read(config: Config, spec: ImageSpec) -> dict[str, ReadDockerfile]:
    """The image's Dockerfile, read once and parsed for each of its arches (a FROM may name ${TARGETARCH})."""
    where = _where(config, spec)
    return {arch: read_and_parse(spec.dockerfile, spec.build_args, where, arch=arch, target=spec.target)
            for arch in spec.arches}


def _where(config: Config, spec: ImageSpec) -> str:
    return str(spec.dockerfile.relative_to(config.root))


def _from_images(reads: Mapping[str, ReadDockerfile]) -> list[str]:
    """Every image the Dockerfile's FROM lines name, over all the image's arches."""
    refs: list[str] = []
    for read in reads.values():
        refs += [r for r in read.parsed.external_images() if r not in refs]
    return refs


def _with_parents(config: Config, wanted: Iterable[str], parents: Mapping[str, list[str]]) -> set[str]:
    for name in wanted:
        config.image(name)  # unknown names are bad input
    needed: set[str] = set()
    stack = list(wanted)
    while stack:
        n = stack.pop()
        if n not in needed:
            needed.add(n)
            stack += parents[n]
    return needed


def _resolve_image(
    config: Config,
    spec: ImageSpec,
    base_of: Mapping[str, str | None],
    resolved: Mapping[str, ResolvedImage],
    infos: dict[tuple[str, str], BaseInfo],
    pin: Callable[[str], str] | None,
    first: Mapping[str, ReadDockerfile],
    old_name: Callable[[str], str | None],
) -> ResolvedImage:
    """One image, its parents in ``resolved`` already; adds what its children see of it to ``infos``. ``first``:
    the Dockerfile as read for each arch, when the hash may take it as it is."""
    for parent in base_of.values():
        if parent and not set(spec.arches) <= set(config.images[parent].arches):
            raise BadInput(
                f"image {spec.name} builds for {', '.join(spec.arches)} FROM {parent}, "
                f"which is built only for {', '.join(config.images[parent].arches)}",
                hint=f"add the missing arches to {parent} in {config.path}",
            )
    where = _where(config, spec)
    warnings: list[str] = []
    for ref, p in base_of.items():
        old = None if p else old_name(ref)
        if old:
            warnings.append(f"{where}: FROM {ref} looks like a local image, perhaps an older name of {old}; "
                            f"if it is, list it under images.{old}.aliases in {config.path.name}")
    arch_images = []
    for arch in spec.arches:
        bases = {
            ref: (f"content:{resolved[p].arch(arch).hash}" if p else (pin(ref) if pin else ref))
            for ref, p in base_of.items()
        }

        def base_info(ref: str, arch: str = arch) -> BaseInfo:
            parent = base_of.get(ref)
            return BaseInfo() if parent is None else infos[(parent, arch)]

        result = content_hash(
            spec.dockerfile, spec.context, arch=arch, build_args=spec.build_args, target=spec.target,
            bases=bases, where=where, base_info=base_info, read=first.get(arch),
        )
        parsed = result.dockerfile
        if parsed is not None:
            infos[(spec.name, arch)] = BaseInfo(parsed.env, parsed.onbuild, parsed.env_uncertain,
                                                parsed.env_complete)
        warnings += [w for w in result.warnings if w not in warnings]
        tag = config.tags.content_tag(result.hex, arch if spec.multi_arch else None)
        arch_images.append(ArchImage(arch, result.hex, tag, result.files, result.bytes))
    # no registry (a run naming full repositories, $CI_REGISTRY_IMAGE unset): hashes need none
    repository = "" if config.registry_unset else config.repository(spec.name)
    return ResolvedImage(
        spec, repository, _content_tag(config, spec, arch_images), tuple(arch_images),
        tuple(dict.fromkeys(p for p in base_of.values() if p)),
        {r: p for r, p in base_of.items() if p}, tuple(warnings),
    )


def _content_tag(config: Config, spec: ImageSpec, arch_images: list[ArchImage]) -> str:
    """The tag the pipeline tag stands for: a multi-arch index's (a hash of its arches' hashes), or the image's."""
    if not spec.multi_arch:
        return arch_images[0].content_tag
    from hashlib import sha256

    index_hex = sha256("\n".join(f"{a.arch}={a.hash}" for a in arch_images).encode()).hexdigest()
    return config.tags.content_tag(index_hex)
