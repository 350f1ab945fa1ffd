"""Any OCI registry through ci-tags' own client: ``/v2/_catalog`` for repositories, the tag list for tags, and
the safe untag (ci_tags/oci/untag.py) to remove one tag.

Plain registries keep no dates and the tag list gives no digests, so records carry neither. A tag is never
removed by deleting its manifest's digest here: that would take every other tag on the same image with it.
Where the registry accepts a tag DELETE, the tags on the same image are found first (one HEAD each) and checked
afterwards, so a registry whose tag deletion takes the image along gets them put back.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from ci_tags.backends.base import TagRecord, name_after
from ci_tags.concurrency import run_all
from ci_tags.core.hosts import DOCKER_HUB_API_HOST, DOCKER_HUB_HOSTS
from ci_tags.errors import NotFound
from ci_tags.oci.client import Registry
from ci_tags.oci.untag import ABSENT, Untagger

if TYPE_CHECKING:
    from ci_tags.backends import Where


class OciBackend:
    name = "oci"

    def __init__(self, registry: Registry, *, concurrency: int = 8) -> None:
        """``concurrency``: the command's --concurrency, for the HEADs that find a tag's siblings."""
        self.registry = registry
        self.concurrency = concurrency
        self._untaggers: dict[str, Untagger] = {}
        self._lock = threading.Lock()

    def _path(self, repository: str) -> str:
        """The repository path on this registry, from a full ``host/path`` or a bare path."""
        host_prefix = self.registry.host + "/"
        return repository[len(host_prefix) :] if repository.startswith(host_prefix) else repository

    def repositories(self, namespace: str, prefix: str) -> list[str]:
        found = []
        for path in self.registry.catalog():
            name = name_after(path, namespace)
            if name is not None and name.startswith(prefix):
                found.append(f"{self.registry.host}/{path}")
        return sorted(found)

    def tags(self, repository: str) -> list[TagRecord]:
        return [TagRecord(tag, None, None) for tag in self.registry.tags(self._path(repository))]

    def tag_names(self, repository: str) -> set[str]:
        return set(self.registry.tags(self._path(repository)))

    def delete_tag(self, repository: str, tag: str) -> None:
        path = self._path(repository)
        with self._lock:  # one Untagger per repository: it learns once whether digests can be deleted
            untagger = self._untaggers.get(path)
            if untagger is None:
                untagger = self._untaggers[path] = Untagger(self.registry, path)
        digest = self.registry.head_manifest(path, tag, untagger.scopes)
        if digest is None:
            raise NotFound(f"{self.registry.host}/{path}:{tag} not found")
        siblings: dict[str, str] = {}
        if not self.registry.tag_delete_refused:  # the placeholder route cannot touch other tags: no need
            others = [t for t in self.registry.tags(path) if t != tag]
            for other, found, err in run_all(lambda t: self.registry.head_manifest(path, t, untagger.scopes),
                                             others, self.concurrency):
                if err is None and found == digest:
                    siblings[other] = digest
        if untagger.remove(tag, digest, siblings).method == ABSENT:
            raise NotFound(f"{self.registry.host}/{path}:{tag} not found")


def build(where: Where) -> OciBackend:
    """The table's hook (ci_tags/backends/__init__.py): Docker Hub's registry is reached at its API host."""
    host = DOCKER_HUB_API_HOST if where.host in DOCKER_HUB_HOSTS else where.host
    return OciBackend(where.registries.get(host), concurrency=where.concurrency)
