"""Pure rules of ``ci-tags publish``: may this pipeline move the publish tags, and may it move each one?

A publish tag moves only forward in time: never to an image of an older pipeline than the one it shows now,
nor away from a commit that descends from this pipeline's commit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ci_tags.ci.environment import Pipeline


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
    pipeline: Pipeline,
    missing_images: list[str],
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
    from ci_tags.registry.manifest import ANNOTATION_PIPELINE, ANNOTATION_REVISION

    if annotations:
        return TagOrigin(annotations.get(ANNOTATION_PIPELINE), annotations.get(ANNOTATION_REVISION))
    labels = labels or {}
    return TagOrigin(labels.get("dev.ci-tags.pipeline"), labels.get("org.opencontainers.image.revision"))
