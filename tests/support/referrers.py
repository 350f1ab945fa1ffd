"""Signatures and SBOMs made the way cosign and oras lay them out, pushed through the client: a cosign signature
manifest at ``sha256-<hex>.sig`` (a simplesigning payload layer with the signature in an annotation) and an OCI 1.1
referrer with a ``subject`` listed in the tag schema's index ``sha256-<hex>`` (as ``oras attach`` writes it on a
registry without the referrers API). The real tools are used where they are built (tests/test_graph_tools.py)."""

from __future__ import annotations

import json
import os

from ci_tags.core.graph import Referrer, referrers_tag
from ci_tags.core.manifest import EMPTY_JSON, OCI_EMPTY, OCI_MANIFEST, Manifest, sha256_digest
from ci_tags.oci.client import Registry
from ci_tags.oci.referrers import add_to_referrers_tag
from tests.support.images import push_blob

SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SPDX = "application/spdx+json"


def cosign_tag(digest: str, suffix: str) -> str:
    """cosign's tag of a subject's signatures (``.sig``), attestations (``.att``) or SBOMs (``.sbom``)."""
    return referrers_tag(digest) + suffix


def referrer_of(manifest: Manifest) -> Referrer:
    """A manifest's descriptor in a referrers list: its ``artifactType``, else (an image manifest) its config's
    media type; its annotations."""
    body = manifest.json
    artifact = body.get("artifactType")
    if not isinstance(artifact, str) or not artifact:
        config = body.get("config")
        artifact = str(config.get("mediaType") or "") if isinstance(config, dict) and not manifest.is_index else ""
    raw = body.get("annotations")
    annotations = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    return Referrer(manifest.digest, manifest.media_type, manifest.size, artifact, annotations)


def push_signature(registry: Registry, repository: str, subject: str, suffix: str = ".sig",
                   created: str | None = None) -> Manifest:
    """A cosign-style signature (``.sig``) or attestation (``.att``) of ``subject`` at its cosign tag; ``created``:
    an ``org.opencontainers.image.created`` annotation on it (cosign writes none)."""
    payload = json.dumps({"critical": {"image": {"docker-manifest-digest": subject}, "type": "cosign container image "
                          "signature"}, "optional": {"nonce": os.urandom(8).hex()}}).encode()
    layer = push_blob(registry, repository, payload)
    config = json.dumps({"architecture": "", "os": "", "rootfs": {"type": "layers", "diff_ids": [layer]}}).encode()
    config_digest = push_blob(registry, repository, config)
    body = {
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest,
                   "size": len(config)},
        "layers": [{"mediaType": SIMPLESIGNING, "digest": layer, "size": len(payload),
                    "annotations": {"dev.cosignproject.cosign/signature": os.urandom(16).hex()}}],
    }
    if created:
        body["annotations"] = {"org.opencontainers.image.created": created}
    data = json.dumps(body).encode()
    manifest = Manifest(data, OCI_MANIFEST, sha256_digest(data))
    registry.put_manifest(repository, cosign_tag(subject, suffix), manifest)
    return manifest


def referrer_manifest(registry: Registry, repository: str, subject: Manifest, artifact_type: str = SPDX) -> Manifest:
    """An OCI 1.1 artifact manifest about ``subject``, pushed by digest (not listed anywhere yet)."""
    content = json.dumps({"spdxVersion": "SPDX-2.3", "nonce": os.urandom(8).hex()}).encode()
    blob = push_blob(registry, repository, content)
    push_blob(registry, repository, EMPTY_JSON)
    body = {
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": artifact_type,
        "config": {"mediaType": OCI_EMPTY, "digest": sha256_digest(EMPTY_JSON), "size": len(EMPTY_JSON)},
        "layers": [{"mediaType": artifact_type, "digest": blob, "size": len(content)}],
        "subject": {"mediaType": subject.media_type, "digest": subject.digest, "size": subject.size},
        "annotations": {"org.opencontainers.image.created": "2026-01-01T00:00:00Z"},
    }
    data = json.dumps(body).encode()
    manifest = Manifest(data, OCI_MANIFEST, sha256_digest(data))
    registry.put_manifest(repository, manifest.digest, manifest)
    return manifest


def attach(registry: Registry, repository: str, subject: Manifest, artifact_type: str = SPDX) -> Manifest:
    """``oras attach`` on a registry without the referrers API: the referrer, then the tag schema's index."""
    manifest = referrer_manifest(registry, repository, subject, artifact_type)
    add_to_referrers_tag(registry, repository, subject.digest, [referrer_of(manifest)])
    return manifest


def entry(manifest: Manifest) -> Referrer:
    return referrer_of(manifest)
