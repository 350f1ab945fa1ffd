"""Content hashes: table-driven rules and hypothesis properties (moving the checkout or touching mtimes never
changes a hash; changing any copied byte always does)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ci_tags.core.dockerfile import parse_dockerfile, rewrite_bases
from ci_tags.core.dockerignore import DockerIgnore
from ci_tags.errors import BadInput
from ci_tags.project.hashing import content_hash, order_images, parent_of


def make_context(root: Path, dockerfile: str = "FROM debian:12\nCOPY src/ /src/\nCOPY run.sh /\n") -> Path:
    (root / "src" / "sub").mkdir(parents=True, exist_ok=True)
    (root / "src" / "a.txt").write_text("a\n")
    (root / "src" / "sub" / "b.txt").write_text("b\n")
    (root / "run.sh").write_text("#!/bin/sh\n")
    (root / "unrelated.txt").write_text("nobody copies me\n")
    (root / "Dockerfile").write_text(dockerfile)
    return root


def h(root: Path, **kw) -> str:
    args: dict[str, Any] = {"arch": "amd64", "build_args": {}, "target": None, "bases": {}}
    args.update(kw)
    return content_hash(root / "Dockerfile", root, **args).hex


@pytest.fixture
def ctx(tmp_path):
    return make_context(tmp_path / "ctx")


CHANGES = {
    "dockerfile bytes": (lambda r: (r / "Dockerfile").write_text((r / "Dockerfile").read_text() + "# x\n"), True),
    "copied file content": (lambda r: (r / "src" / "a.txt").write_text("A\n"), True),
    "copied nested file": (lambda r: (r / "src" / "sub" / "b.txt").write_text("B\n"), True),
    "new file in copied dir": (lambda r: (r / "src" / "c.txt").write_text("c\n"), True),
    "copied file renamed": (lambda r: (r / "src" / "a.txt").rename(r / "src" / "z.txt"), True),
    "exec bit": (lambda r: (r / "run.sh").chmod(0o755), True),
    "symlink target": (lambda r: (r / "src" / "link").symlink_to("a.txt"), True),
    "unrelated file": (lambda r: (r / "unrelated.txt").write_text("changed\n"), False),
    "new unrelated file": (lambda r: (r / "other.txt").write_text("x\n"), False),
    "mtime": (lambda r: os.utime(r / "src" / "a.txt", (1, 1)), False),
}


@pytest.mark.parametrize("name", list(CHANGES))
def test_what_changes_the_hash(ctx, name):
    before = h(ctx)
    change, changes = CHANGES[name]
    change(ctx)
    assert (h(ctx) != before) is changes


def test_dockerignored_files_do_not_count(ctx):
    (ctx / ".dockerignore").write_text("# comment\nsrc/sub\n")
    before = h(ctx)
    (ctx / "src" / "sub" / "b.txt").write_text("changed\n")
    assert h(ctx) == before
    (ctx / "src" / "a.txt").write_text("changed\n")
    assert h(ctx) != before


def test_dockerfile_specific_ignore_file_wins(ctx):
    (ctx / ".dockerignore").write_text("src/a.txt\n")
    (ctx / "Dockerfile.dockerignore").write_text("src/sub\n")
    before = h(ctx)
    (ctx / "src" / "sub" / "b.txt").write_text("changed\n")
    assert h(ctx) == before  # ignored by Dockerfile.dockerignore
    (ctx / "src" / "a.txt").write_text("changed\n")
    assert h(ctx) != before  # .dockerignore is not used at all


@pytest.mark.parametrize(
    ("kw", "other"),
    [
        ({"arch": "amd64"}, {"arch": "arm64"}),
        ({"build_args": {"V": "1"}}, {"build_args": {"V": "2"}}),
        ({"build_args": {}}, {"build_args": {"V": "1"}}),
        ({"target": None}, {"target": "runtime"}),
        ({"bases": {"debian:12": "debian:12"}}, {"bases": {"debian:12": "sha256:" + "1" * 64}}),
    ],
)
def test_build_parameters_change_the_hash(ctx, kw, other):
    (ctx / "Dockerfile").write_text("FROM debian:12 AS runtime\nCOPY src/ /src/\nCOPY run.sh /\n")
    assert h(ctx, **kw) != h(ctx, **other)


def test_parent_hash_and_external_reference_go_in(tmp_path):
    a = make_context(tmp_path / "a", "FROM base\nCOPY run.sh /\n")
    assert h(a, bases={"base": "content:" + "1" * 64}) != h(a, bases={"base": "content:" + "2" * 64})
    b = make_context(tmp_path / "b", "FROM debian:12\nCOPY run.sh /\n")
    c = make_context(tmp_path / "c", "FROM debian:13\nCOPY run.sh /\n")
    assert h(b) != h(c)


def test_copy_from_a_stage_or_image_reads_no_context(tmp_path):
    text = "FROM alpine AS b\nFROM debian\nCOPY --from=b /x /x\nCOPY --from=busybox /bin /b\n"
    root = make_context(tmp_path / "x", text)
    before = h(root)
    (root / "src" / "a.txt").write_text("changed")
    assert h(root) == before
    assert parse_dockerfile((root / "Dockerfile").read_text()).external_images() == ["alpine", "debian", "busybox"]


def test_copy_outside_the_context_is_bad_input(tmp_path):
    root = make_context(tmp_path / "x", "FROM debian\nCOPY ../secret /\n")
    with pytest.raises(BadInput, match="outside the build context"):
        h(root)


def test_copy_of_a_missing_file_is_bad_input(tmp_path):
    root = make_context(tmp_path / "x", "FROM debian\nCOPY nope.txt /\n")
    with pytest.raises(BadInput, match="does not exist"):
        h(root)


def test_globs_and_json_form(tmp_path):
    root = make_context(tmp_path / "x", 'FROM debian\nCOPY ["src/*.txt", "/dst/"]\n')
    before = h(root)
    (root / "src" / "sub" / "b.txt").write_text("not matched by src/*.txt")
    assert h(root) == before
    (root / "src" / "a.txt").write_text("matched")
    assert h(root) != before


def test_remote_add_is_hashed_by_url_with_a_warning(tmp_path):
    one = make_context(tmp_path / "1", "FROM debian\nADD https://example.com/a.tgz /\n")
    two = make_context(tmp_path / "2", "FROM debian\nADD https://example.com/b.tgz /\n")
    result = content_hash(one / "Dockerfile", one, arch="amd64", build_args={}, target=None, bases={})
    assert "hashed by its URL" in result.warnings[0]
    assert result.hex != h(two)


def test_args_expand_in_from_and_copy(tmp_path):
    root = make_context(tmp_path / "x", "ARG BASE=debian:12\nFROM $BASE\nARG DIR=src\nCOPY ${DIR}/a.txt /\n")
    parsed = parse_dockerfile((root / "Dockerfile").read_text(), {"BASE": "debian:13"})
    assert parsed.stages[0].image == "debian:13"
    assert parsed.copies[0].sources == ("src/a.txt",)
    before = h(root)
    (root / "src" / "sub" / "b.txt").write_text("not read")
    assert h(root) == before


def test_line_continuations_comments_and_heredocs(tmp_path):
    text = "# syntax=docker/dockerfile:1\nFROM debian\nCOPY src/a.txt \\\n  # a comment\n  run.sh /\n" \
           "RUN <<EOF\nCOPY nothing /\nEOF\n"
    parsed = parse_dockerfile(text)
    assert [c.sources for c in parsed.copies] == [("src/a.txt", "run.sh")]


def test_rewrite_bases_pins_parents_only():
    text = "ARG BASE=base\nFROM $BASE AS build\nRUN x\nFROM --platform=linux/amd64 debian:12\nCOPY --from=build /a /a\n"
    out = rewrite_bases(text, {"base": "reg/base@sha256:" + "a" * 64})
    assert "FROM reg/base@sha256:" + "a" * 64 + " AS build\n" in out
    assert "FROM --platform=linux/amd64 debian:12\n" in out


def test_order_images_and_cycles():
    assert order_images({"app": ["base"], "base": [], "tool": ["app"]}) == ["base", "app", "tool"]
    with pytest.raises(BadInput, match="cycle: a -> b -> a"):
        order_images({"a": ["b"], "b": ["a"]})


def test_parent_of():
    names = {"qemu/debian", "base"}
    assert parent_of("qemu/debian", names, "reg.io/g") == "qemu/debian"
    assert parent_of("reg.io/g/qemu/debian:pipeline-1", names, "reg.io/g") == "qemu/debian"
    assert parent_of("base:latest", names, "reg.io/g") == "base"
    assert parent_of("debian:12", names, "reg.io/g") is None
    assert parent_of("other.io/g/base", names, "reg.io/g") is None


@pytest.mark.parametrize(
    ("patterns", "path", "ignored"),
    [
        (["*.md"], "README.md", True),
        (["*.md"], "docs/README.md", False),
        (["**/*.md"], "docs/deep/README.md", True),
        (["**/*.md"], "README.md", True),
        (["temp?"], "temp1", True),
        (["*/temp*"], "somedir/temporary.txt", True),
        (["*/*/temp*"], "somedir/subdir/temporary.txt", True),
        (["*.md", "!README*.md"], "README-secret.md", False),
        (["*.md", "!README*.md", "README-secret.md"], "README-secret.md", True),
        (["build"], "build/out/x.o", True),
        (["/build/"], "build/x", True),
        (["./build"], "build", True),
        (["build", "!build/keep"], "build/keep", False),
        (["[a-c].txt"], "b.txt", True),
        (["[!a-c].txt"], "b.txt", True),  # Go: "!" is a character of the class, not a negation
        (["[!a-c].txt"], "z.txt", False),
        (["[^a-c].txt"], "b.txt", False),
        (["[^a-c].txt"], "z.txt", True),
    ],
)
def test_dockerignore_matches_like_docker(patterns, path, ignored):
    assert DockerIgnore(patterns).ignored(path) is ignored


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(new_name=st.from_regex(r"[a-z]{1,12}", fullmatch=True), mtime=st.integers(0, 2**31 - 1))
def test_moving_the_checkout_or_touching_mtimes_never_changes_the_hash(tmp_path, new_name, mtime):
    root = make_context(tmp_path / "orig")
    before = h(root)
    moved = tmp_path / f"moved-{new_name}"
    shutil.rmtree(moved, ignore_errors=True)
    shutil.copytree(root, moved, symlinks=True)
    for path in moved.rglob("*"):
        os.utime(path, (mtime, mtime), follow_symlinks=False)
    assert h(moved) == before
    shutil.rmtree(moved)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(which=st.sampled_from(["src/a.txt", "src/sub/b.txt", "run.sh"]), data=st.data())
def test_changing_any_copied_byte_always_changes_the_hash(tmp_path, which, data):
    root = make_context(tmp_path / "c")
    before = h(root)
    path = root / which
    content = bytearray(path.read_bytes())
    pos = data.draw(st.integers(0, len(content) - 1))
    content[pos] = (content[pos] + data.draw(st.integers(1, 255))) % 256
    path.write_bytes(bytes(content))
    assert h(root) != before
    shutil.rmtree(root)


@pytest.mark.parametrize(("reference", "expected"), [
    ("qemu:debian10", "qemu/debian10"),  # qemu 5.0's local name for what 5.1 calls qemu/debian10
    ("qemu_debian10@sha256:" + "a" * 64, "qemu/debian10"),
    ("QEMU/Debian.10", "qemu/debian10"),
    ("debian:12", None),
    ("registry.example.com/qemu/debian10", None),  # names a registry: not a local image
])
def test_a_local_from_is_matched_to_the_set_name_it_may_be_an_old_name_of(reference, expected):
    from ci_tags.project.hashing import old_name_finder

    assert old_name_finder({"qemu/debian10", "qemu/fedora", "app"})(reference) == expected
