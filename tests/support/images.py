"""Synthetic images made by the tests and pushed through the client: no network beyond loopback."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from ci_tags.core.manifest import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    Manifest,
    sha256_digest,
)
from ci_tags.oci.auth import scope
from ci_tags.oci.client import Registry

LAYER_TYPES = {
    OCI_MANIFEST: "application/vnd.oci.image.layer.v1.tar+gzip",
    DOCKER_MANIFEST: "application/vnd.docker.image.rootfs.diff.tar.gzip",
}
CONFIG_TYPES = {
    OCI_MANIFEST: "application/vnd.oci.image.config.v1+json",
    DOCKER_MANIFEST: "application/vnd.docker.container.image.v1+json",
}
INDEX_FOR = {OCI_MANIFEST: OCI_INDEX, DOCKER_MANIFEST: DOCKER_MANIFEST_LIST}
T = TypeVar("T")
R = TypeVar("R")


def in_parallel(make: Callable[[T], R], items: Iterable[T], workers: int = 8) -> list[R]:
    """``[make(item) for item in items]``, by ``workers`` threads at once: for a test's set-up of many independent
    tags or repositories, which one after another take seconds of the suite."""
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(make, items))


@dataclass
class PushedImage:
    manifest: Manifest
    layer_digests: list[str]
    config_digest: str


def push_blob(registry: Registry, repository: str, data: bytes) -> str:
    digest = sha256_digest(data)
    scopes = [scope(repository, "pull", "push")]
    if not registry.blob_exists(repository, digest, scopes):
        location = registry.start_upload(repository, scopes)
        registry.finish_upload(location, digest, data, len(data), scopes)
    return digest


def push_image(
    registry: Registry,
    repository: str,
    tag: str | None,
    *,
    media_type: str = OCI_MANIFEST,
    layers: int = 1,
    layer_size: int = 1024,
    arch: str = "amd64",
    created: str = "2026-01-01T00:00:00Z",
    labels: dict[str, str] | None = None,
) -> PushedImage:
    """Push an image of random layers; ``tag=None`` pushes it by digest only (an index child)."""
    layer_digests = [push_blob(registry, repository, os.urandom(layer_size)) for _ in range(layers)]
    config = {
        "architecture": arch,
        "os": "linux",
        "created": created,
        "config": {"Labels": labels or {}},
        "rootfs": {"type": "layers", "diff_ids": layer_digests},
    }
    config_bytes = json.dumps(config).encode()
    config_digest = push_blob(registry, repository, config_bytes)
    body = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {"mediaType": CONFIG_TYPES[media_type], "digest": config_digest, "size": len(config_bytes)},
        "layers": [
            {"mediaType": LAYER_TYPES[media_type], "digest": d, "size": layer_size} for d in layer_digests
        ],
    }
    data = json.dumps(body, indent=3).encode()
    manifest = Manifest(data, media_type, sha256_digest(data))
    registry.put_manifest(repository, tag or manifest.digest, manifest)
    return PushedImage(manifest, layer_digests, config_digest)


def push_index(
    registry: Registry,
    repository: str,
    tag: str,
    *,
    media_type: str = OCI_MANIFEST,
    arches: tuple[str, ...] = ("amd64", "arm64"),
    layers: int = 1,
) -> tuple[Manifest, list[PushedImage]]:
    children = [push_image(registry, repository, None, media_type=media_type, arch=a, layers=layers) for a in arches]
    index_type = INDEX_FOR[media_type]
    body = {
        "schemaVersion": 2,
        "mediaType": index_type,
        "manifests": [
            {
                "mediaType": media_type,
                "digest": c.manifest.digest,
                "size": c.manifest.size,
                "platform": {"os": "linux", "architecture": a},
            }
            for c, a in zip(children, arches, strict=True)
        ],
    }
    data = json.dumps(body, indent=3).encode()
    index = Manifest(data, index_type, sha256_digest(data))
    registry.put_manifest(repository, tag, index)
    return index, children
