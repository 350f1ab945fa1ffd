"""ci-tags' own release: the release jobs of .gitlab-ci.yml on semver tags, and the package they upload.

What can run here runs: `.ci/package` builds the sdist and wheel and checks them (`twine check --strict`, the
version, the tag); the jobs' YAML is validated against GitLab's schema by test_templates.py and its shape here. The
upload itself (PyPI, the GitLab release API) cannot run on this machine and is not tested.
"""

from __future__ import annotations

import email.parser
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

import ci_tags

ROOT = Path(__file__).resolve().parent.parent
SEMVER_RULE = "$CI_COMMIT_TAG =~ /^[0-9]+\\.[0-9]+\\.[0-9]+$/"


def _pipeline() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / ".gitlab-ci.yml").read_text())
    return doc


def _rules(doc: dict[str, Any], job: str) -> list[dict[str, Any]]:
    rules = doc[job].get("rules")
    if rules is None:
        rules = doc[doc[job]["extends"]]["rules"]
    assert isinstance(rules, list)
    return rules


@pytest.mark.parametrize("job", ["release-package", "release-image", "release"])
def test_release_jobs_run_only_for_semver_tags(job: str) -> None:
    doc = _pipeline()
    assert [r["if"] for r in _rules(doc, job)] == [SEMVER_RULE]


def test_the_package_job_builds_checks_and_uploads_with_a_token_variable_never_a_literal() -> None:
    job = _pipeline()["release-package"]
    script = "\n".join(job["script"])
    assert "bash .ci/package dist" in script
    assert "twine upload dist/*" in script
    assert job["variables"]["TWINE_USERNAME"] == "__token__"
    assert job["variables"]["TWINE_PASSWORD"] == "$PYPI_TOKEN"


def test_the_gitlab_release_follows_the_package_and_the_image() -> None:
    job = _pipeline()["release"]
    assert set(job["needs"]) == {"release-package", "release-image"}
    assert job["release"]["tag_name"] == "$CI_COMMIT_TAG"
    assert "$CI_COMMIT_TAG" in job["release"]["description"]


def test_the_component_default_version_is_the_package_version() -> None:
    """`include: component@X` with no `version` input installs ci-tags' default: it must be this release's."""
    spec = next(yaml.safe_load_all((ROOT / "templates" / "pipeline.yml").read_text()))
    assert spec["spec"]["inputs"]["version"]["default"] == ci_tags.__version__


def _package(out: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ROOT / ".ci" / "package"), str(out)],
        env={**os.environ, "PYTHON": sys.executable, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("release") / "dist"
    result = _package(out)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASSED" in result.stdout
    return out


def test_package_builds_an_sdist_and_a_wheel_of_this_version(dist: Path) -> None:
    version = ci_tags.__version__
    assert sorted(p.name for p in dist.iterdir()) == [
        f"ci_tags-{version}-py3-none-any.whl",
        f"ci_tags-{version}.tar.gz",
    ]


def test_the_wheel_carries_the_package_the_script_and_the_project_urls(dist: Path) -> None:
    version = ci_tags.__version__
    with zipfile.ZipFile(dist / f"ci_tags-{version}-py3-none-any.whl") as whl:
        names = whl.namelist()
        meta = email.parser.Parser().parsestr(whl.read(f"ci_tags-{version}.dist-info/METADATA").decode())
        entry_points = whl.read(f"ci_tags-{version}.dist-info/entry_points.txt").decode()
    assert "ci_tags/cli.py" in names
    assert not [n for n in names if n.startswith("tests/")]
    assert "ci-tags = ci_tags.cli:console" in entry_points
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL") or [])
    assert {"Homepage", "Source", "Issues", "Documentation"} <= set(urls)
    assert meta["Version"] == version
    # The README is the project page: it must be there, as markdown.
    assert meta["Description-Content-Type"].startswith("text/markdown")


def test_the_sdist_builds_the_same_package(dist: Path) -> None:
    version = ci_tags.__version__
    with tarfile.open(dist / f"ci_tags-{version}.tar.gz") as sdist:
        names = sdist.getnames()
    assert f"ci_tags-{version}/pyproject.toml" in names
    assert f"ci_tags-{version}/ci_tags/cli.py" in names


def test_a_release_tag_that_is_not_the_package_version_is_refused(tmp_path: Path) -> None:
    result = _package(tmp_path / "dist", CI_COMMIT_TAG="9.9.9")
    assert result.returncode == 1
    assert f"the tag 9.9.9 is not the package version {ci_tags.__version__}" in result.stderr
