"""The pipeline's work: content tags (hashing), the early job (planning, with survey), one build (building) and a
multi-arch index (manifests). Each service does the registry, builder and file I/O, calls core's rules and returns
a result for the output to show; none prints: what it tells as it goes goes through a :class:`Report`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ci_tags.core.manifest import (
    ANNOTATION_CONTENT_TAG,
    ANNOTATION_KIND,
    ANNOTATION_PIPELINE,
    ANNOTATION_REVISION,
    StampKind,
)

if TYPE_CHECKING:
    from ci_tags.oci.client import Registries

# --pin-base: an external image reference -> the digest its registry serves now
Pin = Callable[[str], str]


def _ignore(text: str) -> None:
    return None


@dataclass(frozen=True)
class Report:
    """Where a service's notes go as it works; the command wires them to the output."""

    warn: Callable[[str], None] = _ignore  # something the user should look at; the run goes on
    info: Callable[[str], None] = _ignore  # progress for humans
    log: Callable[[str], None] = _ignore  # a line of the builder's own log


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
