"""Move a repository back in time by data, never by sleeping: every image config's ``created`` and every ci-tags
stamp's creation time is moved back, the manifests are rewritten (so their digests change) and every index and
stamp is re-pointed at the rewritten images. What the janitor reads then says the tags are that much older."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from ci_tags.core.manifest import ANNOTATION_CREATED, ANNOTATION_TARGET, Manifest, sha256_digest, stamp_of
from ci_tags.core.times import parse_time
from ci_tags.oci.client import Registry
from tests.support.images import push_blob


def _earlier(text: str, days: float) -> str:
    when = parse_time(text)
    assert when is not None, text
    return (when - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _manifest(body: dict[str, Any], media_type: str) -> Manifest:
    data = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    return Manifest(data, media_type, sha256_digest(data))


def move_back(registry: Registry, repository: str, days: float) -> dict[str, str]:
    """Every tag of ``repository`` made ``days`` earlier; returns old digest -> new digest."""
    tagged = {t: registry.get_manifest(repository, t) for t in registry.tags(repository)}
    new: dict[str, Manifest] = {}
    for manifest in tagged.values():  # images first: their configs carry the build time
        if manifest.is_index or manifest.digest in new:
            continue
        body = manifest.json
        config = json.loads(registry.open_blob(repository, body["config"]["digest"]).content)
        if config.get("created"):
            config["created"] = _earlier(config["created"], days)
        data = json.dumps(config, separators=(",", ":")).encode()
        body["config"] = {**body["config"], "digest": push_blob(registry, repository, data), "size": len(data)}
        new[manifest.digest] = _manifest(body, manifest.media_type)
    for stamps in (False, True):  # multi-arch indexes, then the stamps that may point at them
        for manifest in tagged.values():
            if not manifest.is_index or (stamp_of(manifest) is not None) != stamps or manifest.digest in new:
                continue
            body = manifest.json
            for entry in body.get("manifests", []):
                if entry["digest"] in new:
                    entry["size"], entry["digest"] = new[entry["digest"]].size, new[entry["digest"]].digest
            notes = body.get("annotations") or {}
            if stamps:
                notes[ANNOTATION_CREATED] = _earlier(notes[ANNOTATION_CREATED], days)
                if notes.get(ANNOTATION_TARGET) in new:
                    notes[ANNOTATION_TARGET] = new[notes[ANNOTATION_TARGET]].digest
            new[manifest.digest] = _manifest(body, manifest.media_type)
    for manifest in {m.digest: m for m in new.values()}.values():  # images, then indexes, then stamps
        registry.put_manifest(repository, manifest.digest, manifest)
    for tag, manifest in tagged.items():
        registry.put_manifest(repository, tag, new[manifest.digest])
    return {old: m.digest for old, m in new.items()}
