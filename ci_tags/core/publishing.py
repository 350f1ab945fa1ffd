"""Pure rules of ``ci-tags publish``: may this pipeline move the publish tags, and may it move each one?

A publish tag moves only forward in time: never to an image of an older pipeline than the one it shows now,
nor away from a commit that descends from this pipeline's commit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from ci_tags.core.manifest import ANNOTATION_PIPELINE, ANNOTATION_REVISION


class PipelineFacts(Protocol):
    """What the publish gate reads of the pipeline (ci_tags/ci/environment.py's Pipeline has it)."""

    @property
    def system(self) -> str: ...
    @property
    def branch(self) -> str | None: ...
    @property
    def default_branch(self) -> str | None: ...
    @property
    def on_default_branch(self) -> bool: ...


@dataclass(frozen=True)
class TagOrigin:
    """Who put a publish tag where it is: read from ci-tags' stamp, or the image's labels."""

    pipeline_id: str | None
    revision: str | None


@dataclass(frozen=True)
class Verdict:
    go: bool
    reason: str


def pipeline_gate(
    pipeline: PipelineFacts,
    missing_images: list[str],
    *,
    ci_status_ok: bool | None,
    ci_status_reasons: tuple[str, ...] = (),
) -> Verdict:
    """Whether this pipeline may publish at all. ``ci_status_ok`` is None when no CI API could be asked."""
    if not pipeline.branch and pipeline.system == "local":
        return Verdict(False, "not in GitLab CI or Jenkins, and the branch is unknown (set CI_TAGS_BRANCH)")
    if not pipeline.branch:
        return Verdict(False, "not a branch pipeline (merge request or tag): publish tags stay where they are")
    if not pipeline.default_branch:
        hint = "CI_DEFAULT_BRANCH" if pipeline.system == "gitlab" else "CI_TAGS_DEFAULT_BRANCH or --default-branch"
        return Verdict(False, f"the default branch is unknown (set {hint}, or default_branch: in ci-tags.yml)")
    if not pipeline.on_default_branch:
        return Verdict(False, f"branch {pipeline.branch} is not the default branch {pipeline.default_branch}")
    if missing_images:
        return Verdict(False, f"no pipeline tag for {', '.join(missing_images)}: never publish a half-built set")
    if ci_status_ok is False:
        return Verdict(False, "the CI API reports: " + "; ".join(ci_status_reasons or ("a job did not succeed",)))
    return Verdict(True, "default branch, every image has its pipeline tag")


def _order_key(pipeline_id: str) -> tuple[str, int] | None:
    """Comparable form of a pipeline id: GitLab IIDs are numbers; Jenkins ids are <branch-slug>-<number>."""
    match = re.fullmatch(r"(?:(.*)-)?([0-9]+)", pipeline_id)
    if not match:
        return None
    return (match.group(1) or "", int(match.group(2)))


def tag_move(
    ours: TagOrigin,
    current: TagOrigin | None,
    is_ancestor: Callable[[str, str], bool | None],
) -> Verdict:
    """May a publish tag move from ``current`` to this pipeline's image?

    ``is_ancestor(a, b)`` answers whether commit a is an ancestor of b (None when git cannot tell, e.g. in a
    shallow clone)."""
    if current is None:
        return Verdict(True, "the tag does not exist yet")
    if current.pipeline_id == ours.pipeline_id:
        return Verdict(True, "the tag already shows this pipeline (re-run)")
    if current.revision and ours.revision and current.revision != ours.revision:
        descends = is_ancestor(ours.revision, current.revision)
        if descends:
            return Verdict(
                False, f"it shows commit {current.revision[:12]}, which descends from this pipeline's commit"
            )
        if descends is False and is_ancestor(current.revision, ours.revision):
            return Verdict(True, f"this pipeline's commit descends from {current.revision[:12]}")
    if current.pipeline_id and ours.pipeline_id:
        theirs, mine = _order_key(current.pipeline_id), _order_key(ours.pipeline_id)
        if theirs and mine and theirs[0] == mine[0] and theirs[1] > mine[1]:
            return Verdict(False, f"it shows later pipeline {current.pipeline_id}")
    return Verdict(True, "moves forward")


def origin_from(annotations: Mapping[str, str] | None, labels: Mapping[str, str] | None) -> TagOrigin:

    if annotations:
        return TagOrigin(annotations.get(ANNOTATION_PIPELINE), annotations.get(ANNOTATION_REVISION))
    labels = labels or {}
    return TagOrigin(labels.get(ANNOTATION_PIPELINE), labels.get(ANNOTATION_REVISION))


# -- converging under concurrent publishes ------------------------------------------------------------------------
#
# The registry has no compare-and-swap: two publishers that read, decide and PUT can land in any order. So each
# publisher first records its intent (pipeline, commit, time, the publish tags it wants, the image) as a stamped
# tag of its own, ``ci-tags-intent-<pipeline id>``; then it reads every intent and puts, under each publish tag,
# the image of the newest intent by the rule above; after each PUT it reads them all again. The last publisher
# to read sees every intent written before it, so whatever the interleaving the tags end on the newest image.
# The janitor removes intents older than --max-age (the newest one always stays).

INTENT_PREFIX = "ci-tags-intent-"


def intent_tag(pipeline_id: str) -> str:
    return INTENT_PREFIX + pipeline_id


@dataclass(frozen=True)
class Intent:
    """One publisher's recorded intent: who, when, which publish tags, which image (``target`` digest)."""

    tag: str
    origin: TagOrigin
    created: str  # RFC 3339, from the stamp: orders intents that nothing else orders
    target: str
    publish_tags: tuple[str, ...]


def newest(intents: list[Intent], is_ancestor: Callable[[str, str], bool | None]) -> Intent | None:
    """The intent a publish tag should show: the newest by :func:`tag_move`. The same set gives the same answer
    in every process (ties and unordered pairs go to the later-created intent)."""
    best: Intent | None = None
    for candidate in sorted(intents, key=lambda i: (i.created, i.origin.pipeline_id or "", i.tag)):
        if best is None or tag_move(candidate.origin, best.origin, is_ancestor).go:
            best = candidate
    return best


MOVE, UNCHANGED, KEEP = "move", "unchanged", "keep"


def settle(
    winner: Intent,
    current: TagOrigin | None,
    current_target: str | None,
    is_ancestor: Callable[[str, str], bool | None],
) -> tuple[str, str]:
    """What to do with a publish tag that shows ``current`` (``current_target``: its image's digest) so that it
    shows ``winner``: MOVE, UNCHANGED (it already holds that image: same digest, nothing written) or KEEP
    (it shows something later than every intent); and why."""
    if current_target is not None and current_target == winner.target:
        return UNCHANGED, f"it already holds this image ({winner.target[:19]})"
    verdict = tag_move(winner.origin, current, is_ancestor)
    return (MOVE if verdict.go else KEEP), verdict.reason
