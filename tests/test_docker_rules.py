"""Issue 10, at the hash level: change a file Docker copies and the tag moves; change one it does not copy and
the tag stays. One case per rule of Docker's parser, variable expansion, files and .dockerignore."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ci_tags.core.dockerfile import BaseInfo, parse_dockerfile
from ci_tags.errors import BadInput
from ci_tags.project.hashing import content_hash

FILES = ("app.py", "other.py", "a.txt", "b.txt", "dist/app-amd64", "dist/app-arm64", "dist/app-", "x/y.txt",
         "script.sh", "lib/one.txt", "lib/two.txt", "3.txt", "$F", "package.json", "lib/]x.txt")


def context(root: Path, dockerfile: str | bytes) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(f"{name}\n")
    data = dockerfile.encode() if isinstance(dockerfile, str) else dockerfile
    (root / "Dockerfile").write_bytes(data)
    return root


def h(root: Path, arch: str = "amd64", build_args: dict[str, str] | None = None, target: str | None = None,
      base_info: BaseInfo | None = None) -> str:
    info = base_info
    return content_hash(root / "Dockerfile", root, arch=arch, build_args=build_args or {}, target=target,
                        bases={}, base_info=(lambda ref: info) if info else None).hex


def moves(root: Path, name: str, **kw: object) -> bool:
    """Whether changing context file ``name`` moves the content hash."""
    before = h(root, **kw)  # type: ignore[arg-type]
    path = root / name
    path.write_text(path.read_text() + "changed\n")
    return h(root, **kw) != before  # type: ignore[arg-type]


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


def test_non_utf8_dockerfile_and_unknown_target_are_bad_input(tmp_path):
    root = context(tmp_path / "ctx", b"FROM x\nCOPY a.txt /\n# caf\xe9\n")
    with pytest.raises(BadInput, match="Dockerfile:3: the Dockerfile is not UTF-8"):
        h(root)
    root = context(tmp_path / "ctx2", "FROM x AS build\nCOPY a.txt /\n")
    with pytest.raises(BadInput, match="target stage 'nosuchstage' could not be found"):
        h(root, target="nosuchstage")


def test_mtimes_and_checkout_path_stay_out(tmp_path):
    a = context(tmp_path / "a", "FROM scratch\nCOPY lib /lib\n")
    b = context(tmp_path / "elsewhere" / "b", "FROM scratch\nCOPY lib /lib\n")
    os.utime(b / "lib" / "one.txt", (1, 1))
    assert h(a) == h(b)


# one parse: build rewrites FROM lines of set parents where the parser found them


def test_rewrite_follows_the_parser_not_lines():
    from ci_tags.core.dockerfile import rewrite_bases

    pinned = "reg/base@sha256:" + "a" * 64
    text = ("FROM \\\n  base AS b\n"
            "RUN <<EOF\nFROM base\nEOF\n"
            "FROM base\n"
            "RUN cat <<'X'\n  FROM base\nX\n"
            "FROM debian:12\n")
    out = rewrite_bases(text, {"base": pinned})
    assert out == ("FROM \\\n  " + pinned + " AS b\n"
                   "RUN <<EOF\nFROM base\nEOF\n"
                   "FROM " + pinned + "\n"
                   "RUN cat <<'X'\n  FROM base\nX\n"
                   "FROM debian:12\n")


def test_rewrite_of_a_from_that_names_a_variable_per_arch():
    from ci_tags.core.dockerfile import rewrite_bases

    text = "\ufeffARG TARGETARCH\nFROM base-${TARGETARCH}\n"
    assert rewrite_bases(text, {"base-arm64": "reg/x@sha256:1"}, arch="arm64") == \
        "\ufeffARG TARGETARCH\nFROM reg/x@sha256:1\n"
    assert rewrite_bases(text, {"base-arm64": "reg/x@sha256:1"}, arch="amd64") == text


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


def test_rewrite_pins_copy_from_a_set_image_but_not_a_stage():
    from ci_tags.core.dockerfile import rewrite_bases

    text = "FROM base AS base\nCOPY --from=base /a /a\nFROM debian:12\nCOPY --chown=1 --from=tools:1 /t /t\n"
    out = rewrite_bases(text, {"base": "R@sha256:1", "tools:1": "T@sha256:2"})
    assert out == ("FROM R@sha256:1 AS base\nCOPY --from=base /a /a\n"
                   "FROM debian:12\nCOPY --chown=1 --from=T@sha256:2 /t /t\n")


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


FRAGMENTS = ["FROM base\n", "FROM \\\n  base AS b\n", "FROM\tbase:1\n", "from base as c\n",
             "RUN <<EOF\nFROM base\nEOF\n", "RUN echo 'FROM base'\n", "# FROM base\n",
             "COPY --from=base /a /a\n", "COPY a.txt /\n", "ARG V=1\n", "FROM debian:$V\n",
             "RUN x \\\n# FROM base\n  y\n", "\n"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=8))
def test_rewrite_changes_only_what_the_parser_calls_a_parent(parts):
    from ci_tags.core.dockerfile import rewrite_bases

    text = "FROM base\n" + "".join(parts)
    pinned = "reg/base@sha256:" + "a" * 64
    before = parse_dockerfile(text)
    after = parse_dockerfile(rewrite_bases(text, {"base": pinned, "base:1": pinned}))
    assert [s.image for s in after.stages] == [
        pinned if s.base_stage is None and s.image in ("base", "base:1") else s.image for s in before.stages]
    assert [(c.sources, c.line) for c in after.copies] == [(c.sources, c.line) for c in before.copies]
    assert after.runs == before.runs
