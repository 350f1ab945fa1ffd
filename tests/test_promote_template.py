"""templates/promote.yml: GitLab's schema accepts its body, its rules run the dry run in merge requests that change
the file and the promotion on the default branch, and its job scripts run the real ci-tags against the registry."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ci_tags.oci.client import Registry
from tests.support.components import INPUT_RE, component, fill_inputs, job_with_extends, validate
from tests.support.images import push_image

ROOT = Path(__file__).resolve().parent.parent
PROMOTE = ROOT / "templates" / "promote.yml"


@pytest.mark.parametrize("install", ["image", "pip"])
def test_body_validates_against_gitlab_ci_schema(install: str, tmp_path: Path) -> None:
    body = fill_inputs(PROMOTE, install=install, **{"job-prefix": "rel", "file": "stx/images.yml"})
    result = validate(tmp_path, "body.yml", body)
    assert result.returncode == 0, result.stdout + result.stderr
    assert {"rel-promote-check", "rel-promote", f".rel-promote-install-{install}"} <= set(body)
    for name in ("rel-promote-check", "rel-promote"):
        job = job_with_extends(body, name)
        assert job["variables"]["CI_TAGS_PROMOTE_FILE"] == "stx/images.yml"


def test_a_broken_body_is_refused_by_the_schema(tmp_path: Path) -> None:
    body = fill_inputs(PROMOTE)
    body["ci-tags-promote"]["rules"] = "always"
    assert validate(tmp_path, "body.yml", body).returncode != 0


def test_uses_exactly_its_inputs_and_no_global_keywords() -> None:
    spec, body = component(PROMOTE)
    declared = set(spec["spec"]["inputs"])
    assert set(INPUT_RE.findall(PROMOTE.read_text().split("\n---\n", 1)[1])) == declared
    assert not {"stages", "default", "variables", "workflow", "include"} & set(body)
    assert all(v.get("description") for v in spec["spec"]["inputs"].values())


def _matches(rule: dict[str, Any], variables: dict[str, str], changed: set[str]) -> bool:
    """GitLab's rule evaluation for the expressions this component uses: ==, && and a bare variable."""
    for clause in rule["if"].split("&&"):
        clause = clause.strip()
        if "==" in clause:
            left, right = (s.strip() for s in clause.split("=="))
            lv = variables.get(left[1:], "")
            rv = right.strip('"') if right.startswith('"') else variables.get(right[1:], "")
            if lv != rv:
                return False
        elif not variables.get(clause[1:]):
            return False
    return "changes" not in rule or bool(set(rule["changes"]["paths"]) & changed)


def _runs(job: dict[str, Any], variables: dict[str, str], changed: set[str]) -> bool:
    return any(_matches(rule, variables, changed) for rule in job["rules"])


MR = {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_DEFAULT_BRANCH": "main"}
MAIN_PUSH = {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main"}
FEATURE_PUSH = {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "topic", "CI_DEFAULT_BRANCH": "main"}
MAIN_WEB = {"CI_PIPELINE_SOURCE": "web", "CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main"}


@pytest.mark.parametrize(
    ("variables", "changed", "check", "promote"),
    [
        (MR, {"images.yml"}, True, False),  # a merge request changing the file: the dry run only
        (MR, {"README.md"}, False, False),
        (MAIN_PUSH, {"images.yml"}, False, True),  # the merge: the promotion
        (MAIN_PUSH, {"README.md"}, False, False),
        (FEATURE_PUSH, {"images.yml"}, False, False),  # never from another branch
        (MAIN_WEB, set(), False, True),  # a re-run from the web UI on the default branch
    ],
)
def test_rules(variables: dict[str, str], changed: set[str], check: bool, promote: bool) -> None:
    body = fill_inputs(PROMOTE, file="images.yml")
    assert _runs(body["ci-tags-promote-check"], variables, changed) == check
    assert _runs(body["ci-tags-promote"], variables, changed) == promote


def _run_script(job: dict[str, Any], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {**env, **{k: str(v) for k, v in job["variables"].items()},
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    return subprocess.run(["sh", "-ec", "\n".join(job["script"])], cwd=cwd, env=full, capture_output=True,
                          text=True, check=False)


def test_the_job_scripts_check_then_promote_with_the_real_ci_tags(
    reg: Registry, registry, clean_env, tmp_path: Path
) -> None:
    image = push_image(reg, "tpl/app", "build-9").manifest
    push_image(reg, "tpl/app", "stx.9.0-taken")
    (tmp_path / "images.yml").write_text(
        f"images:\n  - name: {registry.host}/tpl/app\n    src_build_tag: build-9\n    src_ref: c9\n    tag: stx.9.0\n"
    )
    body = fill_inputs(PROMOTE, file="images.yml")
    check = _run_script(job_with_extends(body, "ci-tags-promote-check"), tmp_path, clean_env)
    assert check.returncode == 0, check.stderr
    assert check.stdout.startswith(f"would copy {registry.host}/tpl/app:build-9 -> {registry.host}/tpl/app:stx.9.0")
    assert reg.head_manifest("tpl/app", "stx.9.0") is None
    promote = _run_script(job_with_extends(body, "ci-tags-promote"), tmp_path, clean_env)
    assert promote.returncode == 0, promote.stderr
    assert reg.head_manifest("tpl/app", "stx.9.0") == image.digest

    # a merge request asking for a taken tag fails its pipeline
    (tmp_path / "images.yml").write_text(
        f"images:\n  - name: {registry.host}/tpl/app\n    src_build_tag: build-9\n    src_ref: c9\n"
        "    tag: stx.9.0-taken\n"
    )
    conflict = _run_script(job_with_extends(body, "ci-tags-promote-check"), tmp_path, clean_env)
    assert conflict.returncode == 1
    assert "conflict: " in conflict.stdout


def test_the_component_under_gitlab_ci_local(reg: Registry, registry, clean_env, tmp_path: Path) -> None:
    """Whole pipelines through the component (include: local with inputs) under gitlab-ci-local, with the real
    ci-tags and registry: a merge request changing the file runs the dry run, the default branch after the merge
    promotes, a conflicting merge request fails, and a change elsewhere runs neither job. gitlab-ci-local evaluates
    rules:changes against origin/<default branch>, here a local bare repository."""
    import shutil

    if shutil.which("gitlab-ci-local") is None:
        pytest.fail("gitlab-ci-local is installed by .ci/setup")
    image = push_image(reg, "gcl-promote/app", "build-1").manifest
    push_image(reg, "gcl-promote/app", "stx.2.0")  # a release tag another branch made already
    root = tmp_path / "project"
    (root / "templates").mkdir(parents=True)
    shutil.copy(PROMOTE, root / "templates" / "promote.yml")
    (root / ".gitlab-ci.yml").write_text(
        "include:\n  - local: templates/promote.yml\n    inputs:\n      file: release-tags.yml\n")
    (root / ".gitignore").write_text(".gitlab-ci-local/\n")
    entry = f"images:\n  - name: {registry.host}/gcl-promote/app\n    src_build_tag: build-1\n    src_ref: c1\n"
    (root / "release-tags.yml").write_text("images: []\n")
    env = {**clean_env, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}", "NO_COLOR": "1",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)

    def pipeline(*variables: str) -> tuple[str, dict[str, str]]:
        args = ["gitlab-ci-local", "--force-shell-executor", "--no-color", "--variable", "CI_DEFAULT_BRANCH=main"]
        for v in variables:
            args += ["--variable", v]
        done = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, timeout=300, check=False)
        output = done.stdout + done.stderr
        jobs = {name: result for result, name in re.findall(r"^\s*(PASS|FAIL)\s+(\S+)", output, re.MULTILINE)}
        return output, jobs

    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / "origin.git")], check=True, capture_output=True)
    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "first")
    git("remote", "add", "origin", str(tmp_path / "origin.git"))
    git("push", "-q", "origin", "main")

    # a merge request asking for stx.1.0: the dry run only, nothing written
    git("checkout", "-q", "-b", "release-1")
    (root / "release-tags.yml").write_text(entry + "    tag: stx.1.0\n")
    git("commit", "-q", "-am", "release stx.1.0")
    output, jobs = pipeline("CI_PIPELINE_SOURCE=merge_request_event")
    assert jobs == {"ci-tags-promote-check": "PASS"}, output[-3000:]
    assert f"would copy {registry.host}/gcl-promote/app:build-1 -> {registry.host}/gcl-promote/app:stx.1.0" in output
    assert reg.head_manifest("gcl-promote/app", "stx.1.0") is None

    # merged: the default branch promotes
    git("checkout", "-q", "main")
    git("merge", "-q", "--ff-only", "release-1")
    output, jobs = pipeline()
    assert jobs == {"ci-tags-promote": "PASS"}, output[-3000:]
    assert reg.head_manifest("gcl-promote/app", "stx.1.0") == image.digest
    git("push", "-q", "origin", "main")

    # a merge request asking for a tag on another image fails; a change elsewhere runs neither job
    git("checkout", "-q", "-b", "release-2")
    (root / "release-tags.yml").write_text(entry + "    tag: stx.2.0\n")
    git("commit", "-q", "-am", "release stx.2.0")
    output, jobs = pipeline("CI_PIPELINE_SOURCE=merge_request_event")
    assert jobs == {"ci-tags-promote-check": "FAIL"}, output[-3000:]
    assert "conflict: " in output
    git("checkout", "-q", "main")
    (root / "README.md").write_text("docs\n")
    git("add", "-A")
    git("commit", "-q", "-m", "docs")
    output, jobs = pipeline()
    assert jobs == {}, output[-3000:]
