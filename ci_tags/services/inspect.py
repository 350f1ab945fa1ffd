"""Inspecting an image: digest, media type, size, platforms, created time and labels, from manifests and config
blobs alone (no layer is read)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ci_tags.core.reference import Reference
from ci_tags.errors import CiTagsError

if TYPE_CHECKING:
    from ci_tags.core.manifest import Manifest
    from ci_tags.oci.client import Registry
    from ci_tags.oci.registries import Registries


@dataclass(frozen=True)
class ImageDetails:
    """One image manifest and what its config says."""

    digest: str
    media_type: str
    size: int  # the manifest and every blob it names
    layers: int
    created: str | None
    labels: Mapping[str, str]
    platform: str | None  # os/architecture[/variant] as the config says

    def document(self) -> dict[str, Any]:
        return {"digest": self.digest, "media_type": self.media_type, "size": self.size, "layers": self.layers,
                "created": self.created, "labels": dict(self.labels), "platform": self.platform}


@dataclass(frozen=True)
class Inspected:
    reference: Reference
    digest: str
    media_type: str
    size: int
    created: str | None
    image: ImageDetails | None  # a single image; None for an index
    platforms: tuple[ImageDetails, ...] = ()  # an index's images
    failure: CiTagsError | None = None

    def document(self) -> Mapping[str, Any]:
        doc: dict[str, Any] = {"reference": str(self.reference), "digest": self.digest, "media_type": self.media_type}
        if self.image is not None:
            return {**doc, **self.image.document()}
        return {**doc, "size": self.size, "created": self.created, "platforms": [p.document() for p in self.platforms]}


def _details(registry: Registry, repository: str, manifest: Manifest) -> ImageDetails:
    from ci_tags.oci.image import read_config

    cfg = read_config(registry, repository, manifest)
    return ImageDetails(
        digest=manifest.digest,
        media_type=manifest.media_type,
        size=manifest.size + sum(b.size for b in manifest.blobs),
        layers=len(manifest.blobs) - (1 if manifest.config else 0),
        created=cfg.created,
        labels=cfg.labels,
        platform="/".join(p for p in (cfg.os, cfg.architecture, cfg.variant) if p) or None,
    )


def inspect_image(registries: Registries, ref: Reference, *, concurrency: int) -> Inspected:
    from ci_tags.concurrency import run_all

    registry = registries.get(ref.api_host)
    manifest = registry.get_manifest(ref.repository, ref.identifier)
    if not manifest.is_index:
        image = _details(registry, ref.repository, manifest)
        return Inspected(ref, manifest.digest, manifest.media_type, image.size, image.created, image)
    children = manifest.children
    described = run_all(
        lambda c: _details(registry, ref.repository, registry.get_manifest(ref.repository, c.digest)),
        children, concurrency)
    for _, _, err in described:
        if err:
            raise err
    platforms = tuple(d for _, d, _ in described if d)
    return Inspected(ref, manifest.digest, manifest.media_type, manifest.size + sum(c.size for c in children),
                     max((p.created for p in platforms if p.created), default=None), None, platforms)
