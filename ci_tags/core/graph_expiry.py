"""Which parts of images' graphs go when their images go: pure, over what a repository holds. No I/O.

A digest is *held* when a tag that stays points at it (a graph tag does not count: it is about another digest), when
it is a child of a held index, or when it is a part of the graph of a held digest (a signature of a kept image, an
SBOM of a kept per-arch child, a signature on that SBOM). Held digests keep every part of their graph.

Two reasons to remove a part of a graph:

- ``subject-removed``: the run removed a tag and the digest it pointed at lost its last tag (the children of an
  index that lost its last tag too, unless held otherwise): every part of its graph goes, at any age, after the
  tag's removal succeeded;
- ``orphaned``: a graph tag whose subject no tag holds, left by an earlier run or another tool, goes (with its
  parts) once its time is known and older than max-age; a young one, or one with no time, is kept and reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Literal

from ci_tags.core.graph import GraphTag, Referrer, graph_tag, graph_tags
from ci_tags.core.times import format_duration

ExpiryReason = Literal["subject-removed", "orphaned"]


@dataclass(frozen=True)
class RepositoryView:
    """What the janitor read of a repository, for the graph phase."""

    tag_digests: Mapping[str, str]  # every tag read -> its digest (graph tags included)
    children: Mapping[str, Sequence[str]] = field(default_factory=dict)  # index digest -> its children
    index_entries: Mapping[str, Sequence[Referrer]] = field(default_factory=dict)  # subject -> tag schema index
    api_referrers: Mapping[str, Sequence[Referrer]] = field(default_factory=dict)  # subject -> referrers API answer
    times: Mapping[str, datetime] = field(default_factory=dict)  # graph tag -> when it was made, where known

    @cached_property
    def by_subject(self) -> dict[str, list[GraphTag]]:
        """The graph tags by the digest they are about, read from the tag names once."""
        return graph_tags(self.tag_digests)


@dataclass(frozen=True)
class GraphRemoval:
    """One removal of the graph phase: a graph tag (``tag``), or an untagged referrer manifest (``tag`` None)."""

    digest: str
    subject: str
    kind: str  # signature, attestation, sbom, referrers index, referrer
    reason: ExpiryReason
    detail: str
    tag: str | None = None

    @property
    def name(self) -> str:
        return self.tag or self.digest


@dataclass(frozen=True)
class KeptOrphan:
    tag: str
    subject: str
    detail: str


@dataclass
class Expiry:
    removals: list[GraphRemoval] = field(default_factory=list)
    kept: list[KeptOrphan] = field(default_factory=list)


def _parts(view: RepositoryView, digest: str) -> list[tuple[str, str, str | None]]:
    """(part digest, kind, tag) of every part known about ``digest``: cosign tags, the tag schema index's
    entries (and the index tag itself), the referrers API's answer."""
    found: list[tuple[str, str, str | None]] = []
    for gt in view.by_subject.get(digest, []):
        if gt.tag in view.tag_digests:
            found.append((view.tag_digests[gt.tag], gt.label, gt.tag))
    seen = {d for d, _, _ in found}
    for ref in [*view.index_entries.get(digest, ()), *view.api_referrers.get(digest, ())]:
        if ref.digest not in seen:
            seen.add(ref.digest)
            found.append((ref.digest, "referrer", None))
    return found


def held_digests(view: RepositoryView, removed: Iterable[str], deleted: Iterable[str] = ()) -> set[str]:
    """Every digest the tags that stay hold, with their children and graphs' parts, transitively (a tag on a
    manifest ``deleted`` by digest went with it)."""
    gone, dead = set(removed), set(deleted)
    queue = [d for t, d in view.tag_digests.items() if t not in gone and d not in dead and graph_tag(t) is None]
    held: set[str] = set()
    while queue:
        digest = queue.pop()
        if digest in held:
            continue
        held.add(digest)
        queue += view.children.get(digest, ())
        queue += [d for d, kind, _ in _parts(view, digest) if kind != "referrers index"]
    return held


def lost_digests(view: RepositoryView, removed: Iterable[str], deleted: Iterable[str] = ()) -> set[str]:
    """The digests that lost their last tag by the removal of ``removed`` (and their children not held);
    ``deleted``: manifests deleted by digest (``untag --digest``), lost whatever tags they had."""
    gone = list(removed)
    held = held_digests(view, gone, deleted)
    queue = [view.tag_digests[t] for t in gone if t in view.tag_digests] + list(deleted)
    lost: set[str] = set()
    while queue:
        digest = queue.pop()
        if digest in held or digest in lost:
            continue
        lost.add(digest)
        queue += view.children.get(digest, ())
    return lost


def _closure(view: RepositoryView, roots: Iterable[str], held: set[str], reason: ExpiryReason,
             detail: str, out: dict[tuple[str, str | None], GraphRemoval]) -> None:
    """Every part of the graphs of ``roots`` (parts of parts too) that no held digest needs."""
    queue = list(roots)
    done: set[str] = set()
    while queue:
        subject = queue.pop(0)
        if subject in done:
            continue
        done.add(subject)
        for digest, kind, tag in _parts(view, subject):
            if kind != "referrers index" and digest in held:
                continue
            key = (digest, tag)
            if key not in out:
                what = f"{kind} of {subject}"
                out[key] = GraphRemoval(digest, subject, kind, reason, detail.format(what=what), tag)
            if kind != "referrers index":
                queue.append(digest)


def plan_expiry(view: RepositoryView, removed: Iterable[str], max_age: timedelta, now: datetime, *,
                deleted: Iterable[str] = (), orphans: bool = True) -> Expiry:
    """The graph phase's removals after the removal of the tags ``removed`` (and of the manifests ``deleted`` by
    digest), and the orphans it keeps; ``orphans=False``: no sweep of orphans (``untag --digest``)."""
    gone, deleted = list(removed), set(deleted)
    held = held_digests(view, gone, deleted)
    lost = lost_digests(view, gone, deleted)
    out: dict[tuple[str, str | None], GraphRemoval] = {}
    _closure(view, sorted(lost), held, "subject-removed", "{what}, whose image lost its last tag", out)
    expiry = Expiry()
    handled = {r.tag for r in out.values() if r.tag}
    limit = format_duration(max_age)
    for subject, tags in sorted(view.by_subject.items()):
        if not orphans or subject in held or subject in lost:
            continue
        for gt in tags:
            if gt.tag in handled or gt.tag not in view.tag_digests:
                continue
            time = view.times.get(gt.tag)
            if time is None:
                expiry.kept.append(KeptOrphan(gt.tag, subject, f"orphaned {gt.label} of {subject}: kept, its age "
                                                                "is unknown"))
                continue
            age = now - time
            if age <= max_age:
                expiry.kept.append(KeptOrphan(gt.tag, subject, f"orphaned {gt.label} of {subject}: kept, made "
                                              f"{format_duration(max(age, timedelta(0)))} ago <= {limit}"))
                continue
            detail = f"orphaned {gt.label} of {subject}: no tag holds it, made {format_duration(age)} ago > {limit}"
            digest = view.tag_digests[gt.tag]
            out.setdefault((digest, gt.tag), GraphRemoval(digest, subject, gt.label, "orphaned", detail, gt.tag))
            if gt.kind == "referrers-index":
                for ref in view.index_entries.get(subject, ()):
                    if ref.digest not in held:
                        out.setdefault((ref.digest, None), GraphRemoval(
                            ref.digest, subject, "referrer", "orphaned", f"orphaned referrer of {subject}"))
                        _closure(view, [ref.digest], held, "orphaned", "orphaned {what}", out)
            else:
                _closure(view, [digest], held, "orphaned", "orphaned {what}", out)
    expiry.removals = sorted(out.values(), key=lambda r: (r.subject, r.tag is None, r.name))
    return expiry
