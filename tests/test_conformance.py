"""Docker's own test data, run through ci-tags' reader and matcher (``../shared/conformance``, next to the
checkout in CI; skipped in a clone without it).

- buildkit's parser test files: every ``Dockerfile`` must parse to exactly the ``result`` buildkit's parser gives
  (the instruction, its flags and arguments: so COPY/ADD sources, which decide the hashed files, agree), and every
  negative case must be refused.
- patternmatcher's table (``patternmatcher_test.go``, ``ignorefile_test.go``): every match, non-match and refused
  pattern must agree.

Where ci-tags deliberately differs from Docker: no case of these tables. The differences are in corners the tables
do not reach; each is listed below with its reason and checked, so a change is noticed: ``DELIBERATE`` (which
files .dockerignore leaves out) and ``DELIBERATE_DOCKERFILE`` (which files a Dockerfile's hash reads). Every other
reading follows buildkit (tests/test_docker_rules.py, test_docker_files.py, test_docker_cases.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from ci_tags.core.dockerfile_syntax import DockerfileSyntaxError, parse_syntax
from ci_tags.core.dockerignore import PatternError, clean, compile_patterns, matches_or_parent_matches, read_patterns
from tests.support.docker_context import context, h, moves

ROOT = Path(__file__).resolve().parents[1]


def conformance_folder() -> Path | None:
    """``../shared/conformance`` from the repository root (a git worktree may sit one level deeper)."""
    candidates = [Path(os.environ["CI_TAGS_CONFORMANCE"])] if os.environ.get("CI_TAGS_CONFORMANCE") else []
    candidates += [ROOT.parent / "shared" / "conformance", ROOT.parent.parent / "shared" / "conformance"]
    return next((c for c in candidates if c.is_dir()), None)


FOLDER = conformance_folder()
pytestmark = pytest.mark.skipif(FOLDER is None, reason="no ../shared/conformance next to this checkout")


def _cases(sub: str) -> list[Path]:
    if FOLDER is None:
        return []
    return sorted(p for p in (FOLDER / "buildkit" / sub).iterdir() if (p / "Dockerfile").is_file())


def _table() -> dict[str, Any]:
    if FOLDER is None:
        return {"cases": [], "readall": {"content": "", "expected": []}}
    data: dict[str, Any] = json.loads((FOLDER / "patternmatcher" / "cases.json").read_text())
    return data


@pytest.mark.parametrize("case", _cases("testfiles"), ids=lambda p: p.name)
def test_buildkit_parser_testfiles(case):
    text = (case / "Dockerfile").read_bytes().decode("utf-8")
    got = "".join(f"({node.dump()})\n" for node in parse_syntax(text).nodes)
    assert got == (case / "result").read_text()


@pytest.mark.parametrize("case", _cases("testfiles-negative"), ids=lambda p: p.name)
def test_buildkit_parser_refuses_what_docker_refuses(case):
    with pytest.raises(DockerfileSyntaxError):
        parse_syntax((case / "Dockerfile").read_bytes().decode("utf-8"))


def _match(patterns: list[str], path: str, deprecated_api: bool) -> bool | str:
    try:
        compiled = compile_patterns(patterns)
    except PatternError:
        return "error"
    if deprecated_api:  # patternmatcher.Matches(file, patterns) cleans the path and never matches "."
        path = clean(path)
        if path == ".":
            return False
    try:
        return matches_or_parent_matches(compiled, path)
    except PatternError:
        return "error"


@pytest.mark.parametrize("case", _table()["cases"], ids=lambda c: f"{c['source']}:{c['patterns']}:{c['path']}")
def test_patternmatcher_table(case):
    deprecated_api = not case["source"].startswith("TestMatches/")
    assert _match(case["patterns"], case["path"], deprecated_api) == case["want"]


def test_ignorefile_readall():
    readall = _table()["readall"]
    assert [p for _, p in read_patterns(readall["content"])] == readall["expected"]


# Corners the tables do not reach, where ci-tags reads a pattern as Go's filepath.Match does and Docker's
# patternmatcher (which hands the pattern to Go's regexp) reads it otherwise:
DELIBERATE = {
    # Go's regexp reads [[:digit:]] as a POSIX class; filepath.Match has none (the issue asks for its rules):
    # a file named "1" stays in the hash, never wrongly left out.
    "posix class": (["[[:digit:]]"], "1", False),
    # Go's regexp reads \d as a digit class; filepath.Match reads an escaped letter as the letter itself.
    "escaped letter": (["a\\d"], "ad", True),
    # patternmatcher puts * inside brackets through as [^/]*, which Go's regexp reads as more brackets;
    # filepath.Match reads [*] as the character *.
    "star in brackets": (["a[*]"], "a*", True),
}


@pytest.mark.parametrize("name", list(DELIBERATE))
def test_deliberate_differences(name):
    patterns, path, want = DELIBERATE[name]
    assert _match(patterns, path, False) == want


# Where ci-tags' hash reads more than Docker's build would (never less): a hash that changes too often costs a
# build, one that changes too rarely ships a stale image. Each: a Dockerfile, a context file, and whether changing
# that file moves the hash (Docker's build would not read it).
DELIBERATE_DOCKERFILE = {
    # Docker builds only the stages the target needs; ci-tags hashes the sources of every stage, so a stage that
    # only a --target of another image (or a later edit) reaches is never stale.
    "sources of a stage the target skips count": ("FROM scratch AS old\nCOPY b.txt /\nFROM scratch\nCOPY a.txt /\n",
                                                  "b.txt"),
    # A source naming what ci-tags cannot know here (the build machine's platform, a base image's ENV of an
    # external image) takes the whole context.
    "a source naming the build machine's platform takes the whole context": (
        "FROM scratch\nARG BUILDARCH\nCOPY dist/app-$BUILDARCH /\n", "other.py"),
    # COPY --parents' ** matches any depth here; Docker's matcher, fewer: more is hashed, never less.
    "** of COPY --parents reaches any depth": ("FROM scratch\nCOPY --parents **/one.txt /\n", "lib/one.txt"),
}


@pytest.mark.parametrize("name", list(DELIBERATE_DOCKERFILE))
def test_deliberate_dockerfile_differences(name, tmp_path):
    dockerfile, changed = DELIBERATE_DOCKERFILE[name]
    assert moves(context(tmp_path / "ctx", dockerfile), changed)
    assert h(context(tmp_path / "again", dockerfile))  # and it is accepted
