"""Removing tags (and nothing else), or, asked explicitly, whole manifests by digest with every tag on them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ci_tags.core.reference import Reference
from ci_tags.errors import CiTagsError, NotFound, OperationFailed

if TYPE_CHECKING:
    from ci_tags.oci.client import Registry
    from ci_tags.oci.registries import Registries
    from ci_tags.oci.untag import Untagger
    from ci_tags.services.janitor.graphs import GraphOutcome

# how one tag's removal ended; "refused": the registry's error (auth, not found, server) on the removal itself
Outcome = Literal["absent", "unreadable", "not-found", "would-remove", "refused", "moved", "removed"]
TAG_NOT_FOUND = "tag not found"
MOVED_MEANWHILE = "tagged again by someone else meanwhile: left as it is"


@dataclass(frozen=True)
class TagRemoval:
    """One REF of ``untag``: what it pointed at, what happened, and the tags sharing its image that stay."""

    reference: Reference
    digest: str | None
    outcome: Outcome
    error: str | None = None
    kept_siblings: tuple[str, ...] | None = None  # None: the tag was not resolved
    method: str | None = None
    restored: tuple[str, ...] = ()  # siblings the registry took along and ci-tags put back

    @property
    def status(self) -> str:
        return {"absent": "absent", "would-remove": "would remove", "removed": "removed"}.get(self.outcome, "failed")

    def document(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"reference": str(self.reference), "digest": self.digest}
        if self.kept_siblings is not None:
            entry["kept_siblings"] = list(self.kept_siblings)
        entry["status"] = self.status
        if self.error is not None:
            entry["error"] = self.error
        if self.method is not None:
            entry["method"] = self.method
        if self.restored:
            entry["restored"] = list(self.restored)
        return entry


@dataclass(frozen=True)
class Untagged:
    dry_run: bool
    removals: tuple[TagRemoval, ...]

    @property
    def failure(self) -> CiTagsError | None:
        failed = [r for r in self.removals if r.status == "failed"]
        if not failed:
            return None
        if all(r.error == TAG_NOT_FOUND for r in failed):
            return NotFound(f"{len(failed)} of {len(self.removals)} tags not found",
                            hint="--missing-ok accepts absent tags")
        return OperationFailed(f"{len(failed)} of {len(self.removals)} tags could not be removed")

    def document(self) -> Mapping[str, Any]:
        done = "would remove" if self.dry_run else "removed"
        return {"dry_run": self.dry_run, "results": [r.document() for r in self.removals],
                "removed": [str(r.reference) for r in self.removals if r.status == done]}


@dataclass(frozen=True)
class ManifestDeletion:
    """One REF of ``untag --digest``: the manifest and the tags that vanish with it."""

    manifest: str  # name@digest
    tags: tuple[str, ...]
    deleted: bool

    def document(self) -> dict[str, Any]:
        return {"manifest": self.manifest, "tags": list(self.tags), "deleted": self.deleted}


@dataclass(frozen=True)
class ManifestsDeleted:
    dry_run: bool
    deletions: tuple[ManifestDeletion, ...]
    failure: CiTagsError | None = None
    graphs: tuple[tuple[str, GraphOutcome], ...] = ()  # manifest -> its graph, expired with it

    def document(self) -> Mapping[str, Any]:
        graph = {name: g.document(self.dry_run) for name, g in self.graphs}
        return {"dry_run": self.dry_run, "results": [d.document() for d in self.deletions],
                "removed": [d.manifest for d in self.deletions], "graph": graph,
                "graph_removed": sum(len(g["removed"]) for g in graph.values())}


def untag(registries: Registries, refs: list[Reference], *, dry_run: bool, missing_ok: bool, concurrency: int,
          report: Callable[[TagRemoval], None]) -> Untagged:
    """Remove each ``repo:tag`` of ``refs``, repository by repository; ``report`` hears of each as it ends."""
    from ci_tags.oci.resolve import resolve_tags

    by_repo: dict[tuple[str, str], list[Reference]] = {}
    for ref in refs:
        by_repo.setdefault((ref.api_host, ref.repository), []).append(ref)
    removals: list[TagRemoval] = []
    for (host, repository), group in by_repo.items():
        registry = registries.get(host)
        digests, errors = resolve_tags(registry, repository, registry.tags(repository), concurrency)
        removing = {r.tag for r in group if r.tag}
        untagger = _untagger(registry, repository)
        for ref in group:
            assert ref.tag
            digest = digests.get(ref.tag)
            if digest is None:
                removal = _unresolved(ref, errors.get(ref.tag), missing_ok=missing_ok)
            else:
                siblings = {t: d for t, d in digests.items() if d == digest and t not in removing}
                removal = _remove(untagger, ref, digest, siblings, dry_run=dry_run)
            report(removal)
            removals.append(removal)
    return Untagged(dry_run, tuple(removals))


def _untagger(registry: Registry, repository: str) -> Untagger:
    from ci_tags.oci.untag import Untagger

    return Untagger(registry, repository)


def _unresolved(ref: Reference, error: CiTagsError | None, *, missing_ok: bool) -> TagRemoval:
    """A REF whose tag resolves to no digest: unreadable, already absent, or not found."""
    if error is not None:
        return TagRemoval(ref, None, "unreadable", error=str(error))
    if missing_ok:
        return TagRemoval(ref, None, "absent")
    return TagRemoval(ref, None, "not-found", error=TAG_NOT_FOUND)


def _remove(untagger: Untagger, ref: Reference, digest: str, siblings: dict[str, str], *,
            dry_run: bool) -> TagRemoval:
    """Remove one tag that showed ``digest``, keeping ``siblings`` (the other tags on that image)."""
    from ci_tags.oci.untag import MOVED

    kept = tuple(sorted(siblings))
    if dry_run:
        return TagRemoval(ref, digest, "would-remove", kept_siblings=kept)
    assert ref.tag
    try:
        removal = untagger.remove(ref.tag, digest, siblings, recheck=True)
    except CiTagsError as exc:  # refused (auth too), gone, or failed: this tag's failure, the others go on
        return TagRemoval(ref, digest, "refused", error=str(exc), kept_siblings=kept)
    if removal.method == MOVED:
        return TagRemoval(ref, digest, "moved", error=MOVED_MEANWHILE, kept_siblings=kept)
    return TagRemoval(ref, digest, "removed", kept_siblings=kept, method=removal.method, restored=removal.restored)


def delete_manifests(registries: Registries, refs: list[Reference], *, dry_run: bool, concurrency: int,
                     report: Callable[[ManifestDeletion], None], referrers: bool = True) -> ManifestsDeleted:
    """Delete each REF's manifest by digest; ``report`` hears of each (with the tags that vanish) before it goes.
    Then, unless ``referrers`` is False, its signatures, attestations, SBOMs and other referrers go too (and
    those of its children that no tag still holds), once the deletion succeeded."""
    from ci_tags.oci.inventory import take_inventory
    from ci_tags.oci.resolve import resolve_tags, tags_by_digest

    deletions, graphs = [], []
    for ref in refs:
        registry = registries.get(ref.api_host)
        digest = ref.digest or registry.head_manifest(ref.repository, ref.identifier)
        if digest is None:
            raise NotFound(f"{ref} not found")
        tags = registry.tags(ref.repository)
        if referrers:  # every tag's manifest: the graph phase needs the indexes' children and the graph tags
            inv = take_inventory(registry, ref.repository, concurrency, tags)
            digests = {t: m.digest for t, m in inv.manifests.items()}
        else:
            digests, _ = resolve_tags(registry, ref.repository, tags, concurrency)
        deletion = ManifestDeletion(f"{ref.name}@{digest}", tuple(tags_by_digest(digests).get(digest, [])),
                                    not dry_run)
        report(deletion)
        if not dry_run:
            resp = registry.delete_manifest(ref.repository, digest)
            if resp.status_code not in (200, 202):
                raise OperationFailed(f"{registry.host} refused to delete {ref.name}@{digest} ({resp.status_code})")
        deletions.append(deletion)
        if referrers:
            graph = _expire_graph(registry, ref.repository, inv, tags, deletion, digest, dry_run, concurrency)
            if graph is not None:
                graphs.append((deletion.manifest, graph))
    failed = sum(len(g.failed) for _, g in graphs)
    failure = OperationFailed(f"{failed} signatures, attestations or referrers could not be removed; a re-run "
                              "retries them") if failed else None
    return ManifestsDeleted(dry_run, tuple(deletions), failure, tuple(graphs))


def _expire_graph(registry: Registry, repository: str, inv: Any, tags: list[str], deletion: ManifestDeletion,
                  digest: str, dry_run: bool, concurrency: int) -> GraphOutcome | None:
    from datetime import datetime, timedelta, timezone

    from ci_tags.services.janitor.graphs import expire_graphs

    return expire_graphs(registry, _untagger(registry, repository), inv, tags, list(deletion.tags),
                         max_age=timedelta(days=1), now=datetime.now(timezone.utc), dry_run=dry_run,
                         concurrency=concurrency, deleted=(digest,), orphans=False)
