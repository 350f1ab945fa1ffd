"""The pure model of an image's graph (ci_tags/core/graph.py) and of its expiry (ci_tags/core/graph_expiry.py)."""

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ci_tags.core.graph import (
    Referrer,
    graph_tag,
    merged_index,
    pruned_index,
    referrers_in,
    referrers_index,
    referrers_tag,
)
from ci_tags.core.graph_expiry import RepositoryView, held_digests, lost_digests, plan_expiry
from tests.support.referrers import cosign_tag

A, B, C, D, E, F = (f"sha256:{c * 64}" for c in "abcdef")
S1, S2, X = (f"sha256:{c * 64}" for c in "123")
NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
DAY = timedelta(days=1)


def ref(digest: str, artifact: str = "application/spdx+json") -> Referrer:
    return Referrer(digest, "application/vnd.oci.image.manifest.v1+json", 100, artifact)


@pytest.mark.parametrize(("tag", "expected"), [
    (f"sha256-{'a' * 64}", (A, "referrers-index")),
    (f"sha256-{'a' * 64}.sig", (A, "signature")),
    (f"sha256-{'a' * 64}.att", (A, "attestation")),
    (f"sha256-{'a' * 64}.sbom", (A, "sbom")),
    (f"sha256-{'a' * 63}.sig", None),
    (f"sha256-{'a' * 64}.sig2", None),
    ("latest", None),
    (f"sha512-{'a' * 64}", None),
])
def test_graph_tags_are_read_from_their_names(tag, expected):
    parsed = graph_tag(tag)
    assert (None if parsed is None else (parsed.subject, parsed.kind)) == expected


def test_the_tag_schema_follows_the_spec_truncation_and_replacement():
    assert referrers_tag(A) == f"sha256-{'a' * 64}"
    assert cosign_tag(A, ".att") == f"sha256-{'a' * 64}.att"
    # the spec's own example (distribution-spec, "Referrers Tag Schema")
    weird = ("test+algorithm+using+algorithm+separators+and+lots+of+characters+to+excercise+overall+truncation:"
             "alsoSome=InTheEncodedSectionToShowHyphenReplacementAndLotsAndLotsOfCharactersToExcerciseEncodedTruncation")
    assert referrers_tag(weird) == ("test-algorithm-using-algorithm-s-"
                                    "alsoSome-InTheEncodedSectionToShowHyphenReplacementAndLotsAndLot")


def test_merging_keeps_every_entry_already_there_and_writes_nothing_when_all_are_listed():
    theirs = referrers_index([ref(A, "application/vnd.example.vex")])
    merged = merged_index(theirs, [ref(B), ref(A)])
    assert merged is not None and [r.digest for r in referrers_in(merged)] == [A, B]
    assert merged_index(merged, [ref(A), ref(B)]) is None
    assert [r.digest for r in referrers_in(merged_index(None, [ref(C), ref(C)]) or theirs)] == [C]


def test_pruning_takes_only_the_given_entries_and_an_empty_index_goes():
    index = referrers_index([ref(A), ref(B)])
    pruned = pruned_index(index, [A])
    assert pruned is not None and [r.digest for r in referrers_in(pruned)] == [B]
    assert pruned_index(index, [A, B]) is None


@given(st.lists(st.sampled_from([A, B, C, D, E]), max_size=6), st.lists(st.sampled_from([A, B, C, D, E]), max_size=6))
def test_a_merge_never_drops_an_entry(existing, added):
    start = referrers_index([ref(d) for d in dict.fromkeys(existing)]) if existing else None
    merged = merged_index(start, [ref(d) for d in added])
    whole = merged or start
    result = {r.digest for r in referrers_in(whole)} if whole is not None else set()
    assert set(existing) | set(added) == result


def view(**kw):
    return RepositoryView(**kw)


def test_a_digest_held_by_another_tag_keeps_its_graph_and_one_that_lost_its_last_tag_loses_it():
    tags = {"old": A, "stable": B, "also-b": B, cosign_tag(A, ".sig"): C, cosign_tag(B, ".sig"): D}
    v = view(tag_digests=tags)
    expiry = plan_expiry(v, ["old", "also-b"], 7 * DAY, NOW)
    assert [(r.name, r.reason) for r in expiry.removals] == [(cosign_tag(A, ".sig"), "subject-removed")]
    assert held_digests(v, ["old", "also-b"]) == {B, D}


def test_children_of_a_kept_index_and_their_graphs_are_never_touched():
    tags = {"kept": X, "old": S1, cosign_tag(A, ".sig"): E, cosign_tag(B, ".sig"): F, cosign_tag(C, ".sig"): D}
    v = view(tag_digests=tags, children={X: [A, B], S1: [B, C]}, index_entries={})
    assert lost_digests(v, ["old"]) == {S1, C}  # B is also a child of the kept index
    expiry = plan_expiry(v, ["old"], 7 * DAY, NOW)
    assert [r.name for r in expiry.removals] == [cosign_tag(C, ".sig")]


def test_referrers_of_referrers_go_with_their_image_unless_a_tag_holds_them():
    tags = {"old": A, referrers_tag(A): S2, cosign_tag(B, ".sig"): E, "sbom-kept": C}
    v = view(tag_digests=tags, index_entries={A: [ref(B), ref(C)]})
    names = {r.name: r.kind for r in plan_expiry(v, ["old"], 7 * DAY, NOW).removals}
    assert names == {referrers_tag(A): "referrers index", B: "referrer", cosign_tag(B, ".sig"): "signature"}


def test_orphans_go_only_when_dated_older_than_max_age():
    tags = {"x": X, cosign_tag(A, ".sig"): D, cosign_tag(B, ".sig"): E, cosign_tag(C, ".sig"): F}
    v = view(tag_digests=tags, times={cosign_tag(A, ".sig"): NOW - 8 * DAY, cosign_tag(B, ".sig"): NOW - 7 * DAY})
    expiry = plan_expiry(v, [], 7 * DAY, NOW)
    assert [(r.name, r.reason) for r in expiry.removals] == [(cosign_tag(A, ".sig"), "orphaned")]
    assert expiry.removals[0].detail.startswith(f"orphaned signature of {A}: no tag holds it")
    assert sorted(k.tag for k in expiry.kept) == [cosign_tag(B, ".sig"), cosign_tag(C, ".sig")]
    assert plan_expiry(v, [], 7 * DAY, NOW, orphans=False).removals == []


def test_a_manifest_deleted_by_digest_loses_its_graph_whatever_its_tags():
    tags = {"v1": A, "v1-copy": A, cosign_tag(A, ".sig"): D}
    expiry = plan_expiry(view(tag_digests=tags), [], 7 * DAY, NOW, deleted=[A], orphans=False)
    assert [r.name for r in expiry.removals] == [cosign_tag(A, ".sig")]
