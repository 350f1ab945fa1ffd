"""The vocabulary of the janitor's policy: which tags a content or pipeline tag template makes (a strict pattern,
checked against the producers in config.py and reference.py), and the durations --max-age takes."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ci_tags.core.arches import ARCHES
from ci_tags.core.policy import CONTENT, PIPELINE, template_regex
from ci_tags.core.reference import slugify
from ci_tags.core.times import format_duration, parse_duration
from ci_tags.errors import BadInput
from ci_tags.project.config import TagTemplates

H, H2 = "ab" * 32, "cd" * 32
DAY, HOUR = timedelta(days=1), timedelta(hours=1)


# --- templates ---------------------------------------------------------------------------------------------------

TEMPLATES = [
    # (template, kind, options, tags it makes, tags it does not make)
    ("hash-{hash}", CONTENT, {}, [f"hash-{H}", f"hash-{H}-amd64", f"hash-{H}-arm-v7", f"hash-{H}-386"],
     [f"hash-{H[:63]}", f"hash-{H}-", f"hash-{H}-arm64-v8", f"hash-{H}amd64", f"hash-{H}\n"]),
    ("hash-{hash}", CONTENT, {"hash_length": 12}, [f"hash-{H[:12]}", f"hash-{H[:12]}-s390x"], [f"hash-{H}"]),
    ("hash-{hash}", CONTENT, {"arches": ("amd64", "arm64-v8")}, [f"hash-{H}-arm64-v8"], [f"hash-{H}-arm64"]),
    ("c.{hash}", CONTENT, {}, [f"c.{H}"], [f"cx{H}", f"c{H}"]),  # literals are escaped
    ("{hash}", CONTENT, {}, [H, f"{H}-riscv64"], [f"v{H}"]),
    ("{hash}_{hash}", CONTENT, {"hash_length": 12}, [f"{H[:12]}_{H[:12]}"], [f"{H[:12]}_{H2[:12]}"]),  # twice
    ("pipeline-{pipeline_id}", PIPELINE, {}, ["pipeline-1", "pipeline-007", "pipeline-a-1", "pipeline-a-b-22"],
     ["pipeline-a", "pipeline--1", "pipeline-1-", "pipeline-1.5", "pipeline-1-amd64", "pipeline-A-1"]),
    ("ci.{pipeline_id}.build", PIPELINE, {}, ["ci.3.build", "ci.main-3.build"], ["ciX3.build", "ci.3.buildX"]),
]


@pytest.mark.parametrize(("template", "kind", "options", "good", "bad"), TEMPLATES)
def test_template_regex(template: str, kind: str, options: dict[str, object], good: list[str],
                        bad: list[str]) -> None:
    pattern = template_regex(template, kind, **options)  # type: ignore[arg-type]  # table rows
    assert [t for t in good if not pattern.fullmatch(t)] == []
    assert [t for t in bad if pattern.fullmatch(t)] == []


def test_template_regex_captures_the_parts() -> None:
    m = template_regex("hash-{hash}", CONTENT).fullmatch(f"hash-{H}-arm64")
    assert m is not None and (m["hash"], m["arch"]) == (H, "arm64")
    m = template_regex("pipeline-{pipeline_id}", PIPELINE).fullmatch("pipeline-main-12")
    assert m is not None and m["pipeline_id"] == "main-12"


BAD_TEMPLATES = [
    ("hash-", CONTENT, {}, "must contain {hash}"),
    ("pipeline-{hash}", PIPELINE, {}, "unknown placeholder {hash}"),
    ("hash-{hash}-{pipeline_id}", CONTENT, {}, "unknown placeholder {pipeline_id}"),
    ("hash-{hash}-{arch}", CONTENT, {}, "unknown placeholder {arch}"),
    ("hash-{hash", CONTENT, {}, "must contain"),
    ("hash}-{hash}", CONTENT, {}, "unbalanced brace"),
    ("hash {hash}", CONTENT, {}, "does not make valid tags"),
    ("-{pipeline_id}", PIPELINE, {}, "does not make valid tags"),
    ("hash-{hash}", CONTENT, {"hash_length": 11}, "hash length 11"),
    ("hash-{hash}", CONTENT, {"hash_length": 65}, "hash length 65"),
]


@pytest.mark.parametrize(("template", "kind", "options", "message"), BAD_TEMPLATES)
def test_bad_templates(template: str, kind: str, options: dict[str, object], message: str) -> None:
    with pytest.raises(BadInput, match=re.escape(message)):
        template_regex(template, kind, **options)  # type: ignore[arg-type]  # table rows


def test_template_regex_needs_a_known_kind() -> None:
    with pytest.raises(ValueError, match="kind"):
        template_regex("x-{hash}", "image")  # type: ignore[arg-type]  # a kind the type rules out, on purpose


prefixes = st.sampled_from(["", "hash-", "c.", "img_", "v"])
suffixes = st.sampled_from(["", "-x", ".c", "_1"])


@settings(max_examples=200, deadline=None)
@given(prefixes, suffixes, st.text("0123456789abcdef", min_size=64, max_size=64), st.none() | st.sampled_from(ARCHES),
       st.text(min_size=1, max_size=80), st.integers(0, 10**9))
def test_templates_recognise_every_tag_that_ci_tags_makes(prefix: str, suffix: str, hex64: str, arch: str | None,
                                                          branch: str, number: int) -> None:
    """Round trip with the producers: config.TagTemplates and reference.slugify (as Jenkins ids use it)."""
    templates = TagTemplates(f"{prefix}{{hash}}{suffix}", f"{prefix or 'p-'}{{pipeline_id}}{suffix}")
    content_tag = templates.content_tag(hex64, arch)
    match = template_regex(templates.content, CONTENT).fullmatch(content_tag)
    assert match is not None and match["hash"] == hex64 and match["arch"] == arch
    pipeline_re = template_regex(templates.pipeline, PIPELINE)
    assert pipeline_re.fullmatch(templates.pipeline_tag(str(number)))
    try:
        jenkins_id = f"{slugify(branch)}-{number}"
    except BadInput:  # a branch name with no letters or digits: no Jenkins id either
        return
    assert pipeline_re.fullmatch(templates.pipeline_tag(jenkins_id))


# --- durations ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "delta"), [
    ("7d", 7 * DAY), ("36h", 36 * HOUR), ("2w", 14 * DAY), ("1d12h", 36 * HOUR), ("90m", timedelta(minutes=90)),
    ("1w2d3h4m", timedelta(days=9, hours=3, minutes=4)), (" 7d ", 7 * DAY), ("0d1m", timedelta(minutes=1)),
])
def test_parse_duration(text: str, delta: timedelta) -> None:
    assert parse_duration(text) == delta


@pytest.mark.parametrize("text", [
    "", " ", "7", "d7", "7 days", "7D", "0d", "0w0d0h0m", "-1d", "+1d", "7d!", "1.5d", "7s", "12h1d", "1d1d",
    "\u0663w", "\u0663d", "1d\u0663h", "\u0663m",  # an Arabic-Indic digit three: int() takes it, durations don't
    "99999999999d", "9" * 5000 + "d",
])
def test_bad_durations(text: str) -> None:
    with pytest.raises(BadInput, match="invalid duration"):
        parse_duration(text)


@pytest.mark.parametrize(("delta", "text"), [
    (7 * DAY, "7d"), (36 * HOUR, "1d12h"), (timedelta(days=9, seconds=3725), "9d1h2m5s"), (timedelta(0), "0s"),
    (timedelta(microseconds=10), "0s"), (-5 * timedelta(minutes=1), "-5m"),
])
def test_format_duration(delta: timedelta, text: str) -> None:
    assert format_duration(delta) == text


@given(st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=10**5)))
def test_formatted_max_ages_parse_back(delta: timedelta) -> None:
    whole_minutes = timedelta(minutes=delta // timedelta(minutes=1))
    assert parse_duration(format_duration(whole_minutes)) == whole_minutes
