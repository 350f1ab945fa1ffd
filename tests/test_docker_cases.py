"""Four Dockerfiles Docker builds that ci-tags refused or hashed wrong (issue 20), each as buildkit behaves
(moby/buildkit: frontend/dockerfile/dockerfile_copy_test.go, parser/parser.go, shell/lex.go,
dockerfile2llb/convert.go)."""

from __future__ import annotations

import pytest

from ci_tags.core.dockerfile import parse_dockerfile
from ci_tags.core.dockerfile_syntax import heredocs_from_line, parse_heredoc, parse_syntax
from ci_tags.core.shellwords import ShellLex
from ci_tags.errors import BadInput
from tests.support.docker_context import context, h, moves

# (a) buildkit's testCopyFollowAllSymlinks: `COPY foo /` copies the link foo/sub as a link, `COPY foo/sub bar`
# follows it and copies the file bar. Both count.


def _linked(tmp_path, dockerfile):
    """A context where foo/sub is a link to ../bar, a file."""
    root = context(tmp_path / "ctx", dockerfile)
    (root / "foo").mkdir()
    (root / "bar").write_text("bar-contents")
    (root / "foo" / "sub").symlink_to("../bar")
    return root


def test_a_source_symlink_also_copied_as_a_link_counts_its_target(tmp_path):
    root = _linked(tmp_path, "FROM scratch\nCOPY foo /\nCOPY foo/sub bar\n")
    assert moves(root, "bar")


def test_the_followed_source_counts_whichever_copy_comes_first(tmp_path):
    root = _linked(tmp_path, "FROM scratch\nCOPY foo/sub bar\nCOPY foo /\n")
    assert moves(root, "bar")
    before = h(root)  # and the link's own text counts for `COPY foo /`
    (root / "foo" / "sub").unlink()
    (root / "foo" / "sub").symlink_to("./../bar")
    assert h(root) != before


# (b) buildkit reads the Dockerfile as bytes (bufio.Scanner, Go strings): a Latin-1 comment is no error.


def test_a_dockerfile_with_a_latin1_comment_is_hashed_by_its_bytes(tmp_path):
    root = context(tmp_path / "ctx", b"# caf\xe9\nFROM scratch\nCOPY a.txt /\n")
    first = h(root)
    assert moves(root, "a.txt")
    (root / "Dockerfile").write_bytes(b"# caf\xe8\nFROM scratch\nCOPY a.txt /\n")
    assert h(root) != first  # another byte, another Dockerfile


def test_a_latin1_byte_in_a_source_name_reads_as_docker_lexes_it(tmp_path):
    # buildkit's lexer decodes runes: the byte \xe9 alone is utf8.RuneError, written back as U+FFFD
    root = context(tmp_path / "ctx", b"FROM scratch\nCOPY caf\xe9.txt /\n")
    (root / "caf\ufffd.txt").write_text("old")
    assert moves(root, "caf\ufffd.txt")


# (c) an unbalanced double quote in an ARG: buildkit expands a meta ARG's value only when no build arg overrides
# it (testGlobalArgErrors), and expands a stage's instructions only when the build runs that stage.


def test_an_unbalanced_quote_in_a_meta_arg_overridden_by_a_build_arg_is_accepted(tmp_path):
    root = context(tmp_path / "ctx", 'ARG GREETING="hello\nFROM scratch\nCOPY a.txt /\n')
    assert h(root, build_args={"GREETING": "hi"})
    with pytest.raises(BadInput, match="matching double-quote"):
        h(root)  # as Docker: "unexpected end of statement while looking for matching double-quote"


@pytest.mark.parametrize("dockerfile, target", [
    ('FROM scratch AS old\nARG GREETING="hello\nCOPY b.txt /\nFROM scratch\nCOPY a.txt /\n', None),
    ('ARG V=1\nFROM scratch AS old\nENV X="$V\nFROM scratch AS new\nCOPY a.txt /\n', "new"),
])
def test_an_unbalanced_quote_in_a_stage_docker_does_not_run_is_accepted(tmp_path, dockerfile, target):
    root = context(tmp_path / "ctx", dockerfile)
    assert moves(root, "a.txt", target=target)


def test_an_unbalanced_quote_in_a_stage_docker_runs_is_refused(tmp_path):
    root = context(tmp_path / "ctx", 'FROM scratch AS old\nARG GREETING="hello\nFROM scratch\nCOPY --from=old a /\n')
    with pytest.raises(BadInput, match=r"Dockerfile:2: .*matching double-quote"):
        h(root)


# (d) `<<` is a heredoc only with a word after it (reHeredoc `^(\d*)<<(-?)\s*([^<]*)$`, and that word must lex to
# one shell word): `<<` followed by an empty quoted word stands alone.


@pytest.mark.parametrize("line", ['RUN echo << ""', "RUN cat << '' file", 'RUN echo <<"" && true', "RUN echo <<"])
def test_lt_lt_standing_alone_is_no_heredoc(line):
    assert heredocs_from_line(line) == []
    nodes = parse_syntax(f"FROM scratch\n{line}\nCOPY a.txt /\n").nodes
    assert [n.command for n in nodes] == ["from", "run", "copy"]


def test_an_empty_quoted_word_is_no_word():
    # Go's wordsStruct adds a word only when its buffer holds bytes
    assert ShellLex().process_words('a "" b', {}) == ["a", "b"]
    assert ShellLex().process_words('""', {}) == []
    assert ShellLex().process_words('a""b', {}) == ["ab"]


@pytest.mark.parametrize("word", ["<< EOF", "<<- EOF", "<<EOF", "<<'EOF'"])
def test_heredocs_with_a_word_stay_heredocs(word):
    doc = parse_heredoc(word)
    assert doc is not None and doc.name == "EOF"


def test_a_heredoc_after_a_lone_lt_lt_on_the_line_is_read():
    parsed = parse_dockerfile('FROM scratch\nRUN echo << "" && cat <<EOF\nCOPY a.txt /\nEOF\nCOPY b.txt /\n')
    assert [c.sources for c in parsed.copies] == [("b.txt",)]


def test_ci_tags_hash_takes_a_latin1_dockerfile(tmp_path, cli, monkeypatch):
    root = context(tmp_path / "ctx", b"# caf\xe9: an old Dockerfile\nFROM scratch\nCOPY a.txt /\n")
    (root / "ci-tags.yml").write_text(
        "registry: registry.example.com/group\nimages:\n  app:\n    dockerfile: Dockerfile\n")
    monkeypatch.chdir(root)
    result = cli("hash", "--json")
    assert result.code == 0, result.err
    assert "hash-" in result.out


def test_build_pins_a_parent_in_a_latin1_dockerfile_keeping_every_other_byte():
    from ci_tags.core.dockerfile import decode_dockerfile, encode_dockerfile, rewrite_bases

    data = b"# caf\xe9\nFROM base\nRUN echo caf\xe9 > /menu\n"
    pinned = "registry.example.com/base@sha256:" + "1" * 64
    out = encode_dockerfile(rewrite_bases(decode_dockerfile(data), {"base": pinned}))
    assert out == data.replace(b"FROM base", b"FROM " + pinned.encode())
