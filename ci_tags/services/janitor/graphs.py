"""The janitor's graph phase (ci_tags/core/graph_expiry.py), after the removals of a repository succeeded: the
signatures, attestations, SBOMs and other referrers of the digests that lost their last tag go with them, and
orphans older than max-age go too.

Cheap in the steady state: a run that removes nothing does nothing here (no request). A run that removes tags has
read every tag's manifest already (the removal's safety checks need them; a dry run reads them here), so the graph
tags (``sha256-<hex>``, ``.sig``, ``.att``, ``.sbom``) are known from the tag list's names and those reads; the
referrers API is asked only about the digests that lost their last tag (and their parts), and only where the
registry has it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ci_tags.core.graph import Referrer, graph_tag, referrers_in
from ci_tags.core.graph_expiry import Expiry, GraphRemoval, RepositoryView, lost_digests, plan_expiry
from ci_tags.core.manifest import ANNOTATION_CREATED, Manifest
from ci_tags.core.times import parse_time
from ci_tags.errors import CiTagsError, RegistryError
from ci_tags.oci.referrers import referrers_api, remove_from_referrers_tag
from ci_tags.services.janitor.dating import complete

if TYPE_CHECKING:
    from ci_tags.oci.client import Registry
    from ci_tags.oci.inventory import Inventory
    from ci_tags.oci.untag import Untagger
    from ci_tags.services.janitor.engine import Outcome, Tags


GRAPH_PHASE = "(graph phase)"  # key in GraphOutcome.failed when the phase itself failed; never a valid tag


@dataclass
class GraphOutcome:
    """The graph phase of one repository: what it removed (or a dry run would), failed to remove, and kept."""

    expiry: Expiry
    removed: list[str] = field(default_factory=list)  # tags, and digests of untagged referrers
    failed: dict[str, str] = field(default_factory=dict)
    not_started: list[str] = field(default_factory=list)  # left after a stop (SIGTERM/SIGINT)

    def document(self, dry_run: bool) -> dict[str, Any]:
        removed = [r.name for r in self.expiry.removals] if dry_run else self.removed
        return {
            "removed": removed,
            "failed": dict(self.failed),
            "not_started": list(self.not_started),
            "removals": [{"name": r.name, "tag": r.tag, "digest": r.digest, "subject": r.subject, "kind": r.kind,
                          "reason": r.reason, "detail": r.detail} for r in self.expiry.removals],
            "kept_orphans": {k.tag: k.detail for k in self.expiry.kept},
        }


def _created(manifest: Manifest) -> datetime | None:
    notes = manifest.json.get("annotations")
    return parse_time(str(notes.get(ANNOTATION_CREATED))) if isinstance(notes, dict) and notes.get(
        ANNOTATION_CREATED) else None


def _view(inv: Inventory) -> RepositoryView:
    tag_digests = {t: m.digest for t, m in inv.manifests.items()}
    children = {m.digest: [c.digest for c in m.children] for m in inv.manifests.values() if m.is_index}
    entries: dict[str, list[Referrer]] = {}
    times: dict[str, datetime] = {}
    for tag, manifest in inv.manifests.items():
        parsed = graph_tag(tag)
        if parsed is None:
            continue
        if parsed.kind == "referrers-index" and manifest.is_index:
            entries[parsed.subject] = referrers_in(manifest)
            dates = [parse_time(r.annotations.get(ANNOTATION_CREATED, "")) for r in entries[parsed.subject]]
            if dates and all(d is not None for d in dates):
                times[tag] = max(d for d in dates if d is not None)  # the youngest entry dates the index
        elif (made := _created(manifest)) is not None:
            times[tag] = made
    return RepositoryView(tag_digests, children, entries, {}, times)


def expire_graphs(registry: Registry, untagger: Untagger, inv: Inventory, tags: list[str], removed: list[str],
                  *, max_age: timedelta, now: datetime, dry_run: bool, concurrency: int, deleted: tuple[str, ...] = (),
                  orphans: bool = True, stop: threading.Event | None = None) -> GraphOutcome | None:
    """Plan (and unless ``dry_run``, carry out) the graph phase after ``removed`` tags (and the manifests
    ``deleted`` by digest) went; None when the run removed nothing (nothing read, nothing done). ``orphans``:
    also sweep orphans older than ``max_age``. Once ``stop`` is set (SIGTERM), no removal starts: what is left
    is named in ``not_started`` and becomes an orphan for a later run."""
    if not removed and not deleted:
        return None
    complete(registry, inv, tags, concurrency)
    unread = sorted(t for t in inv.errors if t not in removed)
    if unread:  # fail safe: a tag that could not be read may hold any digest; graphs wait for a complete read
        return GraphOutcome(Expiry(), failed={GRAPH_PHASE: f"every graph kept: {len(unread)} tags could not be read "
                                              f"({', '.join(unread[:5])}{', ...' if len(unread) > 5 else ''})"})
    view = _view(inv)
    api: dict[str, list[Referrer]] = {}
    queue = sorted(lost_digests(view, removed, deleted))
    while queue and registry.referrers_api is not False:  # the API only for what lost its last tag
        digest = queue.pop(0)
        if digest in api:
            continue
        found = referrers_api(registry, inv.repository, digest)
        if found is None:
            break
        api[digest] = found
        queue += [r.digest for r in found]
    tag_digests = dict(view.tag_digests)
    if not dry_run:  # a tag made meanwhile on a digest that lost its tags holds it again: its graph stays
        again = _tagged_meanwhile(registry, inv, removed)
        removed = [t for t in removed if t not in again]
        tag_digests.update(again)
    view = RepositoryView(tag_digests, view.children, view.index_entries, api, view.times)
    outcome = GraphOutcome(plan_expiry(view, removed, max_age, now, deleted=deleted, orphans=orphans))
    if not dry_run:
        _carry_out(registry, untagger, inv.repository, view, outcome, stop)
    return outcome


def _tagged_meanwhile(registry: Registry, inv: Inventory, removed: list[str]) -> dict[str, str]:
    """The tags listed now that the inventory did not read (or that this run removed and someone made again, a
    build of the same content), each with the digest it shows: one listing, one HEAD per such tag."""
    gone = set(removed)
    fresh = [t for t in registry.tags(inv.repository)
             if (t not in inv.manifests or t in gone) and t not in inv.errors and graph_tag(t) is None]
    found = {}
    for tag in fresh:
        digest = registry.head_manifest(inv.repository, tag)
        if digest is not None:
            found[tag] = digest
    return found


def _carry_out(registry: Registry, untagger: Untagger, repository: str, view: RepositoryView,
               outcome: GraphOutcome, stop: threading.Event | None = None) -> None:
    """Referrer manifests first, then the tag schema indexes without them, then the cosign tags."""
    removals = outcome.expiry.removals
    gone_by_subject: dict[str, list[str]] = {}
    for r in removals:
        if r.tag is None:
            gone_by_subject.setdefault(r.subject, []).append(r.digest)
    order = [r for r in removals if r.tag is None]
    order += [r for r in removals if r.tag and r.kind == "referrers index"]
    order += [r for r in removals if r.tag and r.kind != "referrers index"]
    for r in order:
        if stop is not None and stop.is_set():
            outcome.not_started.append(r.name)
            continue
        try:
            if _remove(registry, untagger, repository, view, r, gone_by_subject.get(r.subject, [])):
                outcome.removed.append(r.name)
        except CiTagsError as exc:
            outcome.failed[r.name] = str(exc)


def _remove(registry: Registry, untagger: Untagger, repository: str, view: RepositoryView, r: GraphRemoval,
            gone: list[str]) -> bool:
    """Remove one part; False when it stays on purpose (an index still listing referrers a kept tag holds)."""
    if r.tag is None:  # an untagged referrer manifest: by its digest
        resp = registry.delete_manifest(repository, r.digest)
        if resp.status_code not in (200, 202, 404):
            raise RegistryError(f"{registry.host} refused to delete the referrer {r.digest} ({resp.status_code})")
        return True
    if r.kind == "referrers index":
        remove_from_referrers_tag(registry, repository, r.subject, gone)
        return registry.head_manifest(repository, r.tag) is None
    shared = any(d == r.digest and t != r.tag for t, d in view.tag_digests.items())
    if shared:
        untagger.remove(r.tag, r.digest, recheck=True)
    else:
        untagger.remove_exclusive(r.tag, r.digest)
    return True


def graph_phase(tags: Tags, outcome: Outcome, *, now: datetime, dry_run: bool, concurrency: int,
                stop: threading.Event | None = None) -> GraphOutcome | None:
    """The graph phase of one repository cleaned through the registry API, after its removals: the tags a real run
    removed (a dry run: those it would remove). None for a repository cleaned through a service's API (not yet
    done there: its graph tags are kept) or when nothing was removed."""
    from ci_tags.services.janitor.registry_api import RegistryTags

    if not isinstance(tags, RegistryTags):
        return None
    removed = [d.tag for d in outcome.decisions if d.delete and d.tag not in outcome.failed] if dry_run \
        else [t for t in outcome.removed if t in tags.inv.manifests]
    try:
        return expire_graphs(tags.registry, tags.untagger, tags.inv, tags.tags, removed,
                             max_age=tags.policy.max_age, now=now, dry_run=dry_run, concurrency=concurrency,
                             stop=stop)
    except CiTagsError as exc:  # the removals stand; their graphs are for the next run
        return GraphOutcome(Expiry(), failed={GRAPH_PHASE: f"the graph phase could not be completed: {exc}"})
