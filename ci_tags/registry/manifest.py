"""Manifest media types and the pure facts ci-tags reads from a manifest's bytes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from ci_tags.errors import RegistryError

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"

IMAGE_TYPES = (DOCKER_MANIFEST, OCI_MANIFEST)
INDEX_TYPES = (DOCKER_MANIFEST_LIST, OCI_INDEX)
ALL_TYPES = (*INDEX_TYPES, *IMAGE_TYPES)
ACCEPT = ", ".join(ALL_TYPES)

EMPTY_JSON = b"{}"


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: dict[str, Any] | None = None


@dataclass(frozen=True)
class Manifest:
    """A manifest exactly as the registry served it: the bytes are what gets copied, never re-serialised."""

    data: bytes
    media_type: str
    digest: str

    @classmethod
    def from_bytes(cls, data: bytes, media_type: str | None = None) -> Manifest:
        parsed = _parse(data)
        declared = parsed.get("mediaType")
        if not media_type or media_type in ("application/json", "application/octet-stream"):
            media_type = declared or (OCI_INDEX if "manifests" in parsed else OCI_MANIFEST)
        return cls(data, media_type, sha256_digest(data))

    @property
    def json(self) -> dict[str, Any]:
        return _parse(self.data)

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES

    @property
    def children(self) -> list[Descriptor]:
        """An index's child manifests (empty for an image manifest)."""
        if not self.is_index:
            return []
        return [_descriptor(d) for d in self.json.get("manifests") or []]

    @property
    def config(self) -> Descriptor | None:
        cfg = self.json.get("config")
        return _descriptor(cfg) if cfg and not self.is_index else None

    @property
    def blobs(self) -> list[Descriptor]:
        """An image manifest's config and layers, in order (empty for an index)."""
        if self.is_index:
            return []
        found = [self.config] if self.config else []
        return [d for d in found if d] + [_descriptor(d) for d in self.json.get("layers") or []]

    @property
    def size(self) -> int:
        return len(self.data)


def _parse(data: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise RegistryError("the registry served a manifest that is not JSON") from None
    if not isinstance(parsed, dict):
        raise RegistryError("the registry served a manifest that is not a JSON object")
    return parsed


def _descriptor(raw: Any) -> Descriptor:
    if not isinstance(raw, dict) or "digest" not in raw:
        raise RegistryError("the registry served a manifest with a malformed descriptor")
    return Descriptor(raw.get("mediaType", ""), raw["digest"], int(raw.get("size", 0)), raw.get("platform"))


def platform_name(platform: dict[str, Any] | None) -> str:
    if not platform:
        return "unknown"
    name = f"{platform.get('os', '?')}/{platform.get('architecture', '?')}"
    return f"{name}/{platform['variant']}" if platform.get("variant") else name


def throwaway_manifest(nonce: str) -> bytes:
    """A unique, tiny OCI image manifest: pushed over a tag and then deleted by digest to remove the tag alone."""
    body = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_EMPTY, "digest": sha256_digest(EMPTY_JSON), "size": len(EMPTY_JSON)},
        "layers": [],
        "annotations": {"org.opencontainers.image.description": "ci-tags untag placeholder", "ci-tags.nonce": nonce},
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
