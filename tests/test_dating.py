"""Dating on the real registry with as few reads as pipeline numbers allow, and what kept stamps keep (in-use)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from ci_tags.core.manifest import ANNOTATION_CONTENT_TAG, ANNOTATION_CREATED, ANNOTATION_KIND
from ci_tags.core.policy import CONTENT, IN_USE, PIPELINE, Policy, TagInfo, decide, pipeline_series, template_regex
from ci_tags.oci.stamp import stamp
from tests.support.images import in_parallel, push_image

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
POLICY = Policy(max_age=timedelta(days=7), content=template_regex("hash-{hash}", CONTENT),
                pipeline=template_regex("pipeline-{pipeline_id}", PIPELINE))


def ago(days: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_pipeline_tags_are_ordered_by_number_within_their_series() -> None:
    tags = ["pipeline-10", "pipeline-9", "pipeline-main-3", "pipeline-main-12", "latest", "pipeline-feat-x-1"]
    assert pipeline_series(tags, POLICY) == [["pipeline-9", "pipeline-10"], ["pipeline-feat-x-1"],
                                             ["pipeline-main-3", "pipeline-main-12"]]


def test_a_content_tag_a_kept_stamp_names_is_in_use_and_one_an_expired_stamp_names_is_not() -> None:
    old = "hash-" + "a" * 64
    other = "hash-" + "b" * 64
    infos = [
        TagInfo(old, "sha256:old", NOW - timedelta(days=30), "image-created"),
        TagInfo(other, "sha256:other", NOW - timedelta(days=30), "image-created"),
        TagInfo("latest", "sha256:l", None, "unknown", frozenset({old})),
        TagInfo("pipeline-3", "sha256:p3", NOW - timedelta(days=20), "stamp", frozenset({other, "sha256:other"})),
    ]
    decisions = {d.tag: d for d in decide(infos, POLICY, NOW)}
    assert decisions[old].reason == IN_USE and "latest" in decisions[old].detail
    assert decisions[other].delete and decisions["pipeline-3"].delete  # its only user expires with it


def test_steady_state_reads_only_the_oldest_pipeline_tag(reg, registry, cli) -> None:
    repo = "dating/steady"
    image = push_image(reg, repo, "hash-" + "1" * 64, created=ago(2))
    in_parallel(lambda n: stamp(reg, repo, image.manifest, f"pipeline-{n}", {ANNOTATION_KIND: "pipeline",
                                                                             ANNOTATION_CREATED: ago(6 - n * 0.1)},
                                "amd64"), range(40))
    mark = registry.mark()
    result = cli("janitor", f"{registry.host}/{repo}", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)["repositories"][0]
    assert report["removed"] == []
    assert report["kept"]["pipeline-39"] == "young"
    manifest_reads = [r for r in registry.since(mark) if "/manifests/" in r.uri]
    assert len(manifest_reads) <= 3, manifest_reads  # the content tag and the oldest pipeline tag, not 41


def test_expired_pipeline_tags_are_each_read_and_one_restamped_out_of_order_is_kept(reg, registry, cli) -> None:
    repo = "dating/boundary"
    image = push_image(reg, repo, "hash-" + "2" * 64, created=ago(1))
    ages = {n: 30.5 - n for n in range(30)}  # pipeline-0 is 30.5 days old, pipeline-29 1.5 days
    ages[5] = 0.5  # a re-run job stamped an old number again today
    for n, days in ages.items():
        stamp(reg, repo, image.manifest, f"pipeline-{n}", {ANNOTATION_KIND: "pipeline",
                                                           ANNOTATION_CREATED: ago(days)}, "amd64")
    result = cli("janitor", f"{registry.host}/{repo}", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)["repositories"][0]
    removed = set(report["removed"])
    assert "pipeline-5" not in removed and report["kept"]["pipeline-5"] == "young"
    assert removed == {f"pipeline-{n}" for n in range(5)}  # each read; never one that is young
    # numbered after a young tag: tagged after it, so kept while it is young (a run that read them all decides as
    # one that read up to the first young tag only: what one run removes, the next has read)
    assert {report["kept"][f"pipeline-{n}"] for n in range(6, 30)} == {"young"}


def test_a_branch_janitor_keeps_the_content_tag_latest_was_published_from(reg, registry, cli) -> None:
    """main's content tag is a month old and not current on a branch whose Dockerfile changed: latest's stamp
    names it, so it stays (main and its branches would otherwise rebuild it)."""
    repo = "dating/branch"
    mains = "hash-" + "3" * 64
    old = push_image(reg, repo, mains, created=ago(30))
    stamp(reg, repo, old.manifest, "latest", {ANNOTATION_KIND: "publish", ANNOTATION_CREATED: ago(30),
                                               ANNOTATION_CONTENT_TAG: mains}, "amd64")
    stamp(reg, repo, old.manifest, "pipeline-1", {ANNOTATION_KIND: "pipeline", ANNOTATION_CREATED: ago(30),
                                                   ANNOTATION_CONTENT_TAG: mains}, "amd64")
    result = cli("janitor", f"{registry.host}/{repo}", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)["repositories"][0]
    assert report["removed"] == ["pipeline-1"]
    assert report["kept"][mains] == "in-use"
    assert reg.head_manifest(repo, mains) == old.manifest.digest
