"""Retag: one metadata-only copy of an image to another tag, repository or registry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ci_tags.core.reference import Reference
from ci_tags.errors import CiTagsError

if TYPE_CHECKING:
    from ci_tags.oci.copy import CopyResult
    from ci_tags.oci.registries import Registries


@dataclass(frozen=True)
class Retagged:
    source: Reference
    destination: Reference
    copied: CopyResult
    failure: CiTagsError | None = None

    def document(self) -> Mapping[str, Any]:
        copied = self.copied
        return {
            "source": str(self.source),
            "destination": str(self.destination),
            "digest": copied.digest,
            "media_type": copied.media_type,
            "mode": copied.mode,
            "blobs": {"mounted": copied.blobs_mounted, "streamed": copied.blobs_streamed,
                      "present": copied.blobs_present},
            "bytes_streamed": copied.bytes_streamed,
            "carried": copied.carried.document() if copied.carried is not None else None,
        }


def retag(registries: Registries, source: Reference, destination: Reference, *, concurrency: int,
          referrers: bool = True) -> Retagged:
    """Copy ``source`` to ``destination``; to another repository with the image's graph unless ``referrers``
    is False."""
    from ci_tags.oci.copy import copy_image  # here: ``ci-tags retag --help`` needs no HTTP client

    copied = copy_image(registries, source, destination, concurrency=concurrency, referrers=referrers)
    return Retagged(source, destination, copied)
