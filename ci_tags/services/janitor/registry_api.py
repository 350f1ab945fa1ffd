"""A repository's tags through the registry API, for the janitor's engine (engine.py): dating, removal, check.

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
finishes that removal by deleting the placeholder by its digest. So with a dangling tag (listed, but its manifest
is gone: a delete by digest cut short in the registry), once one more listing tells it from a tag removed since:
a placeholder goes over it and is deleted by its digest. Tags that could not be read are kept (the policy keeps
what their stamps might name) and make the run partial.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ci_tags.core.manifest import Manifest, is_placeholder
from ci_tags.core.policy import (
    CONTENT,
    Decision,
    Policy,
    TagInfo,
    age_matters,
    deletable_by_digest,
    kind_of,
    must_still_resolve,
)
from ci_tags.errors import CiTagsError, RegistryError
from ci_tags.oci.client import Registry
from ci_tags.oci.inventory import Inventory, image_created
from ci_tags.oci.untag import MOVED, Untagger
from ci_tags.services.janitor.dating import complete, date_repository
from ci_tags.services.janitor.engine import LISTING, Dated, Outcome


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
        elif tag in content_tags and manifest.digest in inv.config_errors:  # kept: its age could not be read
            infos.append(TagInfo(tag, manifest.digest, None, "unknown", unread=inv.config_errors[manifest.digest]))
        elif tag in content_tags and inv.created.get(manifest.digest):
            infos.append(TagInfo(tag, manifest.digest, inv.created[manifest.digest], "image-created"))
        else:
            infos.append(TagInfo(tag, manifest.digest, None, "unknown"))
    return infos


class RegistryTags:
    """One repository of an OCI registry (engine.Tags): tags dated by stamps and image creation times
    (dating.py), removed by the safe untag or, for ci-tags' own unshared stamps, by digest."""

    def __init__(self, registry: Registry, repository: str, policy: Policy, now: datetime, concurrency: int) -> None:
        self.registry, self.repository, self.policy, self.now = registry, repository, policy, now
        self.concurrency = concurrency
        self.name = f"{registry.host}/{repository}"
        self.tags: list[str] = []
        self.inv = Inventory(repository)
        self.placeholders: dict[str, Manifest] = {}
        self.untagger = Untagger(registry, repository)

    def date(self) -> Dated:
        tags = self.registry.tags(self.repository)
        self.inv, infos, missing = date_repository(self.registry, self.repository, tags, self.policy, self.now,
                                                   self.concurrency)
        # Leftover placeholders of interrupted removals (among the manifests read) are finished, never dated.
        leftovers = [t for t, m in self.inv.manifests.items() if is_placeholder(m)]
        self.placeholders = {t: self.inv.manifests.pop(t) for t in leftovers}
        unreadable = {i.tag: i.unread for i in infos if i.unread}
        dangling = self._dangling(missing, unreadable)  # also a tag dated by its number before it was read
        skip = {*self.placeholders, *dangling}
        self.tags = [t for t in tags if t not in skip]
        return Dated([i for i in infos if i.tag not in skip], unreadable, leftovers, dangling)

    def _dangling(self, missing: list[str], unreadable: dict[str, str]) -> list[str]:
        """Of the tags read without a manifest, those still listed: dangling (an interrupted removal left the tag
        without its manifest; nobody can pull it), when the rules would let them age. The others were removed
        since the listing. One more listing, only when some tag had no manifest."""
        candidates = [t for t in missing if age_matters(t, self.policy)]
        if not candidates:
            return []
        try:
            listed = set(self.registry.tags(self.repository))
        except CiTagsError as exc:  # cannot tell: left for the next run, and the run is partial
            unreadable.update({t: f"no manifest, and the tags could not be listed again: {exc}" for t in candidates})
            return []
        return [t for t in candidates if t in listed]

    def finish(self, leftovers: list[str], outcome: Outcome) -> None:
        """Finish interrupted removals: delete each leftover placeholder by its own digest (unique to it); put a
        placeholder over each dangling tag still without a manifest, then delete it by its digest."""
        for tag in leftovers:
            what = "placeholder" if tag in self.placeholders else "dangling tag"
            try:
                done = self._finish_placeholder(tag) if tag in self.placeholders else self._finish_dangling(tag)
            except CiTagsError as exc:
                outcome.failed[tag] = f"could not finish removing the {what}: {exc}"
                continue
            (outcome.removed if done else outcome.moved).append(tag)

    def _finish_placeholder(self, tag: str) -> bool:
        resp = self.registry.delete_manifest(self.repository, self.placeholders[tag].digest)
        if resp.status_code not in (200, 202, 404):
            raise RegistryError(f"{self.registry.host} refused to delete the placeholder ({resp.status_code})")
        return True

    def _finish_dangling(self, tag: str) -> bool:
        """False when the tag resolves again (tagged since it was read: someone else's now, left as it is)."""
        if self.registry.head_manifest(self.repository, tag) is not None:
            return False
        self.untagger.remove_dangling(tag)
        return True

    def remover(self, outcome: Outcome) -> Callable[[Decision], bool]:
        inv, registry = self.inv, self.registry
        complete(registry, inv, self.tags, self.concurrency)  # the safety checks below need every tag's manifest
        kept = [d.tag for d in outcome.decisions if not d.delete] + list(inv.errors)
        digests = {t: m.digest for t, m in inv.manifests.items()}
        referenced = inv.referenced_by_index(kept)
        siblings_of = must_still_resolve(digests, outcome.decisions)  # kept tags sharing a doomed tag's digest

        def remove(decision: Decision) -> bool:
            digest = digests[decision.tag]
            if deletable_by_digest(decision.tag, digests, stamped=inv.stamp_time(decision.tag) is not None,
                                   referenced=referenced, all_read=not inv.errors):
                self.untagger.remove_exclusive(decision.tag, digest)
                return True
            siblings = {t: d for t, d in siblings_of.items() if d == digest}
            if not registry.tag_delete_refused:
                # A registry whose tag DELETE removes the image would break the kept indexes (and any index a
                # concurrent pipeline made) that point at it: check the image by digest, put it back if gone.
                siblings[digest] = digest
            # An image's tag can be made again meanwhile (a build of that content): the removal was decided on
            # what was read, so it is for that image only (recheck: one HEAD right before each write).
            removal = self.untagger.remove(decision.tag, digest, siblings, recheck=True)
            if removal.method == MOVED:
                return False
            outcome.restored.extend(removal.restored)
            return True

        return remove

    def check(self, outcome: Outcome) -> None:
        """One listing: removed tags gone; kept tags gone meanwhile are reported as vanished.
        A check that cannot be made is a failure of the run, never an exception that hides what was removed."""
        try:
            present = set(self.registry.tags(self.repository))
        except CiTagsError as exc:
            outcome.failed[LISTING] = f"could not list the tags again to check the removals: {exc}"
            return
        for tag in list(outcome.removed):
            if tag in present and not self._gone_after_all(tag):
                outcome.removed.remove(tag)
                outcome.failed[tag] = "still present after removal"
        gone = {d.tag for d in outcome.decisions if d.delete}
        for tag in self.inv.manifests:
            if tag not in gone and tag not in present:
                outcome.vanished.append(tag)  # someone else removed it during the run: reported, never put back

    def _gone_after_all(self, tag: str) -> bool:
        """A removed tag still listed: a dangling tag left by racing deletes in the registry (removed here the
        slow, sure way), or made again by someone else since (a build of that content: theirs)."""
        registry, repository = self.registry, self.repository
        try:
            now = registry.head_manifest(repository, tag)
            if now is None:
                self.untagger.remove_dangling(tag)
                return tag not in registry.tags(repository)
            return tag in self.inv.manifests and now != self.inv.manifests[tag].digest and not is_placeholder(
                registry.get_manifest(repository, tag))
        except CiTagsError:
            return False
