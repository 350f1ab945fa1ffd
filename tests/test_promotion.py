"""The pure rules of promote (ci_tags.core.promotion): reading the file, and the decision per entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from ci_tags.core.promotion import Observed, PromotionEntry, decide
from ci_tags.core.reference import parse_reference
from ci_tags.errors import BadInput
from ci_tags.project.release_files import load_promotion_file
from ci_tags.project.yamlfile import MalformedFile

A, B = "sha256:" + "a" * 64, "sha256:" + "b" * 64


def entry(index: int, target: str, source: str) -> PromotionEntry:
    return PromotionEntry(index, index + 2, parse_reference(target), parse_reference(source), f"commit-{index}")


@pytest.mark.parametrize(
    ("source", "target", "action"),
    [
        (A, None, "copy"),  # the tag is missing
        (A, A, "nothing"),  # the tag is on the same image
        (A, B, "conflict"),  # the tag is on another image
        (None, None, "missing-source"),
        (None, A, "missing-source"),
    ],
)
def test_one_entry(source: str | None, target: str | None, action: str) -> None:
    e = entry(0, "r.example/app:stx.4.0", "r.example/app:build-1")
    [d] = decide([e], {0: Observed(source, target)})
    assert d.action == action
    assert d.is_problem == (action in ("conflict", "missing-source"))


def test_two_entries_asking_one_tag_with_different_images_both_conflict() -> None:
    e0 = entry(0, "r.example/app:stx.4.0", "r.example/app:build-1")
    e1 = entry(1, "r.example/app:stx.4.0", "r.example/app:build-2")
    decisions = decide([e0, e1], {0: Observed(A, None), 1: Observed(B, None)})
    assert [d.action for d in decisions] == ["conflict", "conflict"]
    assert "images[1]" in decisions[0].reason and "images[0]" in decisions[1].reason


def test_two_entries_asking_one_tag_with_the_same_image_copy_once() -> None:
    e0 = entry(0, "r.example/app:stx.4.0", "r.example/app:build-1")
    e1 = entry(1, "r.example/app:stx.4.0", "r.example/app@" + A)
    decisions = decide([e0, e1], {0: Observed(A, None), 1: Observed(A, None)})
    assert [d.action for d in decisions] == ["copy", "nothing"]


def test_an_unreadable_registry_is_a_problem() -> None:
    e = entry(0, "r.example/app:stx.4.0", "r.example/app:build-1")
    [d] = decide([e], {0: Observed(None, None, source_error="r.example/app:build-1: refused")})
    assert d.action == "unreadable" and d.is_problem


GOOD = """\
images:
  - name: docker.io/starlingx/k8s-cni-sriov
    src_build_tag: master-centos-stable-20191203T153530Z.0
    src_ref: https://opendev.org/starlingx/integ/commit/dac417bd
    tag: stx.4.0-v2.2
  - name: registry.example:5000/stx/app
    source: build.example/stx/app@sha256:{a}
    src_ref: https://opendev.org/x/commit/1
    tag: stx.4.0
  - name: registry.example:5000/stx/other
    source: build.example/stx/other
    src_build_tag: b-7
    src_ref: https://opendev.org/x/commit/2
    tag: stx.4.0
"""


def test_the_file_reads_each_entry_with_its_source(tmp_path: Path) -> None:
    path = tmp_path / "images.yml"
    path.write_text(GOOD.replace("{a}", "a" * 64))
    e0, e1, e2 = load_promotion_file(path)
    assert str(e0.target) == "docker.io/starlingx/k8s-cni-sriov:stx.4.0-v2.2"
    assert str(e0.source) == "docker.io/starlingx/k8s-cni-sriov:master-centos-stable-20191203T153530Z.0"
    assert e0.src_ref == "https://opendev.org/starlingx/integ/commit/dac417bd" and e0.line == 2
    assert str(e1.source) == f"build.example/stx/app@sha256:{'a' * 64}"
    assert str(e2.source) == "build.example/stx/other:b-7" and e2.line == 10


def test_every_malformed_entry_is_listed_with_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "images.yml"
    path.write_text(
        "images:\n"
        "  - name: r.example/app\n"  # line 2: fine
        "    src_build_tag: b1\n"
        "    src_ref: c1\n"
        "    tag: v1\n"
        "  - name: r.example/app\n"  # line 6: a bad tag on line 9
        "    src_build_tag: b1\n"
        "    src_ref: c1\n"
        "    tag: 'v 2'\n"
        "  - name: r.example/App\n"  # line 10: uppercase repository
        "    src_build_tag: b1\n"
        "    src_ref: c1\n"
        "    tag: v3\n"
        "  - name: r.example/app\n"  # line 14: no src_ref: fine (StarlingX makes it optional)
        "    src_build_tag: b1\n"
        "    tag: v4\n"
        "  - name: r.example/app\n"  # line 17: an unknown key
        "    src_build_tag: b1\n"
        "    src_ref: c1\n"
        "    tags: v5\n"
    )
    with pytest.raises(MalformedFile) as caught:
        load_promotion_file(path)
    assert caught.value.exit_code == 2
    problems = caught.value.problems
    assert len(problems) == 3
    assert problems[0].startswith(f"{path}:9: images[1].tag: invalid tag 'v 2'")
    assert problems[1].startswith(f"{path}:10: images[2].name: ")
    assert problems[2].startswith(f"{path}:20: images[4].tags: unknown key")


def test_an_entry_without_src_ref_is_read_with_it_absent(tmp_path: Path) -> None:
    path = tmp_path / "images.yml"
    path.write_text("images:\n  - name: r.example/app\n    src_build_tag: b1\n    tag: v1\n")
    (entry,) = load_promotion_file(path)
    assert entry.src_ref is None and str(entry.target) == "r.example/app:v1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("images: {}\n", "images: expected a list of entries"),
        ("images: []\n", "images: the list is empty"),
        ("other: 1\n", "other: unknown key"),
        ("images: [\n", "malformed YAML"),
        ("images:\n  - name: r.example/app:v1\n    src_build_tag: b\n    src_ref: c\n    tag: t\n",
         "images[0].name: 'r.example/app:v1' names a tag or digest"),
        ("images:\n  - name: r.example/app\n    src_ref: c\n    tag: t\n", "images[0].src_build_tag: missing"),
    ],
)
def test_malformed_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "images.yml"
    path.write_text(text)
    with pytest.raises(BadInput) as caught:
        load_promotion_file(path)
    assert message in str(caught.value)


from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

DIGESTS = st.sampled_from([None, A, B])


@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 1), DIGESTS, DIGESTS), min_size=1, max_size=6))
def test_decisions_hold_for_any_file_and_state(rows: list[tuple[int, int, str | None, str | None]]) -> None:
    """Whatever the file and the registries hold: at most one copy per tag, never a copy over another image,
    nothing to do only where the tag already has the source's image (or another entry copies it), and every
    entry whose tag has another image, or whose source is missing, is a problem."""
    entries = [entry(i, f"r.example/app:t{t}", f"r.example/app:b{s}") for i, (t, s, _, _) in enumerate(rows)]
    # one registry state: a tag or build tag shows the same digest to every entry that names it
    tag_state = {f"t{t}": dst for t, _, _, dst in rows}
    build_state = {f"b{s}": src for _, s, src, _ in rows}
    observed = {e.index: Observed(build_state[e.source.tag or ""], tag_state[e.target.tag or ""]) for e in entries}
    decisions = decide(entries, observed)
    assert [d.entry for d in decisions] == entries
    copies = [d.entry.target for d in decisions if d.action == "copy"]
    assert len(copies) == len(set(copies))
    for d in decisions:
        seen = observed[d.entry.index]
        if d.action == "copy":
            assert seen.target_digest is None and seen.source_digest is not None
        if seen.source_digest is None:
            assert d.action == "missing-source"
        elif seen.target_digest not in (None, seen.source_digest):
            assert d.action == "conflict"
        if d.action == "nothing":
            assert seen.target_digest in (None, seen.source_digest)
