"""The image set's data: the keys ``ci-tags.yml`` accepts and the frozen dataclasses it is loaded into
(:mod:`ci_tags.project.config` reads the file into them)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ci_tags.core.reference import validate_tag
from ci_tags.errors import BadInput

TOP_KEYS = ("registry", "images", "tags", "publish", "publish_branch_slug", "runners", "default_branch", "keep",
            "max_age", "cache", "expire_pipeline_tags")
IMAGE_KEYS = ("dockerfile", "context", "arches", "build_args", "target", "aliases", "manifesto", "runners", "cache")
CACHE_MODES = ("none", "registry")
CACHE_REPOSITORY = "cache"  # the layer cache of image <name> is the repository <registry>/<name>/cache
EVERY_ARCH = "*"  # ImageSpec.runners key of a plain list: tags added to every arch's runner tags
TAG_KEYS = ("content", "pipeline")


@dataclass(frozen=True)
class TagTemplates:
    content: str = "hash-{hash}"
    pipeline: str = "pipeline-{pipeline_id}"

    def content_tag(self, hash_hex: str, arch: str | None = None) -> str:
        """The content tag; a per-arch image of a multi-arch set gets ``-<arch>`` appended."""
        tag = self.content.replace("{hash}", hash_hex)
        return f"{tag}-{arch}" if arch else tag

    def pipeline_tag(self, pipeline_id: str) -> str:
        return validate_tag(self.pipeline.replace("{pipeline_id}", pipeline_id))


@dataclass(frozen=True)
class ImageSpec:
    name: str
    dockerfile: Path
    context: Path
    arches: tuple[str, ...] = ("amd64",)
    build_args: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    aliases: tuple[str, ...] = ()  # other names FROM lines use for this image (``qemu:debian10``)
    manifesto: str | None = None  # a command run in the built image; its output's sha256 becomes a label
    # runner tags of this image's build jobs: per arch (replacing the set's ``runners:`` for that arch), or
    # under EVERY_ARCH (added to each arch's), e.g. a big-memory runner for one heavy image
    runners: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    cache: bool = False  # ``cache: registry``: builds reuse and push layers through <repository>/cache

    @property
    def multi_arch(self) -> bool:
        return len(self.arches) > 1


@dataclass(frozen=True)
class Config:
    path: Path
    root: Path
    registry: str
    images: Mapping[str, ImageSpec]
    tags: TagTemplates = TagTemplates()
    publish: tuple[str, ...] = ("latest",)
    publish_branch_slug: bool = False
    runners: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    default_branch: str | None = None
    keep: tuple[str, ...] = ()
    max_age: str = "7d"
    # loaded with need_registry=False and registry: names an unset variable: why there is no registry (then "")
    registry_unset: str | None = None
    # plan, build and manifest have the service remove each pipeline tag after max_age (Quay's tag expiry)
    expire_pipeline_tags: bool = False

    def repository(self, image: str) -> str:
        if self.registry_unset:
            raise BadInput(self.registry_unset)
        return f"{self.registry}/{image}"

    def cache_repository(self, image: str) -> str | None:
        """Where ``image``'s builds keep their layer cache, or None without ``cache: registry``."""
        return f"{self.repository(image)}/{CACHE_REPOSITORY}" if self.images[image].cache else None

    def runner_tags(self, image: str, arch: str) -> tuple[str, ...]:
        """The runner tags of ``image``'s build for ``arch``: the image's own for that arch, else the set's
        for the arch plus the image's for every arch."""
        own = self.images[image].runners if image in self.images else {}
        if arch in own:
            return own[arch]
        return (*self.runners.get(arch, ()), *own.get(EVERY_ARCH, ()))

    def image(self, name: str) -> ImageSpec:
        if name not in self.images:
            close = difflib.get_close_matches(name, list(self.images), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(self.images) or 'none'}"
            raise BadInput(f"unknown image {name!r} in {self.path}", hint=hint)
        return self.images[name]
