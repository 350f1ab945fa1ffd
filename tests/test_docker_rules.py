"""Issue 10, at the hash level: change a file Docker copies and the tag moves; change one it does not copy and
the tag stays. One case per rule of Docker's parser and variable expansion; files (symlinks, .dockerignore):
test_docker_files.py; the FROM rewrite: test_dockerfile_rewrite.py."""

from __future__ import annotations

import os

import pytest

from ci_tags.core.dockerfile import BaseInfo, parse_dockerfile
from ci_tags.errors import BadInput
from ci_tags.project.hashing import content_hash
from tests.support.docker_context import context, h, moves

# (Dockerfile, a file Docker copies, a file it does not copy)
CASES = {
    "heredoc source beside a file": ("FROM x\nCOPY <<EOF app.py /x/\nhello\nEOF\n", "app.py", "other.py"),
    "several heredocs on a line": ("FROM x\nRUN <<A cat - <<B\nCOPY other.py /\nA\nCOPY b.txt /\nB\nCOPY a.txt /\n",
                                   "a.txt", "other.py"),
    "<<- strips tabs before the terminator": ("FROM x\nRUN <<-EOF\n\tCOPY other.py /\n\tEOF\nCOPY a.txt /\n",
                                              "a.txt", "other.py"),
    "quoted heredoc word": ("FROM x\nRUN <<'EOF'\nCOPY other.py /\nEOF\nCOPY a.txt /\n", "a.txt", "other.py"),
    "terminator must be exact": ("FROM x\nRUN <<EOF\n EOF\nCOPY other.py /\nEOF\nCOPY a.txt /\n", "a.txt", "other.py"),
    "<< inside quotes is no heredoc": ("FROM x\nRUN echo '<<EOF'\nCOPY a.txt /\n", "a.txt", "other.py"),
    "sed 's/<<X>>/' is no heredoc": ("FROM x\nRUN sed 's/<<X>>/y/' f\nCOPY a.txt /\n", "a.txt", "other.py"),
    "shift operator is no heredoc": ("FROM x\nRUN echo $((1<<2))\nCOPY a.txt /\n", "a.txt", "other.py"),
    "exec-form JSON is no heredoc": ('FROM x\nRUN ["sh", "-c", "cat <<EOF"]\nCOPY a.txt /\n', "a.txt", "other.py"),
    "tabs separate words": ("FROM\tx\nCOPY\ta.txt\t/\n", "a.txt", "other.py"),
    "UTF-8 BOM": ("\ufeffFROM x\nCOPY a.txt /\n", "a.txt", "other.py"),
    "comment inside a continuation": ("FROM x\nCOPY a.txt \\\n# a comment\n  b.txt /\n", "b.txt", "other.py"),
    "blank line inside a continuation": ("FROM x\nCOPY a.txt \\\n\n  b.txt /\n", "b.txt", "other.py"),
    "continuation joins without a space": ("FROM x\nCOPY a.t\\\nxt /\n", "a.txt", "other.py"),
    "escape directive": ("# escape=`\nFROM x\nCOPY a.txt `\n  b.txt /\n", "b.txt", "other.py"),
    "escape directive only at the top": ("FROM x\n# escape=`\nCOPY a.txt \\\n  b.txt /\n", "b.txt", "other.py"),
    "quoted source": ('FROM x\nCOPY "a.txt" /\n', "a.txt", "other.py"),
    "JSON form": ('FROM x\nCOPY ["a.txt", "b.txt", "/d/"]\n', "b.txt", "other.py"),
    "[ that is not JSON is a word": ("FROM x\nCOPY [a].txt /\n", "a.txt", "other.py"),
    "escaped dollar": ("FROM x\nARG F=other.py\nCOPY \\$F /\n", "$F", "other.py"),
    "wildcard": ("FROM x\nCOPY lib/*.txt /\n", "lib/two.txt", "other.py"),
    "wildcard that matches nothing": ("FROM x\nCOPY package.json yarn.lock* ./\n", "package.json", "other.py"),
    "bracket wildcard": ("FROM x\nCOPY [0-9].txt /\n", "3.txt", "a.txt"),
    "flags": ("FROM x\nCOPY --chown=1:1 --chmod=644 --link a.txt /\n", "a.txt", "other.py"),
    "RUN --mount of the context": ("FROM x\nRUN --mount=type=bind,source=lib,target=/l make\n", "lib/one.txt",
                                   "other.py"),
    # variables
    "global ARG reaches a stage only redeclared": ("ARG F=a.txt\nFROM x\nARG F\nCOPY $F /\n", "a.txt", "other.py"),
    "global ARG not redeclared is empty": ("ARG F=other.py\nFROM scratch\nCOPY a.txt ${F}b.txt /\n", "a.txt",
                                           "other.py"),
    "ENV carries on": ("FROM scratch\nENV F=a.txt\nCOPY $F /\n", "a.txt", "other.py"),
    "ENV into a stage built FROM it": ("FROM scratch AS base\nENV F=a.txt\nFROM base\nCOPY ${F} /\n", "a.txt",
                                       "other.py"),
    "ENV overrides ARG": ("FROM scratch\nARG F=other.py\nENV F=a.txt\nCOPY $F /\n", "a.txt", "other.py"),
    "${X:-word}": ("FROM scratch\nCOPY ${F:-a.txt} /\n", "a.txt", "other.py"),
    "${X-word} with X empty": ("FROM scratch\nARG F=\nCOPY a${F-other.py}.txt /\n", "a.txt", "other.py"),
    "${X:+word}": ("FROM scratch\nARG F=1\nCOPY ${F:+a.txt} /\n", "a.txt", "other.py"),
    "${X+word}": ("FROM scratch\nARG F\nCOPY ${F+other.py}a.txt /\n", "a.txt", "other.py"),
    "${X%suffix}": ("FROM scratch\nARG F=a.txt.bak\nCOPY ${F%.bak} /\n", "a.txt", "other.py"),
    "${X#prefix}": ("FROM scratch\nARG F=x/a.txt\nCOPY ${F##*/} /\n", "a.txt", "x/y.txt"),
    "${X/pat/repl}": ("FROM scratch\nARG F=b.txt\nCOPY ${F/b/a} /\n", "a.txt", "b.txt"),
    "nested": ("FROM scratch\nARG G=a.txt\nCOPY ${F:-${G}} /\n", "a.txt", "other.py"),
    "TARGETARCH": ("FROM scratch\nARG TARGETARCH\nCOPY dist/app-${TARGETARCH} /\n", "dist/app-amd64",
                   "dist/app-arm64"),
    "TARGETARCH undeclared is empty": ("FROM scratch\nCOPY dist/app-${TARGETARCH} /\n", "dist/app-",
                                       "dist/app-amd64"),
    "ONBUILD of a stage runs in its child": ("FROM scratch AS base\nONBUILD COPY a.txt /\nFROM base\n", "a.txt",
                                             "other.py"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_copied_file_moves_the_tag_and_other_files_do_not(tmp_path, name):
    dockerfile, copied, not_copied = CASES[name]
    root = context(tmp_path / "ctx", dockerfile)
    assert moves(root, copied), f"{name}: {copied} is copied by Docker"
    assert not moves(root, not_copied), f"{name}: {not_copied} is not copied by Docker"


def test_targetarch_takes_each_arch_value(tmp_path):
    root = context(tmp_path / "ctx", "FROM scratch\nARG TARGETARCH\nCOPY dist/app-${TARGETARCH} /\n")
    assert moves(root, "dist/app-arm64", arch="arm64")
    assert not moves(root, "dist/app-amd64", arch="arm64")
    df = parse_dockerfile((root / "Dockerfile").read_text(), arch="arm-v7")
    assert df.copies[0].sources == ("dist/app-arm",)
    args = "ARG TARGETPLATFORM TARGETOS TARGETVARIANT\nCOPY $TARGETPLATFORM-$TARGETOS-${TARGETVARIANT} /\n"
    assert parse_dockerfile("FROM scratch\n" + args, arch="arm-v7").copies[0].sources == ("linux/arm/v7-linux-v7",)
    assert parse_dockerfile("FROM scratch\n" + args, arch="arm64").copies[0].sources == ("linux/arm64-linux-",)


def test_build_args_apply_only_to_declared_args(tmp_path):
    root = context(tmp_path / "ctx", "FROM scratch\nARG F=a.txt\nCOPY $F ${G}b.txt /\n")
    assert parse_dockerfile((root / "Dockerfile").read_text(), {"F": "other.py", "G": "x"}).copies[0].sources == (
        "other.py", "b.txt")
    assert moves(root, "other.py", build_args={"F": "other.py"})


def test_global_args_expand_in_from_only(tmp_path):
    df = parse_dockerfile("ARG V=12\nARG TARGETARCH\nFROM debian:$V-${TARGETARCH}\nCOPY a${V}.txt /\n", arch="arm64")
    assert df.stages[0].image == "debian:12-arm64"
    assert df.copies[0].sources == ("a.txt",)


def test_unresolvable_variable_broadens_to_the_context_with_a_warning(tmp_path):
    # $APP_DIR may come from the base image's ENV, which ci-tags does not read
    root = context(tmp_path / "ctx", "FROM python:3\nCOPY $APP_DIR/a.txt /\n")
    result = content_hash(root / "Dockerfile", root, arch="amd64", build_args={}, target=None, bases={})
    assert any("APP_DIR" in w and "whole context" in w for w in result.warnings)
    assert moves(root, "other.py") and moves(root, "x/y.txt")
    # the build machine's platform is not known either (a native runner or qemu)
    root2 = context(tmp_path / "ctx2", "FROM scratch\nARG BUILDARCH\nCOPY dist/app-$BUILDARCH /\n")
    assert moves(root2, "dist/app-arm64")


def test_parent_env_known_through_the_set_is_not_broad(tmp_path):
    root = context(tmp_path / "ctx", "FROM parent\nCOPY $APP /\n")
    info = BaseInfo(env={"APP": "a.txt", "PATH": "/bin"})
    assert moves(root, "a.txt", base_info=info)
    assert not moves(root, "other.py", base_info=info)


def test_onbuild_of_a_set_parent_runs_in_the_child(tmp_path):
    root = context(tmp_path / "ctx", "FROM parent\n")
    info = BaseInfo(env={}, onbuild=("COPY a.txt /",))
    assert moves(root, "a.txt", base_info=info)
    assert not moves(root, "other.py", base_info=info)


def test_onbuild_does_not_run_in_the_stage_that_declares_it(tmp_path):
    root = context(tmp_path / "ctx", "FROM scratch\nONBUILD COPY other.py /\nCOPY a.txt /\n")
    assert not moves(root, "other.py")
    assert parse_dockerfile((root / "Dockerfile").read_text()).onbuild == ("COPY other.py /",)


def test_remote_add_is_hashed_as_text_with_a_warning(tmp_path):
    for url in ("https://example.com/x.tar.gz", "https://github.com/moby/buildkit.git#v0.12.0",
                "git@github.com:moby/buildkit.git"):
        root = context(tmp_path / url.replace("/", "_"), f"FROM scratch\nADD {url} /src/\n")
        result = content_hash(root / "Dockerfile", root, arch="amd64", build_args={}, target=None, bases={})
        assert any(url in w for w in result.warnings)
        (root / "Dockerfile").write_text(f"FROM scratch\nADD {url}x /src/\n")
        assert content_hash(root / "Dockerfile", root, arch="amd64", build_args={}, target=None,
                            bases={}).hex != result.hex


# errors


@pytest.mark.parametrize(
    ("dockerfile", "reason"),
    [
        ('FROM x\nARG X="abc\nCOPY $X /\n', "double-quote"),
        ("FROM x\nCOPY 'a.txt /\n", "single-quote"),
        ("FROM x\nCOPYY a.txt /\n", "unknown instruction: COPYY"),
        ("FROM x\nCOPY a.txt\n", "requires at least two arguments"),
        ("FROM x\nCOPY --frmo=a a.txt /\n", "unknown flag: --frmo"),
        ("FROM x\nMAINTAINER --boo joe@example.com\n", "unknown flag: --boo"),
        ("FROM x\nONBUILD ONBUILD RUN x\n", "Chaining ONBUILD"),
        ("FROM x\nONBUILD FROM scratch\n", "FROM isn't allowed as an ONBUILD trigger"),
        ("FROM x\nCOPY --from=$X a.txt /\n", "variable expansion is not supported for --from"),
        ("FROM scratch\nCOPY ${X:?unset} /\n", "X: unset"),
        ("FROM x\nCOPY ${X:} /\n", "unsupported modifier"),
        ("FROM x\nRUN <<EOF\necho\n", "unterminated heredoc"),
        ('FROM x\nCMD [ "echo", [ "nested" ] ]\n', "strings only"),
        ("FROM x AS 1st\n", "invalid name for build stage"),
        ("# escape=x\nFROM x\n", "invalid escape token"),
        ("# comment only\n", "no instructions"),
    ],
)
def test_what_docker_refuses_is_bad_input_with_file_line_and_reason(tmp_path, dockerfile, reason):
    root = context(tmp_path / "ctx", dockerfile)
    with pytest.raises(BadInput, match=reason) as exc:
        h(root)
    assert "Dockerfile:" in exc.value.message


def test_unknown_target_is_bad_input(tmp_path):
    # (a Dockerfile that is not UTF-8 is read as Docker reads it: tests/test_docker_cases.py)
    root = context(tmp_path / "ctx2", "FROM x AS build\nCOPY a.txt /\n")
    with pytest.raises(BadInput, match="target stage 'nosuchstage' could not be found"):
        h(root, target="nosuchstage")


def test_mtimes_and_checkout_path_stay_out(tmp_path):
    a = context(tmp_path / "a", "FROM scratch\nCOPY lib /lib\n")
    b = context(tmp_path / "elsewhere" / "b", "FROM scratch\nCOPY lib /lib\n")
    os.utime(b / "lib" / "one.txt", (1, 1))
    assert h(a) == h(b)


def test_a_stage_the_target_skips_may_name_a_missing_file(tmp_path):
    text = ("FROM scratch AS dev\nCOPY dev-only.txt /\n"
            "FROM scratch AS build\nCOPY a.txt /\n"
            "FROM scratch AS runtime\nCOPY --from=build /a.txt /\n")
    root = context(tmp_path / "ctx", text)
    before = h(root, target="runtime")  # Docker builds runtime and build only: dev-only.txt need not exist
    assert moves(root, "a.txt", target="runtime")
    before = h(root, target="runtime")
    (root / "dev-only.txt").write_text("now here\n")
    assert h(root, target="runtime") != before  # still hashed: a stage that is skipped today counts
    (root / "dev-only.txt").unlink()
    with pytest.raises(BadInput, match=r"dev-only\.txt' does not exist"):
        h(root, target="dev")
    (root / "a.txt").unlink()
    with pytest.raises(BadInput, match=r"a\.txt' does not exist"):
        h(root, target="runtime")  # runtime copies from build, which copies a.txt


def test_a_name_starting_with_two_dots_is_inside_the_context(tmp_path):
    root = context(tmp_path / "ctx", "FROM scratch\nCOPY ..data /\n")
    (root / "..data").write_text("x\n")
    assert moves(root, "..data")
    (root / "Dockerfile").write_text("FROM scratch\nCOPY ../ctx/a.txt /\n")
    with pytest.raises(BadInput, match="outside the build context"):
        h(root)


def test_a_value_made_from_an_unknown_name_is_unknown_too(tmp_path):
    # D depends on $BASE_DIR, which the external base image may set: COPY $D takes the whole context
    root = context(tmp_path / "ctx", "FROM python:3\nARG D=${BASE_DIR}/a.txt\nENV E=$D\nCOPY $E /\n")
    assert moves(root, "other.py")
    root = context(tmp_path / "ctx2", "FROM python:3\nARG D=a.txt\nCOPY $D /\n")
    assert not moves(root, "other.py")  # declared with a known value: only a.txt
    assert moves(root, "a.txt")


def test_double_star_component_takes_any_depth(tmp_path):
    root = context(tmp_path / "ctx", "FROM scratch\nCOPY --parents **/*.txt /out/\n")
    (root / "deep" / "er").mkdir(parents=True)
    (root / "deep" / "er" / "z.txt").write_text("z\n")
    assert moves(root, "deep/er/z.txt")
    assert moves(root, "a.txt")
    assert not moves(root, "other.py")
