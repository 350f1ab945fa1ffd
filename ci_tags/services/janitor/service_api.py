"""A repository's tags through a service's API (GitLab's registry API, Docker Hub's API: a backend that dates
tags and deletes single tags), for the janitor's engine (engine.py). The registry API path is registry_api.py.

Ages (``TagInfo.time`` and its ``time_source``):

- Docker Hub: every tag by ``tag_last_pushed`` (``last_updated`` for records without it), source ``push``. That
  is when the tag was last pushed: for a pipeline tag, when the pipeline tagged it; for a content tag, when its
  image was pushed.
- GitLab: ``published_at`` where GitLab sends it (registries with the metadata database), source ``push``; else
  ``created_at``, source ``manifest-created``. ci-tags makes every pipeline tag a unique small OCI index stamped
  with its creation time, so that manifest is created when the pipeline tags: its ``created_at`` is the tagging
  time. A content tag's ``created_at`` is when its image's manifest was pushed, or (GitLab without the metadata
  database) the image config's ``created``: never later than the push, as on the OCI path.
- No time from the service (GitLab without the metadata database gives none for an index, so none for pipeline
  tags and multi-arch content tags): the tag's manifest is read through the registry API as on a plain
  registry, for tags whose age can decide them only: ci-tags' stamp for pipeline tags, the image config's
  ``created`` for content tags (source ``stamp`` or ``image-created``). A manifest that cannot be read leaves
  the age unknown, so the tag is kept (listed as unreadable).

Removal: one request per tag through the API, which removes that tag and nothing else (Docker Hub's tag DELETE;
GitLab's single-tag DELETE, never its asynchronous hourly bulk delete), concurrently. A tag already gone
(NotFound) counts as removed, so a re-run after a partial failure is safe. No throwaway manifest is pushed.

Check: one more listing afterwards; a removed tag still listed is a failure. A kept tag no longer listed is
reported (a warning): a single-tag DELETE of these APIs takes no other tag along, so someone else removed it
during the run (say another branch's janitor, for which it was an expired tag); nothing is put back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from ci_tags.backends import Capability, has
from ci_tags.backends.base import Backend, TagDetail, TagRecord
from ci_tags.concurrency import run_all
from ci_tags.core.policy import (
    CONTENT,
    ORDER_SOURCE,
    PIPELINE,
    Decision,
    Policy,
    TagInfo,
    age_matters,
    kind_of,
    pipeline_series,
)
from ci_tags.errors import CiTagsError, NotFound
from ci_tags.oci.client import Registry
from ci_tags.oci.inventory import Inventory, take_inventory
from ci_tags.services.janitor.dating import first_young, name_references
from ci_tags.services.janitor.engine import LISTING, Dated, Outcome
from ci_tags.services.janitor.registry_api import tag_infos

OpenRegistry = Callable[[], tuple[Registry, str]]  # the registry API and the repository's path there


def service_time(record: TagRecord) -> TagInfo:
    """A tag dated by what the service says: its push time, else its manifest's creation, else unknown."""
    if record.pushed_at is not None:
        return TagInfo(record.tag, record.digest, record.pushed_at, "push")
    if record.created_at is not None:
        return TagInfo(record.tag, record.digest, record.created_at, "manifest-created")
    return TagInfo(record.tag, record.digest, None, "unknown")


def _detail_as_needed(backend: TagDetail, repository: str, policy: Policy, now: datetime, concurrency: int,
                      stamp: Callable[[str], TagInfo | None]) -> dict[str, TagInfo]:
    """The listing, and a detail request only for the tags whose age can decide them: each content tag, and the
    pipeline tags that pipeline numbers do not date (ci_tags/services/janitor/dating.py, first_young): in the steady
    state the oldest of each series alone. A pipeline tag without a date even in its detail (GitLab without its
    metadata database dates no index) is dated by ``stamp`` (its stamp, read through the registry API); any
    other tag is left undated here (the caller reads the image's creation time)."""
    infos = {r.tag: service_time(r) for r in backend.tag_listing(repository)}

    def detail(tag: str) -> TagInfo | None:
        if infos[tag].time is None:
            record = backend.tag_record(repository, tag)
            if record is None:  # gone since the listing
                del infos[tag]
                return None
            infos[tag] = service_time(record)
            if infos[tag].time is None and kind_of(tag, policy) == PIPELINE:
                stamped = stamp(tag)
                if stamped is not None and stamped.time is not None:
                    infos[tag] = TagInfo(tag, record.digest or stamped.digest, stamped.time, stamped.time_source)
        return infos[tag]

    def young(tag: str) -> bool | None:
        info = detail(tag)
        return None if info is None or info.time is None else now - info.time <= policy.max_age

    def detail_all(tags: list[str]) -> None:
        for _, _, error in run_all(detail, [t for t in tags if t in infos], concurrency):
            if error is not None:
                raise error

    detail_all([t for t in infos if kind_of(t, policy) == CONTENT and age_matters(t, policy)])
    for series in pipeline_series([t for t in infos if age_matters(t, policy)], policy):
        boundary = first_young(series, young)
        detail_all(series if boundary is None else series[:boundary])
        if boundary is not None and boundary < len(series) and series[boundary] in infos:
            first = infos[series[boundary]]
            for tag in series[boundary + 1 :]:
                if tag in infos and infos[tag].time is None:
                    infos[tag] = TagInfo(tag, infos[tag].digest, first.time, ORDER_SOURCE + first.tag)
    return infos


def _registry_times(
    registry: Registry, path: str, tags: list[str], policy: Policy, concurrency: int
) -> tuple[dict[str, TagInfo], dict[str, str]]:
    """Stamps and image creation times read through the registry API for ``tags``; and the unreadable ones."""
    inv = take_inventory(registry, path, concurrency, tags, actions=("pull",))  # a tag removed since: absent
    dated = {i.tag: i for i in tag_infos(registry, inv, policy, concurrency)}
    return dated, {**{t: str(e) for t, e in inv.errors.items()}, **{t: i.unread for t, i in dated.items() if i.unread}}


class ServiceTags:
    """One repository (``host/path``, as the backend names it) through the backend's API (engine.Tags).
    ``registry`` opens the registry API and names the repository's path there, for tags the service gives no
    time for and for the stamps of kept tags when a content tag would go (dating.py, name_references)."""

    def __init__(self, backend: Backend, repository: str, policy: Policy, now: datetime, concurrency: int,
                 registry: OpenRegistry) -> None:
        self.backend, self.name, self.policy, self.now = backend, repository, policy, now
        self.concurrency, self.registry = concurrency, registry

    def _listed(self) -> dict[str, TagInfo]:
        """The tags as the service dates them: a detail request only where needed (GitLab), else the listing."""
        if isinstance(self.backend, TagDetail):
            def stamp(tag: str) -> TagInfo | None:
                reg, path = self.registry()
                return _registry_times(reg, path, [tag], self.policy, 1)[0].get(tag)

            return _detail_as_needed(self.backend, self.name, self.policy, self.now, self.concurrency, stamp)
        return {r.tag: service_time(r) for r in self.backend.tags(self.name)}

    def date(self) -> Dated:
        infos = self._listed()
        policy, concurrency = self.policy, self.concurrency
        undated = sorted(t for t, i in infos.items() if i.time is None and age_matters(t, policy))
        unreadable: dict[str, str] = {}
        if undated:
            reg, path = self.registry()
            dated, unreadable = _registry_times(reg, path, undated, policy, concurrency)
            for tag, info in dated.items():
                infos[tag] = TagInfo(tag, infos[tag].digest or info.digest, info.time, info.time_source)
            for tag, why in unreadable.items():  # kept, and what its stamp might name (the policy's rule 7)
                infos[tag] = replace(infos[tag], unread=why)
        # Rule in-use: a publish tag keeps the image its listed digest names; where a content tag would still go,
        # the stamps of the publish tags (then of the kept pipeline tags) say which content tag they stand for,
        # read through the registry API where the backend allows it (not on Docker Hub, where a manifest GET is a
        # pull against the rate limit: there only the listed digests count).
        stamps = Inventory(self.name)

        def read(tags: list[str]) -> None:
            if not has(self.backend, Capability.READS_STAMPS) or not tags:
                return
            reg, path = self.registry()
            found = take_inventory(reg, path, concurrency, tags, actions=("pull",))
            stamps.manifests.update(found.manifests)
            stamps.errors.update(found.errors)
            unreadable.update({t: str(e) for t, e in found.errors.items()})

        listed = sorted(infos.values(), key=lambda i: i.tag)
        return Dated(name_references(stamps, listed, policy, self.now, read), unreadable)

    def finish(self, leftovers: list[str], outcome: Outcome) -> None:
        """No placeholders here: these APIs remove a tag without a throwaway manifest."""

    def remover(self, outcome: Outcome) -> Callable[[Decision], bool]:
        def remove(decision: Decision) -> bool:
            with contextlib.suppress(NotFound):  # already gone (a re-run, or another job): done all the same
                self.backend.delete_tag(self.name, decision.tag)
            return True

        return remove

    def check(self, outcome: Outcome) -> None:
        """One listing: a removed tag still listed is a failure; a kept tag gone is reported as vanished."""
        try:
            present = self.backend.tag_names(outcome.repository)
        except CiTagsError as exc:  # NotFound included: the repository was there a moment ago
            outcome.failed[LISTING] = f"could not list the tags again to check the removals: {exc}"
            return
        for tag in list(outcome.removed):
            if tag in present:
                outcome.removed.remove(tag)
                outcome.failed[tag] = "still listed after its removal"
        for decision in outcome.decisions:
            if not decision.delete and decision.tag not in present:
                outcome.vanished.append(decision.tag)

