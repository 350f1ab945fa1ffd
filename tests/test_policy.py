"""Retention policy: table-driven rules and hypothesis properties over random tag sets."""

import random
import re
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ci_tags.errors import BadInput
from ci_tags.policy import (
    CONTENT,
    PIPELINE,
    Decision,
    Policy,
    Summary,
    TagInfo,
    decide,
    must_still_resolve,
    parse_duration,
    template_regex,
)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
H = "ab" * 32
CURRENT = f"hash-{'cd' * 32}"


def policy(**kw):
    base = dict(
        max_age=timedelta(days=7),
        content=template_regex("hash-{hash}", CONTENT),
        pipeline=template_regex("pipeline-{pipeline_id}", PIPELINE),
        protected=frozenset({"latest", "main"}),
        keep_patterns=(re.compile("^release-"),),
        current=frozenset({CURRENT}),
    )
    base.update(kw)
    return Policy(**base)


def info(tag, days, digest="sha256:x"):
    return TagInfo(tag, digest, None if days is None else NOW - timedelta(days=days), "stamp")


@pytest.mark.parametrize(
    ("tag", "days", "delete", "reason"),
    [
        ("pipeline-41", 8, True, "expired"),
        ("pipeline-41", 6, False, "young"),
        ("pipeline-41", 7, False, "young"),  # exactly max_age is not older than it
        ("pipeline-main-12", 30, True, "expired"),  # Jenkins: <branch slug>-<build number>
        (f"hash-{H}", 8, True, "expired"),
        (f"hash-{H}-arm64", 8, True, "expired"),
        (f"hash-{H}-mips", 8, False, "foreign"),
        (CURRENT, 400, False, "current"),
        ("latest", 400, False, "protected"),
        ("main", 400, False, "protected"),
        ("release-1.0", 400, False, "keep-regex"),
        (f"sha256-{'e' * 64}", 400, False, "signature"),
        (f"sha256-{'e' * 64}.sig", 400, False, "signature"),
        ("v1.att", 400, False, "signature"),
        ("v1.sbom", 400, False, "signature"),
        ("5.0.0", 400, False, "foreign"),
        ("pipeline-", 400, False, "foreign"),
        ("hash-xyz", 400, False, "foreign"),
        ("pipeline-41", None, False, "age-unknown"),
    ],
)
def test_rules(tag, days, delete, reason):
    [decision] = decide([info(tag, days)], policy(), NOW)
    assert (decision.delete, decision.reason) == (delete, reason)


def test_keep_last_keeps_the_newest_per_kind():
    tags = [info(f"pipeline-{i}", 10 + i) for i in range(5)] + [info(f"hash-{i:012x}", 10 + i) for i in range(3)]
    decisions = {d.tag: d for d in decide(tags, policy(keep_last=2), NOW)}
    assert [t for t, d in decisions.items() if d.reason == "keep-last"] == [
        "hash-000000000000", "hash-000000000001", "pipeline-0", "pipeline-1"
    ]
    assert decisions["pipeline-4"].delete and decisions["hash-000000000002"].delete


def test_custom_templates():
    p = policy(content=template_regex("c{hash}", CONTENT), pipeline=template_regex("ci.{pipeline_id}", PIPELINE))
    decisions = {d.tag: d.delete for d in decide([info(f"c{H}", 9), info("ci.3", 9), info("pipeline-3", 9)], p, NOW)}
    assert decisions == {f"c{H}": True, "ci.3": True, "pipeline-3": False}


@pytest.mark.parametrize(("text", "delta"), [("7d", timedelta(days=7)), ("36h", timedelta(hours=36)),
                                              ("2w", timedelta(weeks=2)), ("1d12h", timedelta(hours=36)),
                                              ("90m", timedelta(minutes=90))])
def test_parse_duration(text, delta):
    assert parse_duration(text) == delta


@pytest.mark.parametrize("text", ["", "7", "d7", "7 days", "0d", "-1d", "7d!"])
def test_bad_durations(text):
    with pytest.raises(BadInput):
        parse_duration(text)


def test_must_still_resolve_and_summary():
    decisions = [Decision("pipeline-1", True, "expired"), Decision("hash-1", False, "current"),
                 Decision("latest", False, "protected"), Decision("other", False, "foreign")]
    digests = {"pipeline-1": "d1", "hash-1": "d1", "latest": "d2", "other": "d1"}
    assert must_still_resolve(digests, decisions) == {"hash-1": "d1", "other": "d1"}
    summary = Summary.of(decisions)
    assert summary.removed == 1 and summary.kept == {"current": 1, "protected": 1, "foreign": 1}


HEX = st.text("0123456789abcdef", min_size=12, max_size=64)
tag_strategy = st.one_of(
    st.integers(0, 10**6).map(lambda n: f"pipeline-{n}"),
    st.tuples(st.sampled_from(["main", "feature-x"]), st.integers(0, 999)).map(lambda x: f"pipeline-{x[0]}-{x[1]}"),
    HEX.map(lambda h: f"hash-{h}"),
    st.tuples(HEX, st.sampled_from(["amd64", "arm64", "mips"])).map(lambda x: f"hash-{x[0]}-{x[1]}"),
    st.sampled_from(["latest", "main", "release-1", "v1.sig", "x.att", f"sha256-{'f' * 64}", "5.0.0", CURRENT]),
    st.text("abcdefghijklmnopqrstuvwxyzABC0123456789_.-", min_size=1, max_size=20),
)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(tag_strategy, st.one_of(st.none(), st.floats(0, 100)), max_size=40),
    st.integers(0, 3),
)
def test_policy_never_selects_a_tag_it_must_keep(entries, keep_last):
    p = policy(keep_last=keep_last)
    infos = [TagInfo(t, "d", None if d is None else NOW - timedelta(days=d), "stamp") for t, d in entries.items()]
    by_tag = {i.tag: i for i in infos}
    decisions = decide(infos, p, NOW)
    assert decide(list(reversed(infos)), p, NOW) == decisions  # deterministic, order-independent
    random.shuffle(infos)
    assert decide(infos, p, NOW) == decisions
    for d in decisions:
        if not d.delete:
            continue
        i = by_tag[d.tag]
        assert d.tag not in p.protected and d.tag != CURRENT
        assert not d.tag.startswith("release-") and not d.tag.endswith((".sig", ".att", ".sbom"))
        assert p.content.fullmatch(d.tag) or p.pipeline.fullmatch(d.tag)
        assert i.time is not None and NOW - i.time > p.max_age
    for kind in (CONTENT, PIPELINE):
        aged = sorted(
            (by_tag[d.tag] for d in decisions if d.kind == kind and d.reason in ("keep-last", "young", "expired")),
            key=lambda i: (i.time, i.tag), reverse=True,
        )
        kept_last = [d for d in decisions if d.kind == kind and d.reason == "keep-last"]
        assert len(kept_last) == min(keep_last, len(aged))
