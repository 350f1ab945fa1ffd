"""One parse: build rewrites the FROM lines (and COPY --from) of set parents where the parser found them, and
nothing else."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ci_tags.core.dockerfile import parse_dockerfile


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


def test_rewrite_pins_copy_from_a_set_image_but_not_a_stage():
    from ci_tags.core.dockerfile import rewrite_bases

    text = "FROM base AS base\nCOPY --from=base /a /a\nFROM debian:12\nCOPY --chown=1 --from=tools:1 /t /t\n"
    out = rewrite_bases(text, {"base": "R@sha256:1", "tools:1": "T@sha256:2"})
    assert out == ("FROM R@sha256:1 AS base\nCOPY --from=base /a /a\n"
                   "FROM debian:12\nCOPY --chown=1 --from=T@sha256:2 /t /t\n")


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


def test_platform_args_are_declared_after_the_parser_directives() -> None:
    from ci_tags.core.dockerfile import declare_platform_args

    declared = "ARG TARGETOS\nARG TARGETARCH\nARG TARGETVARIANT\nARG TARGETPLATFORM\n"
    assert declare_platform_args("FROM scratch\n") == declared + "FROM scratch\n"
    text = "# syntax=docker/dockerfile:1\n# escape=`\n# a comment\nFROM scratch\n"
    assert declare_platform_args(text) == "# syntax=docker/dockerfile:1\n# escape=`\n" + declared + \
        "# a comment\nFROM scratch\n"
    assert declare_platform_args("\ufeffFROM scratch") == "\ufeff" + declared + "FROM scratch"
