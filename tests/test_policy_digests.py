"""The janitor's rules for tags that share a digest (ci_tags/core/policy.py): which may go by their digest, and
which kept tags must still resolve after the removals."""

from __future__ import annotations

import pytest

from ci_tags.core.policy import Decision, deletable_by_digest, must_still_resolve

SIBLINGS = [
    # (tag -> digest, deleted tags, expected kept tag -> digest)
    ({"pipeline-1": "d1", "hash-1": "d1", "latest": "d2"}, {"pipeline-1"}, {"hash-1": "d1"}),
    ({"pipeline-1": "d1", "pipeline-2": "d1"}, {"pipeline-1", "pipeline-2"}, {}),  # both go: nothing to check
    ({"pipeline-1": "d1", "other": "d1", "x": None}, {"pipeline-1"}, {"other": "d1"}),
    ({"pipeline-1": None, "other": "d1"}, {"pipeline-1"}, {}),  # an unreadable digest shares nothing
    ({"a": "d1", "b": "d2"}, set(), {}),
    ({"a": "d1", "b": "d1", "c": "d2", "d": "d2", "e": "d3"}, {"a", "c"}, {"b": "d1", "d": "d2"}),
]


BY_DIGEST = [
    # (tag -> digest, stamped, referenced by a kept index, every manifest read, may go by its digest)
    ({"pipeline-1": "d1", "latest": "d2"}, True, set(), True, True),  # ci-tags' own unshared stamp
    ({"pipeline-1": "d1", "latest": "d2"}, False, set(), True, False),  # an image: untag, whatever it shares
    ({"pipeline-1": "d1", "copy": "d1"}, True, set(), True, False),  # another tag shares the stamp
    ({"pipeline-1": "d1", "latest": "d2"}, True, {"d1"}, True, False),  # a kept index refers to it
    ({"pipeline-1": "d1", "latest": "d2"}, True, set(), False, False),  # an unread manifest might refer to it
]


@pytest.mark.parametrize(("digests", "stamped", "referenced", "all_read", "expected"), BY_DIGEST)
def test_only_an_unshared_unreferenced_stamp_is_deleted_by_digest(digests: dict[str, str], stamped: bool,
                                                                  referenced: set[str], all_read: bool,
                                                                  expected: bool) -> None:
    assert deletable_by_digest("pipeline-1", digests, stamped=stamped, referenced=referenced,
                               all_read=all_read) is expected


@pytest.mark.parametrize(("digests", "deleted", "expected"), SIBLINGS)
def test_must_still_resolve(digests: dict[str, str | None], deleted: set[str], expected: dict[str, str]) -> None:
    decisions = [Decision(t, t in deleted, "expired" if t in deleted else "foreign") for t in digests]
    assert must_still_resolve(digests, decisions) == expected
