"""Date a repository's tags on an OCI registry with as few reads as the janitor's decisions allow.

A plain registry keeps no tag dates: a pipeline tag's age is its ci-tags stamp, a content tag's the image
config's ``created``, each a manifest read (and a config read). Reading every tag costs a request per tag in
every pipeline, although in the steady state nothing is old enough to go. So:

- tags that rules 1-5 of ci_tags/core/policy.py keep at any age (current, protected, foreign...) are not read;
- content tags are few: each one whose age matters is read (manifest and config); so are publish intents;
- pipeline tags are ordered by their number within their series (:func:`ci_tags.core.policy.pipeline_series`): the
  oldest is read first and, when young, the whole series is young (one read). Otherwise a binary search finds
  the first young tag; the tags before it are the candidates, and each is read, so a removal is never decided on
  an estimate. The tags after it are dated by that first young tag's stamp (``order:<tag>``: an upper bound of
  their age). A tag out of order (a re-run job re-stamping an old number) is at worst kept longer, never removed
  early; a series where a probe finds no stamp is read whole.
- the stamps of kept tags (``latest``, young pipeline tags) name the content tag they stand for (rule 7 of the
  policy). They are read only when a content tag would otherwise be removed: publish tags first, then the kept
  pipeline tags.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime

from ci_tags.core.manifest import ANNOTATION_CONTENT_TAG, ANNOTATION_TARGET, stamp_of
from ci_tags.core.policy import (
    CONTENT,
    INTENT,
    ORDER_SOURCE,
    PIPELINE,
    Policy,
    TagInfo,
    age_matters,
    decide,
    kind_of,
    pipeline_series,
)
from ci_tags.oci.client import Registry
from ci_tags.oci.inventory import Inventory, image_created, take_inventory


def first_young(series: list[str], young: Callable[[str], bool | None]) -> int | None:
    """The index of the first young tag of a series ordered oldest first (``len(series)`` when none is), found
    with as few calls of ``young`` as the order allows: the oldest first (young: 0), then a binary search. None
    when a probe has no date (the caller then dates the whole series)."""
    first = young(series[0])
    if first is None:
        return None
    if first:
        return 0
    lo, hi = 1, len(series)  # series[:lo] expired; the first young one is in series[lo:hi], or there is none
    while lo < hi:
        mid = (lo + hi) // 2
        found = young(series[mid])
        if found is None:
            return None
        if found:
            hi = mid
        else:
            lo = mid + 1
    return lo


def references(inv: Inventory, tag: str) -> frozenset[str]:
    """What the ci-tags stamp on ``tag`` names: the content tag and the target image's digest."""
    manifest = inv.manifests.get(tag)
    stamp = stamp_of(manifest) if manifest else None
    if not stamp:
        return frozenset()
    return frozenset(v for k in (ANNOTATION_CONTENT_TAG, ANNOTATION_TARGET) if (v := stamp.get(k)))


class Dating:
    """The tags of one repository, read on demand into one (partial) inventory."""

    def __init__(self, registry: Registry, inv: Inventory, tags: list[str], policy: Policy, now: datetime,
                 concurrency: int) -> None:
        self.registry, self.inv, self.tags, self.policy, self.now = registry, inv, tags, policy, now
        self.concurrency = concurrency
        self.estimated: dict[str, str] = {}  # pipeline tag -> the older tag whose stamp dates it
        self.missing: list[str] = []  # listed, but no manifest: removed since the listing, or dangling

    def read(self, tags: Iterable[str]) -> None:
        """GET the manifests of ``tags`` not read yet (a tag removed since the listing is simply absent)."""
        wanted = [t for t in dict.fromkeys(tags)
                  if t not in self.inv.manifests and t not in self.inv.errors and t not in self.missing]
        if wanted:
            found = take_inventory(self.registry, self.inv.repository, self.concurrency, wanted,
                                   actions=("pull",))
            self.inv.manifests.update(found.manifests)
            self.inv.errors.update(found.errors)
            for tag in wanted:  # gone since the listing, or dangling (registry_api.py): nothing to decide
                if tag not in found.manifests and tag not in found.errors:
                    self.tags.remove(tag)
                    self.missing.append(tag)

    def _young(self, tag: str) -> bool | None:
        self.read([tag])
        when = self.inv.stamp_time(tag)
        if when is None:
            return None
        return self.now - when <= self.policy.max_age

    def _date_series(self, series: list[str]) -> None:
        """Read the candidates of one series (see the module docstring); estimate the rest."""
        boundary = first_young(series, self._young)
        if boundary is None:
            self.read(series)
            return
        self.read(series[:boundary])
        for tag in series[boundary + 1 :]:
            if tag not in self.inv.manifests:
                self.estimated[tag] = series[boundary]

    def date(self) -> None:
        content = [t for t in self.tags if kind_of(t, self.policy) == CONTENT and age_matters(t, self.policy)]
        self.read(content)
        image_created(self.registry, self.inv, [t for t in content if self.inv.stamp_time(t) is None],
                      self.concurrency)
        # publish intents (ci_tags/core/publishing.py) are few, one per default-branch publish within max-age: read
        self.read([t for t in self.tags if kind_of(t, self.policy) == INTENT and age_matters(t, self.policy)])
        pipelines = [t for t in self.tags if age_matters(t, self.policy)]
        for series in pipeline_series(pipelines, self.policy):
            self._date_series(series)

    def infos(self) -> list[TagInfo]:
        infos = []
        for tag in sorted(self.tags):
            manifest = self.inv.manifests.get(tag)
            refs = references(self.inv, tag)
            stamped = self.inv.stamp_time(tag)
            if manifest is None and tag in self.inv.errors:  # kept, and what its stamp might name (policy)
                infos.append(TagInfo(tag, None, None, "unknown", unread=str(self.inv.errors[tag])))
            elif manifest is None and tag in self.estimated:
                older = self.estimated[tag]
                infos.append(TagInfo(tag, None, self.inv.stamp_time(older), ORDER_SOURCE + older))
            elif manifest is None:
                infos.append(TagInfo(tag, None, None, "unknown"))
            elif stamped is not None:
                infos.append(TagInfo(tag, manifest.digest, stamped, "stamp", refs))
            elif manifest.digest in self.inv.config_errors:
                infos.append(TagInfo(tag, manifest.digest, None, "unknown", unread=self.inv.config_errors[
                    manifest.digest]))
            elif kind_of(tag, self.policy) == CONTENT and self.inv.created.get(manifest.digest):
                infos.append(TagInfo(tag, manifest.digest, self.inv.created[manifest.digest], "image-created"))
            else:
                infos.append(TagInfo(tag, manifest.digest, None, "unknown", refs))
        return infos

    def settle(self) -> list[TagInfo]:
        """Date the tags; where a content tag would go, read what the kept tags' stamps name (rule 7)."""
        self.date()
        return name_references(self.inv, self.infos(), self.policy, self.now, self.read)


def name_references(inv: Inventory, infos: list[TagInfo], policy: Policy, now: datetime,
                    read: Callable[[list[str]], None]) -> list[TagInfo]:
    """``infos`` with what kept tags' stamps name, read (into ``inv`` by ``read``) only while a content tag would
    otherwise be removed: the publish tags first, then the kept pipeline tags. A publish tag also names the
    image it holds, stamped or not (its digest, where a service's tag list gives it, needs no read). A stamp that
    could not be read (in ``inv.errors``) marks its tag ``unread``: the policy then keeps what it might name."""
    for wave in ("listed", "publish", "pipeline"):
        decided = decide(infos, policy, now)
        if not any(d.delete and d.kind == CONTENT for d in decided):
            break
        if wave == "publish":
            read([i.tag for i in infos if i.tag in policy.protected])
        elif wave == "pipeline":
            read([d.tag for d in decided if d.kind == PIPELINE and not d.delete])
        named = []
        for info in infos:
            refs = references(inv, info.tag)
            manifest = inv.manifests.get(info.tag)
            if info.tag in policy.protected:
                refs |= {d for d in (info.digest, manifest.digest if manifest else None) if d}
            if info.tag in inv.errors and not info.unread:
                info = replace(info, unread=str(inv.errors[info.tag]))
            named.append(replace(info, refers_to=info.refers_to | refs) if refs else info)
        infos = named
    return infos


def date_repository(registry: Registry, repository: str, tags: list[str], policy: Policy, now: datetime,
                    concurrency: int) -> tuple[Inventory, list[TagInfo], list[str]]:
    """Every tag of ``tags`` dated as the module docstring says; the inventory holds the manifests read; and the
    tags read that have no manifest (removed since the listing, or dangling)."""
    dating = Dating(registry, Inventory(repository), list(tags), policy, now, concurrency)
    infos = dating.settle()
    return dating.inv, infos, dating.missing


def complete(registry: Registry, inv: Inventory, tags: list[str], concurrency: int) -> None:
    """Read the manifests of the tags not read yet: the removal's safety checks need every tag's."""
    missing = [t for t in tags if t not in inv.manifests and t not in inv.errors]
    if missing:
        found = take_inventory(registry, inv.repository, concurrency, missing)
        inv.manifests.update(found.manifests)
        inv.errors.update(found.errors)

