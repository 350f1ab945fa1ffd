"""Metadata-only tag operations of the pipeline commands: stamp a pipeline or publish tag, assemble an index.

Each works by manifests alone: no blob is read or written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ci_tags.core.arches import oci_platform
from ci_tags.core.manifest import (
    ANNOTATION_CREATED,
    OCI_INDEX,
    Descriptor,
    Manifest,
    is_placeholder,
    sha256_digest,
    stamped_index,
)
from ci_tags.core.times import now_rfc3339
from ci_tags.errors import NotFound
from ci_tags.oci.auth import scope
from ci_tags.oci.client import Registry


def fetch(registry: Registry, repository: str, tag: str) -> Manifest | None:
    """The manifest under ``tag``, or None when the tag does not exist (one GET either way). A tag on an untag
    placeholder (a removal in flight or interrupted) holds no image: None as well."""
    try:
        manifest = registry.get_manifest(repository, tag, [scope(repository, "pull", "push")])
    except NotFound:
        return None
    return None if is_placeholder(manifest) else manifest


def stamp(
    registry: Registry,
    repository: str,
    target: Manifest | Descriptor,
    tag: str,
    annotations: Mapping[str, str],
    arch: str | None = None,
) -> Manifest:
    """Put a stamped index pointing at ``target`` under ``tag``; return it. One PUT; NotFound when the registry
    no longer holds ``target`` (it checks the manifests an index names as it stores it)."""
    index = stamped_index(
        target, oci_platform(arch) if arch else None, {ANNOTATION_CREATED: now_rfc3339(), **annotations}
    )
    registry.put_manifest(repository, tag, index, [scope(repository, "pull", "push")])
    return index


def assemble(registry: Registry, repository: str, parts: Sequence[tuple[str, Manifest]], tag: str) -> Manifest:
    """Put a multi-arch OCI index of the per-arch manifests ``(arch, manifest)`` under ``tag``. One PUT."""
    entries: list[dict[str, Any]] = [
        {"mediaType": m.media_type, "digest": m.digest, "size": m.size, "platform": oci_platform(arch)}
        for arch, m in parts
    ]
    body = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
    data = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    index = Manifest(data, OCI_INDEX, sha256_digest(data))
    registry.put_manifest(repository, tag, index, [scope(repository, "pull", "push")])
    return index
