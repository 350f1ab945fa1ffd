"""Everything the janitor needs to know about one repository, fetched once: every tag's manifest (one GET per
tag, concurrently), the indexes that reference other manifests, and the image creation time per digest."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from ci_tags.concurrency import run_all
from ci_tags.core.manifest import ANNOTATION_CREATED, Manifest, stamp_of
from ci_tags.core.times import parse_time
from ci_tags.errors import CiTagsError, NotFound
from ci_tags.oci.auth import scope
from ci_tags.oci.client import Registry
from ci_tags.oci.image import read_config


@dataclass
class Inventory:
    repository: str
    manifests: dict[str, Manifest] = field(default_factory=dict)  # tag -> manifest
    errors: dict[str, CiTagsError] = field(default_factory=dict)  # tag -> why it could not be read
    created: dict[str, datetime | None] = field(default_factory=dict)  # image digest -> config 'created'
    config_errors: dict[str, str] = field(default_factory=dict)  # image digest -> why its config could not be read

    def referenced_by_index(self, keep: Iterable[str]) -> set[str]:
        """Digests that the indexes under the ``keep`` tags point at: never delete these by digest."""
        refs: set[str] = set()
        for tag in keep:
            m = self.manifests.get(tag)
            if m is not None and m.is_index:
                refs.update(child.digest for child in m.children)
        return refs

    def stamp_time(self, tag: str) -> datetime | None:
        """When ci-tags stamped this tag (pipeline and publish tags), from its index annotation."""
        m = self.manifests.get(tag)
        stamp = stamp_of(m) if m else None
        return parse_time(stamp.get(ANNOTATION_CREATED)) if stamp else None


def take_inventory(
    registry: Registry,
    repository: str,
    concurrency: int,
    tags: list[str] | None = None,
    actions: tuple[str, ...] = ("pull", "push", "delete"),
) -> Inventory:
    """GET every tag's manifest (or those of ``tags``), concurrently; a tag deleted meanwhile is simply absent,
    and so is a repository that does not exist yet (a project's first pipeline)."""
    inv = Inventory(repository)
    scopes = [scope(repository, *actions)]
    if tags is None:
        try:
            tags = registry.tags(repository)
        except NotFound:
            return inv
    for tag, manifest, err in run_all(lambda t: registry.get_manifest(repository, t, scopes), tags, concurrency):
        if isinstance(err, NotFound):
            continue
        if err is not None:
            inv.errors[tag] = err
        elif manifest is not None:
            inv.manifests[tag] = manifest
    return inv


def image_created(registry: Registry, inv: Inventory, tags: Iterable[str], concurrency: int) -> None:
    """Fill ``inv.created`` with the image config's ``created`` for the manifests under ``tags``, once per
    digest (an index: its first child's)."""
    scopes = [scope(inv.repository, "pull", "push", "delete")]
    wanted = {inv.manifests[t].digest: inv.manifests[t] for t in tags if t in inv.manifests}
    wanted = {d: m for d, m in wanted.items() if d not in inv.created}

    def one(manifest: Manifest) -> datetime | None:
        if manifest.is_index:
            children = manifest.children
            if not children:
                return None
            manifest = registry.get_manifest(inv.repository, children[0].digest, scopes)
        return parse_time(read_config(registry, inv.repository, manifest).created)

    for manifest, when, err in run_all(one, list(wanted.values()), concurrency):
        inv.created[manifest.digest] = None if err else when  # run_all has returned: one thread writes
        if err is not None and not isinstance(err, NotFound):  # a fault, not an image without its config
            inv.config_errors[manifest.digest] = str(err)
