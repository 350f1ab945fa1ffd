"""Carry out the janitor's decisions on one repository of an OCI registry, and check the outcome.

Ages: a pipeline or publish tag is dated by ci-tags' stamp on it (when the pipeline tagged it, not when the image
was built); a content tag by the image config's ``created``; any other tag has no trustworthy date here.
Removal: a pipeline tag (ci-tags' stamped index, a digest of its own) that no other tag uses and no kept index
refers to is removed by deleting that manifest (one request); any other tag, content tags included, through the
placeholder untag, so every sibling keeps its image, also one a concurrent pipeline tagged after the inventory.
Each removal checks at once that the tags on the same image still resolve, and puts back only what that removal
took (a registry whose tag DELETE takes the image along). Afterwards one tag listing checks that every removed
tag is gone; a kept tag no longer listed was removed by someone else during the run (another janitor, an untag)
and is reported, never put back: bytes read at the start would undo a publish or retag made meanwhile.
A tag left on an untag placeholder (an interrupted removal, ci-tags' own annotation) is no image: the janitor
finishes that removal by deleting the placeholder by its digest.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from ci_tags.concurrency import run_all
from ci_tags.core.manifest import Manifest, is_placeholder
from ci_tags.core.policy import CONTENT, LEFTOVER, Decision, Policy, TagInfo, age_matters, kind_of
from ci_tags.errors import CiTagsError, NotFound, RegistryError
from ci_tags.oci.client import Registry
from ci_tags.oci.inventory import Inventory, image_created
from ci_tags.oci.untag import MOVED, Untagger
from ci_tags.services.janitor.dating import complete, date_repository

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
    moved: list[str] = field(default_factory=list)  # doomed tags someone re-tagged since the inventory: left
    not_started: list[str] = field(default_factory=list)  # doomed tags left alone after a stop (SIGTERM/SIGINT)


class _NotStarted(CiTagsError):
    """A removal not started because the run was asked to stop."""


def carry_out(outcome: Outcome, doomed: list[Decision], remove: Callable[[Decision], bool | None], concurrency: int,
              stop: threading.Event | None = None) -> None:
    """Run ``remove`` over the doomed tags concurrently; record each as removed, failed with the reason, or
    moved (``remove`` returned False: the tag changed since it was read, so the decision no longer holds). Once
    ``stop`` is set no removal starts; those in flight finish."""
    def guarded(decision: Decision) -> bool | None:
        if stop is not None and stop.is_set():
            raise _NotStarted("not started: the run was asked to stop")
        return remove(decision)

    for decision, result, err in run_all(guarded, doomed, concurrency):
        if isinstance(err, _NotStarted):
            outcome.not_started.append(decision.tag)
        elif err is not None:
            outcome.failed[decision.tag] = str(err)
        elif result is False:
            outcome.moved.append(decision.tag)
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
    """Date (ci_tags/services/janitor/dating.py), decide, remove and check one repository. A repository that does not
    exist has nothing to clean when ``missing_ok`` (an image of the set not pushed yet), else NotFound."""
    try:
        tags = registry.tags(repository)
    except NotFound:
        if not missing_ok:
            raise NotFound(f"{registry.host}/{repository}: no such repository") from None
        tags = []
    inv, infos = date_repository(registry, repository, tags, policy, now or datetime.now(timezone.utc),
                                 concurrency)
    # Leftover placeholders of interrupted removals (among the manifests read) are finished, never dated.
    leftovers = {t: m for t, m in inv.manifests.items() if is_placeholder(m)}
    for tag in leftovers:
        del inv.manifests[tag]
    tags = [t for t in tags if t not in leftovers]
    decisions = decide([i for i in infos if i.tag not in leftovers])
    outcome = Outcome(repository, decisions, unreadable={t: str(e) for t, e in inv.errors.items()})
    if leftovers:
        outcome.decisions = decisions = sorted(
            [*decisions, *(Decision(t, True, LEFTOVER, PLACEHOLDER_DETAIL, None) for t in leftovers)],
            key=lambda d: d.tag)
        if not dry_run:
            _finish_placeholders(registry, repository, leftovers, outcome)
    doomed = [d for d in decisions if d.delete and d.tag not in leftovers]
    if dry_run or not doomed:
        return outcome
    complete(registry, inv, tags, concurrency)  # the safety checks below need every tag's manifest
    kept = [d.tag for d in decisions if not d.delete] + list(inv.errors)
    digests = {t: m.digest for t, m in inv.manifests.items()}
    referenced = inv.referenced_by_index(kept)
    untagger = Untagger(registry, repository)

    def remove(decision: Decision) -> bool:
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
            # An image's tag can be made again meanwhile (a build of that content): the removal was decided on
            # what was read, so it is for that image only (recheck: one HEAD right before each write).
            removal = untagger.remove(decision.tag, digest, siblings, recheck=True)
            if removal.method == MOVED:
                return False
            outcome.restored.extend(removal.restored)
        on_removed(repository, decision)
        return True

    carry_out(outcome, doomed, remove, concurrency, stop)
    _verify(registry, inv, outcome, untagger)
    return outcome


PLACEHOLDER_DETAIL = "left on an untag placeholder by an interrupted removal"


def _finish_placeholders(registry: Registry, repository: str, leftovers: dict[str, Manifest], outcome: Outcome) -> None:
    """Finish interrupted removals: delete each leftover placeholder by its own digest (unique to it)."""
    for tag, manifest in leftovers.items():
        try:
            resp = registry.delete_manifest(repository, manifest.digest)
            if resp.status_code not in (200, 202, 404):
                raise RegistryError(f"{registry.host} refused to delete the placeholder ({resp.status_code})")
        except CiTagsError as exc:
            outcome.failed[tag] = f"could not finish removing the placeholder: {exc}"
        else:
            outcome.removed.append(tag)


def _verify(registry: Registry, inv: Inventory, outcome: Outcome, untagger: Untagger) -> None:
    """One listing: removed tags gone; kept tags gone meanwhile are reported as vanished.
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
            now = registry.head_manifest(inv.repository, tag)
            if now is None:
                untagger.remove_dangling(tag)
                if tag not in registry.tags(inv.repository):
                    continue
            elif tag in inv.manifests and now != inv.manifests[tag].digest and not is_placeholder(
                    registry.get_manifest(inv.repository, tag)):
                continue  # our removal happened; someone tagged it again since (a build of that content): theirs
        except CiTagsError:
            pass
        outcome.removed.remove(tag)
        outcome.failed[tag] = "still present after removal"
    gone = {d.tag for d in outcome.decisions if d.delete}
    for tag in inv.manifests:
        if tag not in gone and tag not in present:
            outcome.vanished.append(tag)  # someone else removed it during the run: reported, never put back
