"""Listing a repository's tags, optionally with the digest each resolves to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ci_tags.core.reference import Reference
from ci_tags.errors import CiTagsError, OperationFailed

if TYPE_CHECKING:
    from ci_tags.oci.registries import Registries


@dataclass(frozen=True)
class TagList:
    repository: Reference
    tags: tuple[str, ...]  # sorted
    digests: Mapping[str, str] | None = None  # None: not asked for
    errors: Mapping[str, CiTagsError] = field(default_factory=dict)  # tags whose digest could not be read

    @property
    def failure(self) -> CiTagsError | None:
        if not self.errors:
            return None
        return OperationFailed(f"{len(self.errors)} of {len(self.tags)} tags could not be resolved")

    def document(self) -> Mapping[str, Any]:
        # the same element shape with and without --digests: a script need not know which was asked
        digests = self.digests or {}
        return {"repository": self.repository.name, "tags": [{"tag": t, "digest": digests.get(t)} for t in self.tags]}


def list_tags(registries: Registries, ref: Reference, *, digests: bool, concurrency: int) -> TagList:
    from ci_tags.oci.resolve import resolve_tags

    registry = registries.get(ref.api_host)
    tags = tuple(sorted(registry.tags(ref.repository)))
    if not digests:
        return TagList(ref, tags)
    found, errors = resolve_tags(registry, ref.repository, tags, concurrency)
    return TagList(ref, tags, found, errors)
