"""The janitor's rules on incomplete reads and on pipeline numbers (ci_tags/core/policy.py, rules 6, 7 and 9;
ci_tags/core/pipeline_numbers.py): what could not be read is kept with everything it might protect, and a pipeline
tag numbered after a young (or unread) one is kept, so a run that read more decides as one that read less."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from ci_tags.core.policy import CONTENT, PIPELINE, Policy, TagInfo, decide, template_regex

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
OLD, FREE = "hash-" + "a" * 64, "hash-" + "b" * 64
POLICY = Policy(max_age=timedelta(days=7), content=template_regex("hash-{hash}", CONTENT),
                pipeline=template_regex("pipeline-{pipeline_id}", PIPELINE))


def tag(name: str, days: float | None, *, names: str = "", unread: str = "") -> TagInfo:
    """A tag ``days`` old (None: undated); ``names``: the content tag its stamp names; ``unread``: why it could
    not be read (no time then)."""
    time = None if days is None or unread else NOW - timedelta(days=days)
    return TagInfo(name, None if unread else f"sha256:{name}", time, "unknown" if time is None else "stamp",
                   frozenset({names}) if names else frozenset(), unread)


CASES = [
    # (tags, {tag: (reason, removed)} for the tags checked)
    ([tag("pipeline-1", 20), tag("pipeline-2", 1, names=OLD), tag(OLD, 40), tag(FREE, 40)],
     {OLD: ("in-use", False), FREE: ("expired", True), "pipeline-1": ("expired", True)}),
    # the stamp naming OLD could not be read: it might name any content tag
    ([tag("pipeline-1", 20), tag("pipeline-2", None, unread="503"), tag(OLD, 40), tag(FREE, 40)],
     {OLD: ("in-use", False), FREE: ("in-use", False), "pipeline-2": ("age-unknown", False),
      "pipeline-1": ("expired", True)}),
    # an unread latest (a publish stamp) keeps them too
    ([tag("latest", None, unread="html"), tag(OLD, 40)], {OLD: ("in-use", False)}),
    # an unread content tag is no stamp: it keeps itself only
    ([tag(OLD, None, unread="truncated"), tag(FREE, 40)], {OLD: ("age-unknown", False), FREE: ("expired", True)}),
    # numbered after a young tag (a re-run job stamped pipeline-2 again today): tagged after it, so young
    ([tag("pipeline-1", 20), tag("pipeline-2", 0.5), tag("pipeline-3", 15), tag("pipeline-4", 2)],
     {"pipeline-1": ("expired", True), "pipeline-3": ("young", False)}),
    # numbered after a tag that could not be read: it may be young
    ([tag("pipeline-1", 20), tag("pipeline-2", None, unread="drop"), tag("pipeline-3", 15)],
     {"pipeline-1": ("expired", True), "pipeline-3": ("age-unknown", False)}),
    # an undated (unstamped) tag is no reason to keep the ones after it; series are apart
    ([tag("pipeline-1", None), tag("pipeline-2", 15), tag("pipeline-main-1", 1), tag("pipeline-main-2", 15)],
     {"pipeline-1": ("age-unknown", False), "pipeline-2": ("expired", True), "pipeline-main-2": ("young", False)}),
]


@pytest.mark.parametrize(("tags", "expected"), CASES)
def test_decisions_on_incomplete_reads_and_pipeline_numbers(tags: list[TagInfo],
                                                             expected: dict[str, tuple[str, bool]]) -> None:
    decisions = {d.tag: d for d in decide(tags, POLICY, NOW)}
    assert {t: (decisions[t].reason, decisions[t].delete) for t in expected} == expected


def test_a_tag_dated_by_its_number_says_by_which():
    decisions = {d.tag: d for d in decide([tag("pipeline-2", 0.5), tag("pipeline-3", 15)], POLICY, NOW)}
    assert "numbered after pipeline-2" in decisions["pipeline-3"].detail


def test_the_detail_of_a_tag_kept_for_an_unread_stamp_names_it():
    tags = [tag("pipeline-2", None, unread="503 Service Unavailable"), tag(OLD, 40)]
    (detail,) = [d.detail for d in decide(tags, POLICY, NOW) if d.tag == OLD]
    assert detail == "pipeline-2 could not be read, so might point at it (503 Service Unavailable)"


def test_whatever_was_read_a_run_removes_only_what_the_steady_state_reads():
    """A series read whole and the same series read up to its first young tag (the rest dated by number, as the
    dating shortcut does) remove the same tags."""
    ages = {1: 20.0, 2: 18.0, 3: 1.0, 4: 12.0, 5: 9.0, 6: 0.5}
    whole = [tag(f"pipeline-{n}", d) for n, d in ages.items()]
    shortcut = [t if int(t.tag.split("-")[1]) <= 3 else
                replace(t, time=whole[2].time, time_source="order:pipeline-3") for t in whole]
    removed = [{d.tag for d in decide(tags, POLICY, NOW) if d.delete} for tags in (whole, shortcut)]
    assert removed[0] == removed[1] == {"pipeline-1", "pipeline-2"}
