"""Carry out the janitor's decisions on one repository of an OCI registry, and check the outcome.

Ages: a pipeline or publish tag is dated by ci-tags' stamp on it (when the pipeline tagged it, not when the image
was built); a content tag by the image config's ``created``; any other tag has no trustworthy date here.
Removal: a pipeline tag (ci-tags' stamped index, a digest of its own) that no other tag uses and no kept index
refers to is removed by deleting that manifest (one request); any other tag, content tags included, through the
placeholder untag, so every sibling keeps its image, also one a concurrent pipeline tagged after the inventory.
Afterwards one tag listing checks that every removed tag is gone and every kept tag is still there; a kept tag
that vanished is put back from the bytes read before, and siblings are checked to resolve to their digests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from ci_tags.concurrency import run_all
from ci_tags.errors import CiTagsError, NotFound
from ci_tags.policy import CONTENT, Decision, Policy, TagInfo, age_matters, kind_of, must_still_resolve
from ci_tags.registry.client import Registry
from ci_tags.registry.dating import complete, date_repository
from ci_tags.registry.inventory import Inventory, image_created
from ci_tags.registry.untag import Untagger

LISTING = "(tag listing)"  # key in Outcome.failed when the checking listing itself failed; never a valid tag


@dataclass
class Outcome:
    repository: str
    decisions: list[Decision]
    removed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    restored: list[str] = field(default_factory=list)
    vanished: list[str] = field(default_factory=list)  # kept tags someone else removed during the run
    unreadable: dict[str, str] = field(default_factory=dict)  # tags whose manifest could not be read: kept
    not_started: list[str] = field(default_factory=list)  # doomed tags left alone after a stop (SIGTERM/SIGINT)


class _NotStarted(CiTagsError):
    """A removal not started because the run was asked to stop."""


def carry_out(outcome: Outcome, doomed: list[Decision], remove: Callable[[Decision], None], concurrency: int,
              stop: threading.Event | None = None) -> None:
    """Run ``remove`` over the doomed tags concurrently; record each as removed, or failed with the reason. Once
    ``stop`` is set no removal starts; those in flight finish."""
    def guarded(decision: Decision) -> None:
        if stop is not None and stop.is_set():
            raise _NotStarted("not started: the run was asked to stop")
        remove(decision)

    for decision, _, err in run_all(guarded, doomed, concurrency):
        if isinstance(err, _NotStarted):
            outcome.not_started.append(decision.tag)
        elif err is not None:
            outcome.failed[decision.tag] = str(err)
        else:
            outcome.removed.append(decision.tag)


def tag_infos(registry: Registry, inv: Inventory, policy: Policy, concurrency: int) -> list[TagInfo]:
    """Date every tag: stamps for ci-tags' own indexes, image creation for content tags, else unknown."""
    content_tags = [t for t in inv.manifests
                    if kind_of(t, policy) == CONTENT and age_matters(t, policy) and inv.stamp_time(t) is None]
    image_created(registry, inv, content_tags, concurrency)
    infos = []
    for tag, manifest in sorted(inv.manifests.items()):
        stamped = inv.stamp_time(tag)
        if stamped is not None:
            infos.append(TagInfo(tag, manifest.digest, stamped, "stamp"))
        elif tag in content_tags and inv.created.get(manifest.digest):
            infos.append(TagInfo(tag, manifest.digest, inv.created[manifest.digest], "image-created"))
        else:
            infos.append(TagInfo(tag, manifest.digest, None, "unknown"))
    return infos


def clean_repository(
    registry: Registry,
    repository: str,
    decide: Callable[[list[TagInfo]], list[Decision]],
    policy: Policy,
    *,
    dry_run: bool,
    concurrency: int,
    on_removed: Callable[[str, Decision], None] = lambda repo, d: None,
    missing_ok: bool = True,
    now: datetime | None = None,
    stop: threading.Event | None = None,
) -> Outcome:
    """Date (ci_tags/registry/dating.py), decide, remove and check one repository. A repository that does not
    exist has nothing to clean when ``missing_ok`` (an image of the set not pushed yet), else NotFound."""
    try:
        tags = registry.tags(repository)
    except NotFound:
        if not missing_ok:
            raise NotFound(f"{registry.host}/{repository}: no such repository") from None
        tags = []
    inv, infos = date_repository(registry, repository, tags, policy, now or datetime.now(timezone.utc),
                                 concurrency)
    decisions = decide(infos)
    outcome = Outcome(repository, decisions, unreadable={t: str(e) for t, e in inv.errors.items()})
    doomed = [d for d in decisions if d.delete]
    if dry_run or not doomed:
        return outcome
    complete(registry, inv, tags, concurrency)  # the safety checks below need every tag's manifest
    kept = [d.tag for d in decisions if not d.delete] + list(inv.errors)
    digests = {t: m.digest for t, m in inv.manifests.items()}
    referenced = inv.referenced_by_index(kept)
    untagger = Untagger(registry, repository)

    def remove(decision: Decision) -> None:
        digest = digests[decision.tag]
        shared = [t for t, d in digests.items() if d == digest and t != decision.tag]
        # Delete by digest only a tag that is ci-tags' own stamped index: its digest is unique to it, so no tag
        # made after the inventory (another pipeline's stamp points at an image, never at a stamp) can need it.
        # An image's digest may gain a tag or an index entry meanwhile (a concurrent plan): placeholder untag.
        stamped = inv.stamp_time(decision.tag) is not None
        if stamped and not shared and digest not in referenced and not inv.errors:
            untagger.remove_exclusive(decision.tag, digest)
        else:
            siblings = {t: digest for t in shared if t not in {d.tag for d in doomed}}
            if not registry.tag_delete_refused:
                # A registry whose tag DELETE removes the image would break the kept indexes (and any index a
                # concurrent pipeline made) that point at it: check the image by digest, put it back if gone.
                siblings[digest] = digest
            untagger.remove(decision.tag, digest, siblings)
        on_removed(repository, decision)

    carry_out(outcome, doomed, remove, concurrency, stop)
    _verify(registry, inv, outcome, must_still_resolve(dict(digests), decisions), untagger)
    return outcome


def _verify(
    registry: Registry, inv: Inventory, outcome: Outcome, siblings: dict[str, str], untagger: Untagger
) -> None:
    """One listing: removed tags gone, kept tags present (put back if not); siblings resolve to their digests.
    A check that cannot be made is a failure of the run, never an exception that hides what was removed."""
    try:
        present = set(registry.tags(inv.repository))
    except CiTagsError as exc:
        outcome.failed[LISTING] = f"could not list the tags again to check the removals: {exc}"
        return
    for tag in list(outcome.removed):
        if tag not in present:
            continue
        try:  # a dangling tag left by racing deletes in the registry: remove it the slow, sure way
            if registry.head_manifest(inv.repository, tag) is None:
                untagger.remove_dangling(tag)
                if tag not in registry.tags(inv.repository):
                    continue
        except CiTagsError:
            pass
        outcome.removed.remove(tag)
        outcome.failed[tag] = "still present after removal"
    gone = {d.tag for d in outcome.decisions if d.delete}
    for tag, manifest in inv.manifests.items():
        if tag in gone or tag in present:
            continue
        try:  # a kept tag vanished: put its image back
            registry.put_manifest(inv.repository, tag, manifest)
            outcome.restored.append(tag)
        except CiTagsError as exc:
            outcome.failed[tag] = f"kept tag vanished and could not be restored: {exc}"
    for tag, digest, err in run_all(
        lambda t: registry.head_manifest(inv.repository, t), sorted(siblings), 8
    ):
        if err is not None or digest != siblings[tag]:
            try:
                registry.put_manifest(inv.repository, tag, inv.manifests[tag])
                outcome.restored.append(tag)
            except CiTagsError as exc:
                outcome.failed[tag] = f"no longer resolves to {siblings[tag]} and could not be restored: {exc}"
