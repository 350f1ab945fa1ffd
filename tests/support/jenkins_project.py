"""The project and pipeline scripts of the Jenkins shared library's tests (tests/test_jenkins_*.py): a git
repository of three images built by ``ciTagsPipeline`` under the Groovy harness (tests/support/jenkins_harness.py),
on agents of two arches."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ci_tags.core.manifest import ANNOTATION_TARGET, stamp_of
from tests.support.jenkins_harness import Agent, Build, Harness
from tests.support.project import buildah_env, push_busybox_base, write_project

# The first agent matches builds of either arch by its arch labels alone: a library that forgot agentLabel would
# build there, and the tests would see it.
AGENTS = (
    Agent("windows-1", ("windows", "amd64", "arm64")),
    Agent("linux-amd64", ("linux", "amd64"), executors=3),
    Agent("linux-arm64", ("linux", "arm64")),
)
REGISTRY_CREDENTIALS = ("ci-bot", "registry-S3cret-b71c")
PIPELINE = """@Library('ci-tags@0.2.0') _

Map plan = ciTagsPipeline(config: 'ci-tags.yml', agentLabel: 'linux', maxAge: '7d', install: 'path',
                          credentialsId: 'registry'{extra})

// a stage of the project's own, after the library's: the images by their pipeline tags
node('linux') {{
    echo "waves planned: ${{plan.waves.size()}}"
    sh 'echo "app image is $CI_TAGS_IMAGE_APP"'
}}
"""
LATEST = "latest"


def pipeline_script(**extra: str) -> str:
    return PIPELINE.format(extra="".join(f", {k}: '{v}'" for k, v in extra.items()))


def git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}
    done = subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True)
    return done.stdout.strip()


class Project:
    """A git repository of three images (base, app FROM base, multi-arch tools) and the harness that builds it."""

    def __init__(self, work: Path, registry: Any, agent_path: str) -> None:
        self.registry = registry
        env = buildah_env(work / "buildah")
        base = push_busybox_base(registry.host, work, env)
        self.root = work / "project"
        self.root.mkdir()
        unique = hashlib.sha256(str(work).encode()).hexdigest()[:10]
        config = write_project(self.root, f"{registry.host}/j{unique}", base)
        config.write_text(config.read_text() + "runners: {amd64: [amd64], arm64: [arm64]}\n")
        self.prefix = f"j{unique}/ci"
        git(self.root, "init", "-q", "-b", "main")
        git(self.root, "add", "-A")
        git(self.root, "commit", "-q", "-m", "first")
        self.harness = Harness(work / "jenkins", AGENTS, {**env, "PATH": agent_path, "NO_COLOR": "1"},
                               {"registry": REGISTRY_CREDENTIALS})
        self.numbers: dict[str, int] = {}

    def build(self, script: str, branch: str = "main", job: str = "project", **run: Any) -> Build:
        """The next build of ``branch`` (of job ``job``) at its tip, with the
        registry requests it made; ``run``: more of Harness.run's arguments (a plain job, parameters, causes)."""
        # the other jobs of these tests build the same repository: one count for them all, so that their pipeline
        # tags (pipeline-<branch>-<number>) never meet
        key = branch if job == "project" else f"other jobs:{branch}"
        self.numbers[key] = self.numbers.get(key, 0) + 1
        commit = git(self.root, "rev-parse", branch)
        mark = self.registry.mark()
        done = self.harness.run(script, scm_url=str(self.root), commit=commit, branch=branch,
                                number=self.numbers[key], job=job, **run)
        done.requests = self.registry.since(mark)
        return done

    def repository(self, image: str) -> str:
        return f"{self.prefix}/{image}"


def agent_path() -> str:
    """The agents' PATH: ci-tags from this checkout's venv (install: 'path'), then the machine's tools."""
    return f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}"


def target(reg: Any, repository: str, tag: str) -> str:
    manifest = reg.get_manifest(repository, tag)
    return str((stamp_of(manifest) or {}).get(ANNOTATION_TARGET, manifest.digest))


def assert_ran_cleanly(build: Build) -> None:
    assert build.harness_errors == [], build.harness_errors
    assert build.code == 0, build.output[-3000:]
