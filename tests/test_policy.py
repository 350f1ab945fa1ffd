"""Retention policy of the janitor: a table per rule, then hypothesis properties over random tag sets.

The properties check decide() against an oracle written here from the spec (its own regex for ci-tags' tags, its
own notion of "newest"), not against the module's helpers."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ci_tags.core.arches import ARCHES
from ci_tags.core.policy import (
    CONTENT,
    PIPELINE,
    REASONS,
    Decision,
    Policy,
    Summary,
    TagInfo,
    age_matters,
    decide,
    kind_of,
    must_still_resolve,
    template_regex,
)
from ci_tags.errors import BadInput

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
DAY, HOUR, SECOND = timedelta(days=1), timedelta(hours=1), timedelta(seconds=1)
H, H2, H3 = "ab" * 32, "cd" * 32, "ef" * 32
CURRENT, CURRENT_ARCH = f"hash-{H2}", f"hash-{H3}-arm64"
PUBLISH, SLUGS = ("latest", "stable"), ("main", "feature-x")
KEEP = (r"^release-", r"^pipeline-9")


def make_policy(**overrides: object) -> Policy:
    fields: dict[str, object] = dict(
        max_age=7 * DAY,
        content=template_regex("hash-{hash}", CONTENT),
        pipeline=template_regex("pipeline-{pipeline_id}", PIPELINE),
        protected=frozenset(PUBLISH + SLUGS),
        keep_patterns=tuple(re.compile(p) for p in KEEP),
        current=frozenset({CURRENT, CURRENT_ARCH}),
    )
    fields.update(overrides)
    return Policy(**fields)  # type: ignore[arg-type]  # the tests' overrides, each of its field's type


def info(tag: str, age: timedelta | None, digest: str = "sha256:d", source: str = "stamp") -> TagInfo:
    return TagInfo(tag, digest, None if age is None else NOW - age, source if age is not None else "unknown")


def decide_one(tag: str, age: timedelta | None, policy: Policy | None = None) -> Decision:
    [decision] = decide([info(tag, age)], policy or make_policy(), NOW)
    return decision


# --- one rule at a time ------------------------------------------------------------------------------------------

RULES = [
    # (tag, age, reason); only "expired" deletes
    ("pipeline-41", 9 * DAY, "expired"),
    ("pipeline-41", 2 * DAY, "young"),
    ("pipeline-main-12", 30 * DAY, "expired"),  # Jenkins: <branch slug>-<build number>
    ("pipeline-feature--x-3", 30 * DAY, "expired"),  # slugify("feature/-x") keeps the double dash
    ("pipeline-" + "a" * 63 + "-1", 30 * DAY, "expired"),  # a slug is at most 63 characters
    (f"hash-{H}", 8 * DAY, "expired"),
    *[(f"hash-{H}-{arch}", 8 * DAY, "expired") for arch in ARCHES],
    (f"hash-{H}", 2 * DAY, "young"),
    (f"hash-{H}", -HOUR, "young"),  # stamped in the future: clock skew, not old
    ("pipeline-41", None, "age-unknown"),
    (f"hash-{H}-amd64", None, "age-unknown"),
    (CURRENT, 400 * DAY, "current"),
    (CURRENT_ARCH, 400 * DAY, "current"),
    ("latest", 400 * DAY, "protected"),
    ("stable", 400 * DAY, "protected"),
    ("main", 400 * DAY, "protected"),  # a branch slug
    ("release-1.0", 400 * DAY, "keep-regex"),
    ("pipeline-97", 400 * DAY, "keep-regex"),  # --keep reaches ci-tags' own tags too
    (f"sha256-{'e' * 64}", 400 * DAY, "signature"),  # OCI referrers fallback tag
    (f"sha256-{'e' * 64}.sig", 400 * DAY, "signature"),
    (f"sha512-{'e' * 64}", 400 * DAY, "signature"),
    (f"hash-{H}.sig", 400 * DAY, "signature"),
    ("v1.att", 400 * DAY, "signature"),
    ("v1.sbom", 400 * DAY, "signature"),
    ("5.0.0", 400 * DAY, "foreign"),
    ("pipeline-", 400 * DAY, "foreign"),
    ("pipeline-Main-3", 400 * DAY, "foreign"),  # slugs are lowercase
    ("pipeline-main-", 400 * DAY, "foreign"),
    ("pipeline-main--3", 400 * DAY, "foreign"),  # a slug never ends in "-"
    ("pipeline-" + "a" * 64 + "-1", 400 * DAY, "foreign"),
    ("pipeline-41-arm64", 400 * DAY, "foreign"),  # no arch suffix on pipeline tags
    ("hash-xyz", 400 * DAY, "foreign"),
    (f"hash-{H[:12]}", 400 * DAY, "foreign"),  # ci-tags makes 64-digit hashes
    (f"hash-{H}0", 400 * DAY, "foreign"),
    (f"hash-{H.upper()}", 400 * DAY, "foreign"),
    (f"hash-{H}-mips", 400 * DAY, "foreign"),  # not an arch ci-tags builds
    (f"hash-{H}-arm64-v8", 400 * DAY, "foreign"),  # config.ARCHES has no arm64-v8: ci-tags never makes this tag
    (f"xhash-{H}", 400 * DAY, "foreign"),
    (f"hash-{H}-amd64-amd64", 400 * DAY, "foreign"),
]


@pytest.mark.parametrize(("tag", "age", "reason"), RULES, ids=[f"{r}:{t[:24]}" for t, _, r in RULES])
def test_each_rule(tag: str, age: timedelta | None, reason: str) -> None:
    decision = decide_one(tag, age)
    assert (decision.reason, decision.delete) == (reason, reason == "expired")


BOUNDARY = [
    (7 * DAY - SECOND, False),
    (7 * DAY, False),  # exactly max_age is not older than max_age: kept
    (7 * DAY + timedelta(microseconds=1), True),
    (7 * DAY + SECOND, True),
]


@pytest.mark.parametrize(("age", "delete"), BOUNDARY)
@pytest.mark.parametrize("tag", ["pipeline-1", f"hash-{H}"])
def test_max_age_is_a_strict_bound(tag: str, age: timedelta, delete: bool) -> None:
    assert decide_one(tag, age).delete is delete


def test_ages_compare_across_time_zones() -> None:
    plus2 = timezone(timedelta(hours=2))
    at = (NOW - 7 * DAY).astimezone(plus2)  # the same instant, written in another zone
    [d] = decide([TagInfo("pipeline-1", None, at, "stamp")], make_policy(), NOW)
    assert d.reason == "young"
    [d] = decide([TagInfo("pipeline-1", None, at - SECOND, "stamp")], make_policy(), NOW)
    assert d.reason == "expired"


PRECEDENCE = [
    # (tag, age, policy overrides, reason): the first rule that applies wins; none of these may delete
    ("latest", 400 * DAY, {"keep_patterns": (re.compile("^lat"),)}, "protected"),
    ("pipeline-1", 400 * DAY, {"protected": frozenset({"pipeline-1"})}, "protected"),  # protected beats owned
    (CURRENT, 400 * DAY, {"protected": frozenset({CURRENT})}, "protected"),
    (CURRENT, 400 * DAY, {"keep_patterns": (re.compile("^hash-cd"),)}, "keep-regex"),
    (f"sha256-{H}", 400 * DAY, {"content": template_regex("sha256-{hash}", CONTENT)}, "signature"),
    ("v1.sig", 400 * DAY, {"keep_patterns": (re.compile("sig"),)}, "keep-regex"),
    ("5.0.0", 400 * DAY, {}, "foreign"),
    ("5.0.0", None, {}, "foreign"),
    (CURRENT, None, {}, "current"),
    (CURRENT, 400 * DAY, {"keep_last": 0}, "current"),
    ("pipeline-1", None, {"keep_last": 5}, "age-unknown"),
    ("pipeline-1", 400 * DAY, {"keep_last": 1}, "keep-last"),  # keep-last beats expired
    ("pipeline-1", 1 * DAY, {"keep_last": 1}, "keep-last"),  # and young
]


@pytest.mark.parametrize(("tag", "age", "overrides", "reason"), PRECEDENCE)
def test_precedence(tag: str, age: timedelta | None, overrides: dict[str, object], reason: str) -> None:
    decision = decide_one(tag, age, make_policy(**overrides))
    assert (decision.reason, decision.delete) == (reason, False)


def pipe(n: int, age_days: float | None) -> TagInfo:
    return info(f"pipeline-{n}", None if age_days is None else timedelta(days=age_days))


def content(hex_digit: str, age_days: float | None) -> TagInfo:
    return info(f"hash-{hex_digit * 64}", None if age_days is None else timedelta(days=age_days))


KEEP_LAST = [
    # (keep_last, tags, the tags it keeps as keep-last)
    (2, [pipe(n, 10 + n) for n in range(5)], {"pipeline-0", "pipeline-1"}),
    (2, [pipe(n, 10 + n) for n in range(3)] + [content(c, 20 + i) for i, c in enumerate("123")],
     {"pipeline-0", "pipeline-1", f"hash-{'1' * 64}", f"hash-{'2' * 64}"}),  # per kind
    (2, [pipe(4, 1), pipe(3, 2), pipe(2, 10), pipe(1, 11)], {"pipeline-4", "pipeline-3"}),  # the newest, even young
    (5, [pipe(n, 10 + n) for n in range(3)], {"pipeline-0", "pipeline-1", "pipeline-2"}),  # fewer than N
    (0, [pipe(n, 10 + n) for n in range(3)], set()),
    # tags kept for another reason do not use up places: current (newest), unknown age, keep-regex
    (1, [info(CURRENT, DAY), content("1", 30), content("2", 40)], {f"hash-{'1' * 64}"}),
    (1, [pipe(1, None), pipe(2, 30), pipe(3, 40)], {"pipeline-2"}),
    (1, [pipe(99, 8), pipe(2, 30), pipe(3, 40)], {"pipeline-2"}),
    (1, [pipe(2, 30), pipe(10, 30)], {"pipeline-2"}),  # same time: the later tag name wins, deterministically
]


@pytest.mark.parametrize(("keep_last", "tags", "expected"), KEEP_LAST)
def test_keep_last(keep_last: int, tags: list[TagInfo], expected: set[str]) -> None:
    decisions = decide(tags, make_policy(keep_last=keep_last), NOW)
    assert {d.tag for d in decisions if d.reason == "keep-last"} == expected
    for d in decisions:  # the rest are decided by age as usual
        if d.reason not in ("keep-last", "current", "age-unknown", "keep-regex"):
            assert d.delete is (d.reason == "expired")


def test_keep_last_ranks_by_time_not_by_input_order_or_name() -> None:
    tags = [pipe(100, 30), pipe(2, 10), pipe(30, 20)]
    decisions = {d.tag: d.reason for d in decide(tags, make_policy(keep_last=1), NOW)}
    assert decisions == {"pipeline-100": "expired", "pipeline-2": "keep-last", "pipeline-30": "expired"}


def test_details_say_why() -> None:
    expired = decide_one("pipeline-41", 9 * DAY + 3 * HOUR)
    assert expired.detail == "tagged 9d3h ago (stamp) > 7d" and expired.kind == PIPELINE
    assert str(expired) == "delete pipeline-41: expired: tagged 9d3h ago (stamp) > 7d"
    young = decide_one(f"hash-{H}", 7 * DAY)
    assert young.detail == "tagged 7d ago (stamp) <= 7d" and young.action == "keep" and young.kind == CONTENT
    assert "in the future" in decide_one("pipeline-1", -HOUR).detail
    assert decide_one("pipeline-1", None).detail == "no pipeline stamp, push time or image creation time"
    [d] = decide([TagInfo("pipeline-1", None, None, "image-created")], make_policy(), NOW)
    assert d.detail == "no time from image-created"
    assert decide_one("release-1", DAY).detail == "matches ^release-"
    assert "among the 3 newest pipeline tags" in decide_one("pipeline-1", DAY, make_policy(keep_last=3)).detail


def test_a_time_without_zone_is_not_trusted() -> None:
    naive = (NOW - 400 * DAY).replace(tzinfo=None)
    [d] = decide([TagInfo("pipeline-1", "sha256:d", naive, "stamp")], make_policy(), NOW)
    assert (d.reason, d.delete) == ("age-unknown", False) and "time zone" in d.detail
    with pytest.raises(ValueError, match="timezone"):
        decide([pipe(1, 30)], make_policy(), NOW.replace(tzinfo=None))


def test_a_tag_given_twice_is_decided_once_and_cautiously() -> None:
    for entries in ([pipe(1, 30), pipe(1, 1)], [pipe(1, 1), pipe(1, 30)]):
        assert [(d.tag, d.reason) for d in decide(entries, make_policy(), NOW)] == [("pipeline-1", "young")]
    for entries in ([pipe(1, 30), pipe(1, None)], [pipe(1, None), pipe(1, 30)]):
        assert [d.reason for d in decide(entries, make_policy(), NOW)] == ["age-unknown"]


def test_kind_of_prefers_content_when_both_templates_match() -> None:
    p = make_policy(content=template_regex("{hash}", CONTENT), pipeline=template_regex("{pipeline_id}", PIPELINE))
    assert kind_of("1" * 64, p) == CONTENT
    assert kind_of("12", p) == PIPELINE
    assert kind_of("stable-x", p) is None


@pytest.mark.parametrize("overrides", [{"max_age": timedelta(0)}, {"max_age": -DAY}, {"keep_last": -1}])
def test_policy_refuses_nonsense(overrides: dict[str, object]) -> None:
    with pytest.raises(BadInput):
        make_policy(**overrides)


# --- summary -----------------------------------------------------------------------------------

def test_summary_counts_removals_per_kind_and_kept_tags_per_reason() -> None:
    decisions = [Decision("pipeline-1", True, "expired", kind=PIPELINE), Decision("p-2", True, "expired",
                 kind=PIPELINE), Decision("hash-1", True, "expired", kind=CONTENT),
                 Decision("hash-2", False, "current"), Decision("latest", False, "protected"),
                 Decision("5.0", False, "foreign"), Decision("6.0", False, "foreign")]
    summary = Summary.of(decisions)
    assert summary.removed == 3 and summary.removed_by_kind == {PIPELINE: 2, CONTENT: 1}
    assert summary.kept == {"current": 1, "protected": 1, "foreign": 2}


# --- properties over random tag sets -----------------------------------------------------------------------------

# The oracle's own idea of ci-tags' tags, written from the spec (not from template_regex)
OWNED_RE = re.compile(
    r"pipeline-(?:[0-9]+|[a-z0-9]([a-z0-9-]*[a-z0-9])?-[0-9]+)"
    r"|hash-[0-9a-f]{64}(-(amd64|arm64|arm|arm-v7|arm-v6|386|ppc64le|s390x|riscv64))?"
)
HEX64 = st.text("0123456789abcdef", min_size=64, max_size=64)
SLUG = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
OWNED_TAGS = st.one_of(
    st.integers(0, 10**6).map(lambda n: f"pipeline-{n}"),
    st.tuples(SLUG, st.integers(0, 999)).map(lambda x: f"pipeline-{x[0]}-{x[1]}"),
    HEX64.map(lambda h: f"hash-{h}"),
    st.tuples(HEX64, st.sampled_from(ARCHES)).map(lambda x: f"hash-{x[0]}-{x[1]}"),
)
OTHER_TAGS = st.one_of(
    st.tuples(HEX64, st.sampled_from(["mips", "arm64-v8"])).map(lambda x: f"hash-{x[0]}-{x[1]}"),
    st.sampled_from([*PUBLISH, *SLUGS, CURRENT, CURRENT_ARCH, "release-1", "5.0.0", "pipeline-", "pipeline-x"]),
    st.tuples(st.sampled_from(["sha256-", "sha512-"]), HEX64, st.sampled_from(["", ".sig", ".att", ".sbom"]))
    .map("".join),
    st.tuples(st.sampled_from(["v1", "hash-" + H, "pipeline-3"]), st.sampled_from([".sig", ".att", ".sbom"]))
    .map("".join),
    st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,30}", fullmatch=True),  # anything else
)
MAX_AGES = st.sampled_from([HOUR, 7 * DAY, 30 * DAY])
ZONES = st.sampled_from([timezone.utc, timezone(timedelta(hours=2)), timezone(timedelta(hours=-7))])


@st.composite
def tag_sets(draw: st.DrawFn) -> tuple[list[TagInfo], Policy]:
    max_age = draw(MAX_AGES)
    some_ages = [None, max_age, max_age - SECOND, max_age + SECOND, 2 * max_age, -HOUR]  # boundaries, ties
    infos = []
    for _ in range(draw(st.integers(0, 40))):
        tag = draw(OWNED_TAGS if draw(st.booleans()) else OTHER_TAGS)  # half of them are ci-tags' own
        age = draw(st.sampled_from(some_ages) if draw(st.integers(0, 3)) == 0 else
                   st.timedeltas(min_value=-DAY, max_value=3 * max_age))
        time = None if age is None else (NOW - age).astimezone(draw(ZONES))
        if time is not None and draw(st.integers(0, 19)) == 0:
            time = time.replace(tzinfo=None)  # naive: not to be trusted
        infos.append(TagInfo(tag, draw(st.sampled_from(["d1", "d2", "d3", None])), time, "stamp"))
    contents = sorted({i.tag for i in infos if i.tag.startswith("hash-")})
    current = draw(st.sets(st.sampled_from(contents))) if contents else set()
    policy = make_policy(max_age=max_age, keep_last=draw(st.integers(0, 4)), current=frozenset(current))
    return infos, policy


def oracle_deletions(infos: list[TagInfo], policy: Policy) -> tuple[set[str], dict[str, set[str]]]:
    """What the spec says to delete, and per kind the tags keep-last must save."""
    exempt = set(PUBLISH) | set(SLUGS) | set(policy.current)
    candidates: dict[str, list[tuple[datetime, str]]] = {"pipeline": [], "content": []}
    for i in {i.tag: i for i in infos}.values():  # tags are unique in these sets (see the test)
        looks_signed = i.tag.startswith(("sha256-", "sha512-")) or i.tag.endswith((".sig", ".att", ".sbom"))
        kept = (i.tag in exempt or looks_signed or any(re.search(k, i.tag) for k in KEEP)
                or not OWNED_RE.fullmatch(i.tag) or i.time is None or i.time.tzinfo is None)
        if not kept:
            assert i.time is not None
            candidates["pipeline" if i.tag.startswith("pipeline-") else "content"].append((i.time, i.tag))
    # a pipeline tag numbered after a young one of its series is dated by it (rule 9 over pipeline numbers)
    series: dict[str, list[tuple[int, str, datetime]]] = {}
    for when, tag in candidates["pipeline"]:
        name, _, number = tag.removeprefix("pipeline-").rpartition("-")
        series.setdefault(name, []).append((int(number), tag, when))
    candidates["pipeline"] = []
    for found in series.values():
        young: datetime | None = None
        for _, tag, when in sorted(found, key=lambda x: (x[0], x[1])):
            if young is not None and when < young:
                when = young
            elif young is None and NOW - when <= policy.max_age:
                young = when
            candidates["pipeline"].append((when, tag))
    saved = {kind: {t for _, t in sorted(c, reverse=True)[: policy.keep_last]} for kind, c in candidates.items()}
    doomed = {t for c in candidates.values() for when, t in c if NOW - when > policy.max_age}
    return doomed - saved["pipeline"] - saved["content"], saved


@settings(max_examples=300, deadline=None)
@given(tag_sets(), st.data())
def test_decide_deletes_exactly_what_the_spec_allows(case: tuple[list[TagInfo], Policy], data: st.DataObject) -> None:
    infos, policy = case
    infos = list({i.tag: i for i in infos}.values())  # one entry per tag, as a registry lists them
    by_tag = {i.tag: i for i in infos}
    decisions = decide(infos, policy, NOW)

    assert [d.tag for d in decisions] == sorted(by_tag)  # one decision per tag, in tag order
    assert all(d.reason in REASONS and d.delete == (d.reason == "expired") for d in decisions)
    assert decide(data.draw(st.permutations(infos)), policy, NOW) == decisions  # independent of input order
    assert decide(infos, policy, NOW) == decisions  # deterministic

    for d in (d for d in decisions if d.delete):  # never a tag the spec keeps
        i = by_tag[d.tag]
        assert d.tag not in PUBLISH + SLUGS and d.tag not in policy.current
        assert not any(re.search(k, d.tag) for k in KEEP)
        assert not d.tag.startswith(("sha256-", "sha512-")) and not d.tag.endswith((".sig", ".att", ".sbom"))
        assert OWNED_RE.fullmatch(d.tag)
        assert i.time is not None and i.time.tzinfo is not None and NOW - i.time > policy.max_age

    expected, saved = oracle_deletions(infos, policy)
    assert {d.tag for d in decisions if d.delete} == expected  # ...and every tag it allows
    for kind, tags in saved.items():  # keep-last saves exactly the min(N, count) newest of each kind
        assert {d.tag for d in decisions if d.reason == "keep-last" and d.kind == kind} == tags

    summary = Summary.of(decisions)
    assert summary.removed == len(expected) and sum(summary.kept.values()) == len(decisions) - len(expected)


@settings(max_examples=200, deadline=None)
@given(tag_sets())
def test_kept_tags_sharing_a_digest_with_a_deleted_one_are_listed(case: tuple[list[TagInfo], Policy]) -> None:
    infos, policy = case
    digests = {i.tag: i.digest for i in infos}
    decisions = decide(infos, policy, NOW)
    deleted = {d.tag for d in decisions if d.delete}
    doomed_digests = Counter(digests[t] for t in deleted if digests[t] is not None)
    expected = {t: d for t, d in digests.items() if t not in deleted and d in doomed_digests}
    assert must_still_resolve(digests, decisions) == expected


@settings(max_examples=200, deadline=None)
@given(tag_sets())
def test_a_tag_whose_age_does_not_matter_is_kept_whatever_its_age(case: tuple[list[TagInfo], Policy]) -> None:
    """The janitor skips looking up the age (an image config read) of tags for which age_matters is False:
    that is only safe if such a tag is kept at any age, and known or not."""
    infos, policy = case
    for i in infos:
        if age_matters(i.tag, policy):
            continue
        for age in (None, 10_000 * DAY, 0 * DAY):
            assert not decide([info(i.tag, age)], policy, NOW)[0].delete


def test_age_matters_for_owned_tags_that_no_rule_keeps_at_any_age() -> None:
    policy = make_policy()
    assert age_matters(f"hash-{H}", policy) and age_matters("pipeline-12", policy)
    assert not age_matters(CURRENT, policy)  # current content tag: kept at any age
    assert not any(age_matters(t, policy) for t in ("latest", "main", "release-1", f"sha256-{H}.sig", "v1.0"))
