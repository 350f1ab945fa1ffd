"""One version everywhere: the package's ``__version__`` is the version the GitLab components and the Jenkins
library install by default, the one the README and the docs tell users to install, include and pull, and the newest
release in CHANGELOG.md. A release that bumps one place and forgets another fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

import ci_tags

ROOT = Path(__file__).resolve().parent.parent
VERSION = ci_tags.__version__
SEMVER = r"\d+\.\d+\.\d+"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
# how each place names a version: pip, the component, the library, the image
NAMED = {
    "pip": re.compile(rf"ci-tags==({SEMVER})"),
    "component": re.compile(rf"ci-tags/ci-tags/(?:pipeline|promote)@({SEMVER})"),
    "library": re.compile(rf"@Library\('ci-tags@({SEMVER})'\)"),
    "image": re.compile(rf"ci-tags/ci-tags/ci-tags:({SEMVER})"),
}


def test_the_version_is_semantic() -> None:
    assert re.fullmatch(SEMVER, VERSION)


@pytest.mark.parametrize("name", ["pipeline.yml", "promote.yml"])
def test_each_component_installs_this_version_by_default(name: str) -> None:
    text = (ROOT / "templates" / name).read_text()
    spec = next(yaml.safe_load_all(text))
    assert spec["spec"]["inputs"]["version"]["default"] == VERSION
    # install: image pulls ci-tags' image under the same version tag
    assert "image: $[[ inputs.image ]]:$[[ inputs.version ]]" in text


def test_the_jenkins_library_installs_this_version_by_default() -> None:
    settings = (ROOT / "vars" / "ciTagsSettings.groovy").read_text()
    assert re.findall(rf"^\s*version: '({SEMVER})',", settings, re.M) == [VERSION]


@pytest.mark.parametrize("kind", list(NAMED))
def test_the_readme_and_the_docs_name_this_version(kind: str) -> None:
    found = {(path.relative_to(ROOT).as_posix(), v) for path in DOCS for v in NAMED[kind].findall(path.read_text())}
    assert found, f"no {kind} version in the README or the docs"
    assert sorted(f"{path}: {v}" for path, v in found if v != VERSION) == []


def test_the_library_examples_name_this_version() -> None:
    places = [*sorted((ROOT / "vars").glob("*.groovy")), ROOT / "Jenkinsfile",
              ROOT / "tests" / "support" / "jenkins_project.py"]
    named = [(p.name, v) for p in places for v in re.findall(rf"ci-tags@({SEMVER})", p.read_text())]
    assert named and all(v == VERSION for _, v in named), named


def test_the_changelog_has_this_release_under_unreleased() -> None:
    headings = re.findall(r"^## \[([^\]]+)\]", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert headings[:2] == ["Unreleased", VERSION]
