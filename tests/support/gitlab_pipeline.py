"""Whole GitLab pipelines under gitlab-ci-local (shell executor) for the tests: a project of three images that
includes the component (templates/pipeline.yml) with ``include: local`` and inputs, as a user project would, run
against a registry set up as GitLab's is (tests/support/gitlab_registry.py) with real buildah builds.

There is no GitLab server here: gitlab-ci-local stands in for the runner, and GITLAB_CI=true is set for it. The
fixtures are module-scoped: each test module that asks for them gets its own registry and project, so one module's
pipelines never see another's images.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from ci_tags.core.manifest import ANNOTATION_TARGET, stamp_of
from tests.support.gitlab_registry import GitLabLikeRegistry, start_gitlab_like
from tests.support.project import buildah_env, push_busybox_base, write_project

ROOT = Path(__file__).resolve().parent.parent.parent
_REPORT_LINE_RE = re.compile(r" (PASS|FAIL|WARN) +(.+?)\s*\Z")
# a job's first log line: "<name>  starting shell (<stage>)", a child job's "\t[<trigger>] -> <name>  starting ..."
_STARTED_RE = re.compile(r"^\t*(\[[^\]\n]+\] -> )?(\S+) +starting ", re.M)
_PIPELINE_RE = re.compile(r"ci-tags plan for pipeline (\S+)")
GITLAB_CI = """include:
  - local: templates/pipeline.yml
    inputs:
      version: under-test
      image: ci-tags-under-test
      janitor-args: --keep-last 0 --backend oci

stages: [build, test]

use-app:
  stage: test
  script:
    - test -n "$CI_TAGS_IMAGE_APP"
    - echo "app image is $CI_TAGS_IMAGE_APP"
"""


@dataclass
class PipelineRun:
    code: int
    output: str
    jobs: dict[str, str]  # job name (child jobs as "[trigger] -> name") -> PASS / FAIL / WARN
    pipeline_id: str | None
    requests: list[Any]

    def ran(self, job: str) -> str | None:
        for name, result in self.jobs.items():
            if name == job or name.endswith(f"-> {job}"):
                return result
        return None

    @property
    def child_jobs(self) -> list[str]:
        return sorted(n.split("-> ", 1)[1] for n in self.jobs if "-> " in n)

    @property
    def failed_jobs(self) -> list[str]:
        """Jobs that failed, child jobs too (gitlab-ci-local's exit status counts the parent pipeline's only)."""
        return sorted(n for n, result in self.jobs.items() if result == "FAIL")

    def log_of(self, *jobs: str) -> str:
        """The log lines of ``jobs`` (by name, a child job's with or without its trigger), for a failure message."""
        bare = [j.split("-> ", 1)[-1] for j in jobs]
        return "\n".join(line for line in self.output.splitlines()
                         if any(re.match(rf"\t*(\[[^\]]+\] -> )?{re.escape(b)}\s", line) for b in bare))


def job_results(stdout: str) -> dict[str, str]:
    """Each job's result from gitlab-ci-local's reports: one per pipeline (a child pipeline's when it ends, the
    parent's last), each after a blank line, one " PASS|WARN|FAIL  <name>" line per job that ran (a WARN line
    ends with pre_script or after_script: gitlab-ci-local's own warnings do not). All of them are read, wherever
    other jobs' output puts them. A child job's PASS line names it "[<trigger>] -> <name>", its FAIL and WARN
    lines by its name alone: named here as the PASS lines name it, from its log lines."""
    prefixes = {m[2]: m[1] for m in _STARTED_RE.finditer(stdout) if m[1]}
    jobs: dict[str, str] = {}
    for block in stdout.split("\n\n")[1:]:
        for line in block.splitlines():
            m = _REPORT_LINE_RE.match(line)
            if m is None and line.startswith("  "):
                continue  # "  > " lines: the last lines of a failed job's log
            if m is None or (m[1] == "WARN" and not m[2].endswith(("pre_script", "after_script"))):
                break
            result, name = m.groups()
            bare = name.split(" ", 1)[0]
            jobs[name if "-> " in name else prefixes.get(bare, "") + name] = result
    return jobs


class GitLabProject:
    """The project's git checkout; calling it runs the pipeline of the checked-out commit."""

    prefix = "group/project/ci"  # the images' repositories, under CI_REGISTRY_IMAGE

    def __init__(self, gitlab_registry: GitLabLikeRegistry, work: Path) -> None:
        self.registry = gitlab_registry.registry
        self.registry_host = self.registry.host
        self.tmp = work / "tmp"
        env = buildah_env(work / "buildah")
        # the private base, pushed by its owner (an auth file for this one push; the CA is in certs.d already)
        owner_auth = work / "owner-auth.json"
        owner_auth.write_text(json.dumps(json.loads(gitlab_registry.variables()["DOCKER_AUTH_CONFIG"])))
        base = push_busybox_base(gitlab_registry.base_registry.host, work, env, repository="private/busybox",
                                 push_args=("--authfile", str(owner_auth)))
        owner_auth.unlink()
        self.root = work / "project"
        self.root.mkdir()
        write_project(self.root, "$CI_REGISTRY_IMAGE", base)
        shutil.copytree(ROOT / "templates", self.root / "templates")
        # No GitLab API here: the janitor uses the registry API (GitLab CI would pick GitLab's API by itself).
        (self.root / ".gitlab-ci.yml").write_text(GITLAB_CI)
        (self.root / ".gitignore").write_text(".gitlab-ci-local/\nci-tags-*\n.gitlab-ci-local-variables.yml\n")
        self.tmp.mkdir()
        self.env = {**env, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}", "NO_COLOR": "1",
                    "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
                    "GIT_COMMITTER_EMAIL": "t@example.com", "TMPDIR": str(self.tmp)}
        self.git("init", "-q", "-b", "main")
        self.git("add", "-A")
        self.git("commit", "-q", "-m", "first")
        self.git("remote", "add", "origin", "https://gitlab.example.com/group/project.git")
        # Exactly what GitLab gives a job: its predefined variables (and the project's DOCKER_AUTH_CONFIG). Debug
        # tracing is on, so that the secrets checks cover every request ci-tags makes. gitlab-ci-local hands
        # --variable values to the parent pipeline only; its variables file reaches the child pipelines too (and
        # keeps the job token off its command line).
        variables = {**gitlab_registry.variables(), "CI_DEFAULT_BRANCH": "main", "GITLAB_CI": "true",
                     "CI_TAGS_DEBUG": "1"}
        (self.root / ".gitlab-ci-local-variables.yml").write_text(yaml.safe_dump(variables))

    def git(self, *args: str) -> None:
        subprocess.run(["git", *args], cwd=self.root, env=self.env, check=True, capture_output=True)

    def __call__(self) -> PipelineRun:
        """Run the pipeline; the run has the registry requests it made."""
        mark = self.registry.mark()
        done = subprocess.run(["gitlab-ci-local", "--force-shell-executor", "--no-color"], cwd=self.root,
                              env=self.env, capture_output=True, text=True, timeout=600, check=False)
        output = done.stdout + done.stderr
        jobs = job_results(done.stdout)
        found = _PIPELINE_RE.search(output)
        return PipelineRun(done.returncode, output, jobs, found[1] if found else None, self.registry.since(mark))

    @contextmanager
    def on_new_branch(self, branch: str) -> Iterator[None]:
        """Check out a new ``branch`` for the block; main again after it, even when the block failed."""
        self.git("checkout", "-q", "-b", branch)
        try:
            yield
        finally:
            self.git("checkout", "-q", "main")

    @contextmanager
    def changed(self, path: Path, text: str, message: str) -> Iterator[None]:
        """``path`` holds ``text``, committed, for the block; then its old text, committed again."""
        original = path.read_text()
        path.write_text(text)
        self.git("commit", "-q", "-am", message)
        try:
            yield
        finally:
            path.write_text(original)
            self.git("commit", "-q", "-am", "back")


@pytest.fixture(scope="module")
def gitlab_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitLabLikeRegistry]:
    """TLS and token auth as GitLab's registry has them; a private base image on a second, Basic-auth registry."""
    made = start_gitlab_like(tmp_path_factory.mktemp("gitlab-registry"))
    yield made
    made.stop()


@pytest.fixture(scope="module")
def gitlab_project(gitlab_registry: GitLabLikeRegistry, tmp_path_factory: pytest.TempPathFactory) -> GitLabProject:
    if shutil.which("gitlab-ci-local") is None or shutil.which("buildah") is None:
        pytest.fail("gitlab-ci-local and buildah are installed by .ci/setup")
    return GitLabProject(gitlab_registry, tmp_path_factory.mktemp("gcl"))


def target(reg: Any, repository: str, tag: str) -> str:
    """The image a tag stands for: the target its stamp names, else its own digest."""
    manifest = reg.get_manifest(repository, tag)
    return str((stamp_of(manifest) or {}).get(ANNOTATION_TARGET, manifest.digest))
