"""Manifest media types and the pure facts ci-tags reads from a manifest's bytes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

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
    except RecursionError:
        raise RegistryError("the registry served a manifest nested too deeply to be one") from None
    if not isinstance(parsed, dict):
        raise RegistryError("the registry served a manifest that is not a JSON object")
    return parsed


def _descriptor(raw: Any) -> Descriptor:
    if not isinstance(raw, dict) or not isinstance(raw.get("digest"), str):
        raise RegistryError("the registry served a manifest with a malformed descriptor")
    size = raw.get("size", 0)
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise RegistryError(f"the registry served a manifest with a malformed size for {raw['digest']}")
    platform = raw.get("platform")
    return Descriptor(str(raw.get("mediaType") or ""), raw["digest"], size,
                      platform if isinstance(platform, dict) else None)


def throwaway_manifest(nonce: str) -> bytes:
    """A unique, tiny OCI image manifest: pushed over a tag and then deleted by digest to remove the tag alone.
    Padded to exactly PLACEHOLDER_SIZE bytes, so a HEAD (no body) tells that a tag may stand on one."""
    body: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_EMPTY, "digest": sha256_digest(EMPTY_JSON), "size": len(EMPTY_JSON)},
        "layers": [],
        "annotations": {
            "org.opencontainers.image.description": "ci-tags untag placeholder",
            ANNOTATION_PLACEHOLDER: nonce,
            "dev.ci-tags.padding": "",
        },
    }
    pad = PLACEHOLDER_SIZE - len(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    if pad < 0:
        raise ValueError("placeholder nonce too long")
    body["annotations"]["dev.ci-tags.padding"] = "-" * pad
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


PLACEHOLDER_SIZE = 640  # every placeholder ci-tags writes has exactly this size
LEGACY_PLACEHOLDER_SIZE = 373  # ci-tags 0.1's placeholders (a 32-hex nonce under "ci-tags.nonce")


def may_be_placeholder(descriptor: Descriptor) -> bool:
    """Whether a HEAD's descriptor could be an untag placeholder (then read the body: ``is_placeholder``)."""
    return descriptor.media_type == OCI_MANIFEST and descriptor.size in (PLACEHOLDER_SIZE, LEGACY_PLACEHOLDER_SIZE)


# The placeholder's own annotation; "ci-tags.nonce" is what ci-tags 0.1 wrote on its placeholders.
ANNOTATION_PLACEHOLDER = "dev.ci-tags.placeholder"
_PLACEHOLDER_KEYS = (ANNOTATION_PLACEHOLDER, "ci-tags.nonce")


def is_placeholder(manifest: Manifest) -> bool:
    """Whether this is an untag placeholder (a removal in flight or interrupted): never an image to use."""
    if manifest.media_type != OCI_MANIFEST or len(manifest.data) > 4096:
        return False
    annotations = manifest.json.get("annotations")
    return isinstance(annotations, dict) and any(k in annotations for k in _PLACEHOLDER_KEYS)


# Annotations ci-tags writes on the small indexes it makes for pipeline and publish tags.
ANNOTATION_CREATED = "org.opencontainers.image.created"
ANNOTATION_REVISION = "org.opencontainers.image.revision"
ANNOTATION_SOURCE = "org.opencontainers.image.source"
ANNOTATION_KIND = "dev.ci-tags.kind"  # a StampKind
ANNOTATION_PIPELINE = "dev.ci-tags.pipeline"
ANNOTATION_CONTENT_TAG = "dev.ci-tags.content-tag"
ANNOTATION_TARGET = "dev.ci-tags.target"  # digest of the image or index the tag stands for
ANNOTATION_PUBLISH_TAGS = "dev.ci-tags.publish-tags"  # on a publish intent: the publish tags it wants to move
# What a stamp's tag is: a pipeline tag, a publish tag, or a publisher's recorded intent (ci_tags/core/publishing.py)
StampKind = Literal["pipeline", "publish", "intent"]

# Labels ci-tags' builds put on images, besides the OCI ones above (created, revision, source, and the pipeline)
LABEL_CONTENT_HASH = "dev.ci-tags.content-hash"
LABEL_MANIFESTO = "dev.ci-tags.manifesto"  # sha256 of the manifesto command's output
LABEL_MANIFESTO_TEXT = "dev.ci-tags.manifesto-text"


def stamped_index(target: Manifest | Descriptor, platform: dict[str, Any] | None,
                  annotations: dict[str, str]) -> Manifest:
    """A tiny OCI index that points at ``target`` and carries ``annotations`` (when and by whom it was tagged).

    Metadata only: no blob is written. For an image, the index has one entry with its platform; for an index,
    the same entries as the original. The index has its own digest, so removing the tag it sits on can never
    touch the content tag whose image it points at, and its creation annotation dates the tag itself, which
    registries do not record. An image needs only its descriptor (from a HEAD); an index needs its body.
    """
    if isinstance(target, Descriptor) and target.media_type in INDEX_TYPES:
        raise ValueError("stamping an index needs its manifest, not only its descriptor")
    if isinstance(target, Manifest) and target.is_index:
        entries = target.json.get("manifests") or []
    else:
        entry: dict[str, Any] = {"mediaType": target.media_type, "digest": target.digest, "size": target.size}
        if platform:
            entry["platform"] = platform
        entries = [entry]
    # A stamp of a stamp (publish from a pipeline tag) still names the image itself as its target.
    stamp = stamp_of(target) if isinstance(target, Manifest) else None
    target_digest = (stamp or {}).get(ANNOTATION_TARGET, target.digest)
    body = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": entries,
        "annotations": {**annotations, ANNOTATION_TARGET: target_digest},
    }
    data = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    return Manifest(data, OCI_INDEX, sha256_digest(data))


def stamp_of(manifest: Manifest) -> dict[str, str] | None:
    """The annotations of an index ci-tags made, or None for any other manifest."""
    if manifest.media_type != OCI_INDEX:
        return None
    annotations = manifest.json.get("annotations") or {}
    if not isinstance(annotations, dict) or ANNOTATION_KIND not in annotations:
        return None
    return {str(k): str(v) for k, v in annotations.items()}
