"""Issue 10, at the hash level, for files: symlinks count as Docker copies them, and .dockerignore decides what
counts, with Go's filepath.Match patterns."""

from __future__ import annotations

import pytest

from ci_tags.errors import BadInput
from tests.support.docker_context import context, h, moves

# symlinks


def test_symlink_source_counts_its_target_content(tmp_path):
    root = context(tmp_path / "ctx", "FROM scratch\nCOPY link.txt /\n")
    (root / "link.txt").symlink_to("a.txt")
    assert moves(root, "a.txt")


def test_symlinked_folder_as_a_path_component(tmp_path):
    root = context(tmp_path / "ctx", "FROM scratch\nCOPY ln/one.txt /\n")
    (root / "ln").symlink_to("lib")
    assert moves(root, "lib/one.txt")
    assert not moves(root, "lib/two.txt")


def test_wildcard_matching_a_symlink_follows_it(tmp_path):
    root = context(tmp_path / "ctx", "FROM scratch\nCOPY l*.lnk /\n")
    (root / "l1.lnk").symlink_to("b.txt")
    assert moves(root, "b.txt")


def test_links_inside_a_copied_folder_count_as_links(tmp_path):
    root = context(tmp_path / "ctx", "FROM scratch\nCOPY lib /lib\n")
    (root / "lib" / "ln").symlink_to("../a.txt")
    assert not moves(root, "a.txt")  # Docker copies the link itself
    before = h(root)
    (root / "lib" / "ln").unlink()
    (root / "lib" / "ln").symlink_to("../b.txt")
    assert h(root) != before


def test_symlink_out_of_the_context_is_bad_input(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("x\n")
    root = context(tmp_path / "ctx", "FROM scratch\nCOPY out/secret.txt /\n")
    (root / "out").symlink_to(outside)
    with pytest.raises(BadInput, match="outside the build context"):
        h(root)
    (root / "out").unlink()
    (root / "out").symlink_to("../outside")
    with pytest.raises(BadInput, match="out of the build context"):
        h(root)


# .dockerignore


@pytest.mark.parametrize(
    ("ignore", "copied", "ignored"),
    [
        ("lib/two.txt\n", "lib/one.txt", "lib/two.txt"),
        ("\ufefflib/two.txt\n", "lib/one.txt", "lib/two.txt"),  # BOM
        ("  # not a comment: only a line starting with # is\nlib/[^o]*\n", "lib/one.txt", "lib/two.txt"),
        ("/lib/t*\n", "lib/one.txt", "lib/two.txt"),
        ("./lib/t*\n", "lib/one.txt", "lib/two.txt"),
        ("lib\n!lib/one.txt\n", "lib/one.txt", "lib/two.txt"),
        ("lib/[!o]*\n", "lib/two.txt", "lib/one.txt"),  # [!o] is "!" or "o", not a negation
        ("lib/[\\-t]*\n", "lib/one.txt", "lib/two.txt"),
        ("lib/[\\]a]*\n", "lib/one.txt", "lib/]x.txt"),
        ("**/two.txt\n", "lib/one.txt", "lib/two.txt"),
    ],
)
def test_dockerignore_decides_what_counts(tmp_path, ignore, copied, ignored):
    root = context(tmp_path / "ctx", "FROM scratch\nCOPY lib /lib\n")
    (root / ".dockerignore").write_text(ignore)
    assert moves(root, copied)
    assert not moves(root, ignored)


@pytest.mark.parametrize("pattern", ["[", "lib/[a-", "!", "[]a]", "a\\"])
def test_a_pattern_docker_refuses_is_bad_input_naming_file_and_line(tmp_path, pattern):
    root = context(tmp_path / "ctx", "FROM scratch\nCOPY lib /lib\n")
    (root / ".dockerignore").write_text(f"# first\n{pattern}\n")
    with pytest.raises(BadInput, match=r"\.dockerignore:2:"):
        h(root)
