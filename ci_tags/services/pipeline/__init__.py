"""The pipeline's work: content tags (hashing), the early job (planning, with survey), one build (building) and a
multi-arch index (manifests). Each service does the registry, builder and file I/O, calls core's rules and returns
a result for the output to show; none prints, nor words what it tells as it goes: that goes through a
:class:`Report` as events (the output's PipelineLive words them)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from ci_tags.core.manifest import (
    ANNOTATION_CONTENT_TAG,
    ANNOTATION_KIND,
    ANNOTATION_PIPELINE,
    ANNOTATION_REVISION,
    StampKind,
)

if TYPE_CHECKING:
    from ci_tags.errors import CiTagsError
    from ci_tags.oci.registries import Registries

# --pin-base: an external image reference -> the digest its registry serves now
Pin = Callable[[str], str]
PIN_BASE_HELP = "hash external FROM images by their current digest"


class Report(Protocol):
    """What the pipeline's services tell as they work (the command passes the output's PipelineLive)."""

    def image_warning(self, warning: str) -> None:
        """A warning of the image set's rules about one image (ci_tags/project/imageset.py); the run goes on."""

    def local_registry(self, registry: str) -> None:
        """CI_REGISTRY_IMAGE is not set: repositories are shown under ``registry``."""

    def unreadable(self, image: str, error: CiTagsError) -> None:
        """The tags of ``image`` could not be read."""

    def reuse_vanished(self, image: str, content_tag: str) -> None:
        """The content tag being reused was removed meanwhile: the image is built after all."""

    def exists(self, target: str) -> None:
        """The content tag to build exists already: not built again."""

    def building(self, target: str, builder: str) -> None:
        """The build of ``target`` starts."""

    def builder_log(self, line: str) -> None:
        """A line of the builder's own log."""

    def pulled_removed(self, references: Sequence[str]) -> None:
        """The images a build pulled were removed from local storage afterwards."""


def pinner(registries: Callable[[], Registries]) -> Pin:
    """``--pin-base``: an external reference -> the digest its registry serves now (asked once per reference).
    ``registries`` is called on the first question: hashing without an external FROM needs no connection."""
    from ci_tags.core.reference import parse_reference
    from ci_tags.errors import NotFound

    cache: dict[str, str] = {}

    def pin(text: str) -> str:
        if text not in cache:
            ref = parse_reference(text)
            digest = ref.digest or registries().get(ref.api_host).head_manifest(ref.repository, ref.identifier)
            if digest is None:
                raise NotFound(f"base image {text} not found")
            cache[text] = digest
        return cache[text]

    return pin


def stamp_annotations(pipeline_id: str, commit: str | None, content_tag: str, kind: StampKind) -> dict[str, str]:
    """The annotations of a pipeline tag's stamp: what made it, from which content tag and commit."""
    notes = {ANNOTATION_KIND: kind, ANNOTATION_PIPELINE: pipeline_id, ANNOTATION_CONTENT_TAG: content_tag}
    if commit:
        notes[ANNOTATION_REVISION] = commit
    return notes
