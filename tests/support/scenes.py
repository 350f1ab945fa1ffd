"""Registry states for the race and fault tests (and bench/chaos.py), built directly on the real registry, and the
checks of what the registry truly holds afterwards (read directly, never through the proxy under test)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ci_tags.core.manifest import (
    ANNOTATION_CREATED,
    ANNOTATION_KIND,
    ANNOTATION_PIPELINE,
    Manifest,
    stamp_of,
    stamped_index,
)
from ci_tags.oci.client import Registry
from tests.support.images import push_image


def ago(days: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def stamp_at(reg: Registry, repo: str, target: Manifest, tag: str, days_ago: float, pipeline: str,
             kind: str = "pipeline") -> Manifest:
    """A ci-tags stamp made ``days_ago`` (the stamp is data: the clock moves by writing past times)."""
    index = stamped_index(target, {"os": "linux", "architecture": "amd64"},
                          {ANNOTATION_CREATED: ago(days_ago), ANNOTATION_KIND: kind, ANNOTATION_PIPELINE: pipeline})
    reg.put_manifest(repo, tag, index)
    return index


def is_placeholder(manifest: Manifest) -> bool:
    """An untag placeholder, by its annotations (written out here, so the check runs against any version)."""
    notes = manifest.json.get("annotations") or {}
    return "dev.ci-tags.placeholder" in notes or "ci-tags.nonce" in notes


def state(reg: Registry, repo: str) -> dict[str, str]:
    """tag -> digest, read directly; a tag on an untag placeholder shows as 'placeholder'."""
    found = {}
    for tag in reg.tags(repo):
        digest = reg.head_manifest(repo, tag)
        if digest is None:
            continue
        found[tag] = "placeholder" if is_placeholder(reg.get_manifest(repo, tag)) else digest
    return found


def target_of(reg: Registry, repo: str, tag: str) -> str | None:
    """The image digest a stamped tag stands for (or the tag's own digest), None when absent."""
    digest = reg.head_manifest(repo, tag)
    if digest is None:
        return None
    manifest = reg.get_manifest(repo, tag)
    return (stamp_of(manifest) or {}).get("dev.ci-tags.target", manifest.digest)


@dataclass
class JanitorScene:
    """Expired tags to remove, and kept tags, one of which (latest) shares its image with an expired one."""

    repo: str
    remove: set[str]
    keep: dict[str, str]  # tag -> digest it must keep
    images: dict[str, Manifest] = field(default_factory=dict)


def janitor_scene(reg: Registry, repo: str) -> JanitorScene:
    old = push_image(reg, repo, "hash-" + "a" * 64, created=ago(40)).manifest
    other = push_image(reg, repo, "v1.0.0").manifest
    # a kept tag that shares the expired content tag's image (not a publish tag: that would keep it in use)
    reg.put_manifest(repo, "v0.9", old)
    stamp_at(reg, repo, other, "pipeline-1", 20, "1")
    young = stamp_at(reg, repo, other, "pipeline-9", 0.1, "9")
    fresh = push_image(reg, repo, None).manifest
    rebuilt = push_image(reg, repo, None, created=ago(0)).manifest  # for a build re-making the content tag
    return JanitorScene(repo, {"hash-" + "a" * 64, "pipeline-1"},
                        {"v0.9": old.digest, "v1.0.0": other.digest, "pipeline-9": young.digest},
                        {"old": old, "other": other, "fresh": fresh, "rebuilt": rebuilt})


def one_image_config(root: Path, registry: str, name: str) -> Path:
    """A ci-tags.yml with one image ``app`` under ``registry`` (host/prefix); returns its path."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "Dockerfile").write_text("FROM scratch\nCOPY a.txt /a.txt\n")
    (root / "a.txt").write_text("a\n")
    path = root / name
    path.write_text(f"registry: {registry}\nimages:\n  app:\n    dockerfile: Dockerfile\npublish: [latest]\n")
    return path


class AtRequest:
    """A proxy hook running ``action`` once, when the ``k``-th request (0-based) arrives, before it is forwarded."""

    def __init__(self, k: int, action: Callable[[], object], only: Callable[[str, str], bool] | None = None) -> None:
        self.k, self.action, self.only = k, action, only
        self.count = 0
        self.fired = False
        self.fired_on: tuple[str, str] | None = None  # the request it ran before
        self._lock = threading.Lock()

    def __call__(self, method: str, path: str) -> None:
        if self.only is not None and not self.only(method, path):
            return
        with self._lock:
            fire = self.count == self.k and not self.fired
            self.count += 1
            if fire:
                self.fired = True
                self.fired_on = (method, path)
        if fire:
            self.action()
