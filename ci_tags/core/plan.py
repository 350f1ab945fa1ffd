"""Pure decisions of the early job: which image x arch to reuse, build, or assemble, and in what order.

Input: for each image of the set, its content tags (one per arch, plus the index tag of a multi-arch image)
and which of them the registry already has. Output: a plan that the commands carry out and that the emitters
turn into a GitLab child pipeline, a dotenv file and a Jenkins build matrix.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, Literal

Action = Literal["reuse", "build", "assemble"]
REUSE: Final = "reuse"  # content tag present: the pipeline tag is a metadata-only copy
BUILD: Final = "build"  # content tag absent: build and push
ASSEMBLE: Final = "assemble"  # multi-arch: every arch present, the index is not: plan assembles it by metadata


@dataclass(frozen=True)
class ArchTarget:
    arch: str
    content_tag: str  # the per-arch content tag (equal to the image's tag for a single-arch image)
    present: bool


@dataclass(frozen=True)
class ImageState:
    """What the planner knows of one image: its tags and which exist in the registry."""

    name: str  # as in ci-tags.yml, e.g. qemu/debian
    repository: str  # registry/path/name
    content_tag: str  # what the pipeline tag stands for: the image, or the multi-arch index
    content_present: bool
    pipeline_tag: str
    arches: tuple[ArchTarget, ...]
    parents: tuple[str, ...] = ()  # names of images of the set this one builds FROM

    @property
    def multi_arch(self) -> bool:
        return len(self.arches) > 1


@dataclass(frozen=True)
class ImagePlan:
    state: ImageState
    action: Action
    builds: tuple[str, ...] = ()  # arches to build

    @property
    def name(self) -> str:
        return self.state.name

    @property
    def needs_manifest_job(self) -> bool:
        return self.state.multi_arch and self.action == BUILD

    @property
    def pipeline_reference(self) -> str:
        return f"{self.state.repository}:{self.state.pipeline_tag}"


@dataclass(frozen=True)
class Plan:
    images: tuple[ImagePlan, ...] = field(default_factory=tuple)

    @property
    def nothing_to_build(self) -> bool:
        return not any(p.action == BUILD for p in self.images)

    def by_name(self) -> dict[str, ImagePlan]:
        return {p.name: p for p in self.images}


def decide(states: Iterable[ImageState]) -> Plan:
    """One decision per image, in the order given (parents before children)."""
    plans = []
    for state in states:
        if state.content_present:
            plans.append(ImagePlan(state, REUSE))
            continue
        missing = tuple(t.arch for t in state.arches if not t.present)
        plans.append(ImagePlan(state, BUILD if missing else ASSEMBLE, missing))
    return Plan(tuple(plans))
