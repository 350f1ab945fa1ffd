"""Finding an image's graph on a registry (ci_tags/core/graph.py) and keeping the referrers tag schema's index.

Discovery, per digest of the graph (the image, an index's children, every part found, so referrers of referrers
too): the referrers API where the registry has it (a 404, or an answer that is not an image index, means it has
not: learned once per registry), else the index at the tag ``sha256-<hex>``; and cosign's ``.sig``, ``.att`` and
``.sbom`` tags. Which of those tags exist comes from the repository's tag list, read once: a digest with no such
tag costs nothing where the registry has no referrers API.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from urllib.parse import urljoin

from ci_tags.core.graph import (
    REFERRER,
    Graph,
    GraphTag,
    Part,
    Referrer,
    graph_tags,
    merged_index,
    pruned_index,
    referrers_in,
    referrers_tag,
)
from ci_tags.core.manifest import INDEX_TYPES, OCI_INDEX, Manifest
from ci_tags.errors import NotFound, RegistryError
from ci_tags.oci.auth import scope
from ci_tags.oci.client import _LINK_NEXT_RE, Registry

WRITE_ATTEMPTS = 3  # the tag schema's index has no compare-and-swap: write, read back, merge again if lost


def referrers_api(registry: Registry, repository: str, digest: str, scopes: Sequence[str] | None = None,
                  artifact_type: str | None = None) -> list[Referrer] | None:
    """The referrers of ``digest`` from the referrers API (filtered by ``artifact_type`` when given: by the
    registry when it says so in ``OCI-Filters-Applied``, else here); None when the registry has no such API."""
    if registry.referrers_api is False:
        return None
    scopes = scopes or [scope(repository, "pull")]
    url: str | None = f"/v2/{repository}/referrers/{digest}"
    params = {"artifactType": artifact_type} if artifact_type else None
    found: list[Referrer] = []
    filtered = False
    seen: set[str] = set()
    while url:
        # 404 is the spec's "no such API"; 405 and 501 are what some fronts answer for a route they lack
        resp = registry.request("GET", url, scopes, params=params, expect=(200, 404, 405, 501),
                                what=f"referrers of {digest}")
        content_type = (resp.headers.get("Content-Type") or "").split(";")[0].strip()
        if resp.status_code != 200 or content_type != OCI_INDEX:
            resp.close()
            if registry.referrers_api is None and not found:
                registry.referrers_api = False
                return None
            raise RegistryError(f"{registry.host} stopped answering the referrers API while listing {digest}")
        registry.referrers_api = True
        answer = Manifest.from_bytes(resp.content, content_type)
        found += referrers_in(answer)
        filtered = "artifacttype" in (resp.headers.get("OCI-Filters-Applied") or "").lower()
        link = _LINK_NEXT_RE.search(resp.headers.get("Link", ""))
        url = urljoin(registry.base + f"/v2/{repository}/", link.group(1)) if link else None
        if url in seen:
            raise RegistryError(f"{registry.host} sent a pagination loop while listing the referrers of {digest}")
        if url:
            seen.add(url)
        params = None
    if artifact_type and not filtered:
        found = [r for r in found if r.artifact_type == artifact_type]
    return found


def has_referrers_api(registry: Registry, repository: str, digest: str, scopes: Sequence[str] | None = None) -> bool:
    """Whether the registry has the referrers API (asked once, about a digest of ``repository``)."""
    if registry.referrers_api is None:
        referrers_api(registry, repository, digest, scopes)
    return bool(registry.referrers_api)


def read_referrers_tag(registry: Registry, repository: str, subject: str,
                       scopes: Sequence[str] | None = None, *, strict: bool = True) -> Manifest | None:
    """The tag schema's index of ``subject``, or None when the tag does not exist. A tag there that holds no index
    is not ci-tags' to change: an error, unless not ``strict`` (reading: then, as the spec says, no referrers)."""
    tag = referrers_tag(subject)
    try:
        found = registry.get_manifest(repository, tag, scopes)
    except NotFound:
        return None
    if found.media_type not in INDEX_TYPES and not strict:
        return None
    if found.media_type not in INDEX_TYPES:
        raise RegistryError(f"{registry.host}/{repository}:{tag} holds no referrers index ({found.media_type})",
                            hint="another tool uses that tag for something else: it was left as it is")
    return found


def _parts_about(registry: Registry, repository: str, digest: str, tagged: list[GraphTag],
                 scopes: Sequence[str]) -> list[Part]:
    parts = []
    listed = referrers_api(registry, repository, digest, scopes)
    for ref in listed or []:
        parts.append(Part(ref, digest, REFERRER, "referrers-api"))
    for graph_tag in tagged:
        if graph_tag.kind == "referrers-index":
            if listed is None:  # a registry with the API lists what the tag schema's index held (spec 1.1)
                index = read_referrers_tag(registry, repository, digest, scopes, strict=False)
                for ref in referrers_in(index) if index is not None else []:
                    parts.append(Part(ref, digest, REFERRER, "referrers-tag"))
            continue
        desc = registry.head_descriptor(repository, graph_tag.tag, scopes)
        if desc is not None:
            ref = Referrer(desc.digest, desc.media_type, desc.size)
            parts.append(Part(ref, digest, graph_tag.kind, "cosign-tag", graph_tag.tag))
    return parts


def find_graph(registry: Registry, repository: str, manifest: Manifest, scopes: Sequence[str] | None = None,
               *, tags: Iterable[str] | None = None) -> Graph:
    """The graph of ``manifest`` in ``repository``: its children and every part about any digest of it, found
    breadth first. ``tags``: the repository's tag list when the caller has it (else read here, once)."""
    scopes = scopes or [scope(repository, "pull")]
    graph = Graph(manifest.digest, [c.digest for c in manifest.children])
    by_subject = graph_tags(registry.tags(repository, scopes) if tags is None else tags)
    queue = [graph.subject, *graph.children]
    seen = set(queue)
    while queue:
        digest = queue.pop(0)
        for part in _parts_about(registry, repository, digest, by_subject.get(digest, []), scopes):
            if graph.add(part) and part.digest not in seen:
                seen.add(part.digest)
                queue.append(part.digest)
    return graph


def add_to_referrers_tag(registry: Registry, repository: str, subject: str, entries: list[Referrer],
                         scopes: Sequence[str] | None = None) -> bool:
    """Merge ``entries`` into the tag schema's index of ``subject``, keeping every entry there (another writer's
    too); read back and merge again when a concurrent writer's PUT replaced ours. True when something was
    written, False when every entry was listed already."""
    tag = referrers_tag(subject)
    scopes = scopes or [scope(repository, "pull", "push")]
    wrote = False
    for _ in range(WRITE_ATTEMPTS):
        merged = merged_index(read_referrers_tag(registry, repository, subject, scopes), entries)
        if merged is None:
            return wrote
        registry.put_manifest(repository, tag, merged, scopes)
        wrote = True
        if merged_index(read_referrers_tag(registry, repository, subject, scopes), entries) is None:
            return True
    raise RegistryError(f"{registry.host}/{repository}:{tag} kept changing while referrers were added to it",
                        hint="another tool writes the same referrers index; re-running is safe")


def remove_from_referrers_tag(registry: Registry, repository: str, subject: str, digests: Iterable[str],
                              scopes: Sequence[str] | None = None) -> None:
    """Take ``digests`` out of the tag schema's index of ``subject``; an index left empty is deleted. Entries other
    writers add meanwhile are kept (read back, again when lost)."""
    scopes = scopes or [scope(repository, "pull", "push", "delete")]
    gone = set(digests)
    for _ in range(WRITE_ATTEMPTS):
        index = read_referrers_tag(registry, repository, subject, scopes)
        if index is None or not gone & {r.digest for r in referrers_in(index)}:
            return
        pruned = pruned_index(index, gone)
        if pruned is None:
            resp = registry.delete_manifest(repository, index.digest, scopes)
            if resp.status_code not in (200, 202, 404):
                raise RegistryError(f"{registry.host} refused to delete {repository}:{referrers_tag(subject)} "
                                    f"({resp.status_code})")
        else:
            registry.put_manifest(repository, referrers_tag(subject), pruned, scopes)
    index = read_referrers_tag(registry, repository, subject, scopes)
    if index is not None and gone & {r.digest for r in referrers_in(index)}:
        raise RegistryError(f"{registry.host}/{repository}:{referrers_tag(subject)} kept changing while "
                            "referrers were taken out of it", hint="re-running is safe")
