"""ci-tags' Jenkins shared library (vars/) run for real, without a Jenkins server (none runs here).

tests/jenkins/run_pipeline.groovy runs a pipeline script that loads the library with ``@Library('ci-tags@...') _``
under Debian's Groovy, with the Jenkins steps the library calls provided by the harness: ``sh`` runs each script
in a real ``/bin/sh -xe`` on an agent's workspace folder, ``parallel`` runs branches on threads at once, ``node``
picks an agent by its label expression (recorded and checked here), ``checkout`` checks the build's commit out
with git, and ``withEnv``, ``withCredentials``/``usernamePassword`` (masked in the log), ``dir``, ``readFile``,
``readJSON`` (``returnPojo: true``), ``stage``, ``catchError``, ``unstable``, ``error``, ``echo``, ``env`` and
``currentBuild`` (results only get worse) behave as their documentation says. A step or property it does not
provide fails the run even where the library catches the error, so the library cannot silently skip work; so does
a step called from a ``@NonCPS`` method, which cannot work under Jenkins' CPS.

With it, the four scenarios of the GitLab pipelines (tests/test_templates.py) run through ``ciTagsPipeline``
against the real registry with real buildah builds: a first default-branch build (builds everything, each
image x arch on an agent with its arch's labels, wave by wave, publishes ``latest``), an unchanged one (no build,
no blob request in the registry's access log), a feature branch (builds only the changed image, ``latest``
untouched) and a failing build (FAILURE, no publish). Also: a failing janitor leaves the build UNSTABLE and the
images published; registry credentials from a Jenkins credentials id reach ci-tags and its buildah push (a
registry behind Basic auth); pip installs ci-tags itself (``ci-tags==<version>``), never the project's checkout.

What the harness does NOT reproduce (so these tests cannot catch it): the CPS transformation and the serialisation
of the program's state at every step (a non-serialisable local kept across a step, a CPS method called from a
``@NonCPS`` one), resumption after a controller restart, the script security sandbox and its approvals (a global
library runs outside the sandbox; a folder library inside it), agents of other architectures (every agent is a
folder on this machine), and declarative ``pipeline {}``.
npm-groovy-lint (tests/test_jenkinsfile.py) checks the library's text against the Jenkins rule set.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import ci_tags
from ci_tags.core.manifest import ANNOTATION_PIPELINE, ANNOTATION_TARGET, stamp_of
from tests.support.auth import BASIC_USERS
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
PIPELINE = """@Library('ci-tags@0.1.0') _

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

    def build(self, script: str, branch: str = "main") -> Build:
        """The next build of ``branch`` at its tip, with the registry requests it made."""
        self.numbers[branch] = self.numbers.get(branch, 0) + 1
        commit = git(self.root, "rev-parse", branch)
        mark = self.registry.mark()
        done = self.harness.run(script, scm_url=str(self.root), commit=commit, branch=branch,
                                number=self.numbers[branch])
        done.requests = self.registry.since(mark)
        return done

    def repository(self, image: str) -> str:
        return f"{self.prefix}/{image}"


def agent_path() -> str:
    """The agents' PATH: ci-tags from this checkout's venv (install: 'path'), then the machine's tools."""
    return f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}"


@pytest.fixture(scope="module")
def project(registry: Any, tmp_path_factory: pytest.TempPathFactory) -> Project:
    return Project(tmp_path_factory.mktemp("jenkins"), registry, agent_path())


def target(reg: Any, repository: str, tag: str) -> str:
    manifest = reg.get_manifest(repository, tag)
    return str((stamp_of(manifest) or {}).get(ANNOTATION_TARGET, manifest.digest))


def assert_ran_cleanly(build: Build) -> None:
    assert build.harness_errors == [], build.harness_errors
    assert build.code == 0, build.output[-3000:]


@pytest.fixture(scope="module")
def first(project: Project) -> Build:
    return project.build(pipeline_script())


@pytest.fixture(scope="module")
def second(project: Project, first: Build) -> Build:
    return project.build(pipeline_script())


@pytest.fixture(scope="module")
def feature(project: Project, second: Build) -> Build:
    git(project.root, "checkout", "-q", "-b", "feature/faster-app")
    dockerfile = project.root / "docker" / "app" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "ENV FASTER=1\n")
    git(project.root, "commit", "-q", "-am", "app: faster")
    git(project.root, "checkout", "-q", "main")
    return project.build(pipeline_script(), branch="feature/faster-app")


@pytest.fixture(scope="module")
def broken(project: Project, feature: Build) -> Build:
    dockerfile = project.root / "docker" / "app" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "RUN exit 3\n")
    git(project.root, "commit", "-q", "-am", "app: broken")
    return project.build(pipeline_script())


# -- the four scenarios of the GitLab pipelines --------------------------------------------------------------------


def test_first_build_on_the_default_branch_builds_wave_by_wave_on_the_arch_agents_and_publishes(
        first: Build, project: Project, reg: Any) -> None:
    assert_ran_cleanly(first)
    assert first.result == "SUCCESS", first.text[-3000:]
    # every image x arch built once, each on a linux agent with its arch's label from the config's runners:
    assert first.builds() == [("app", "amd64", "linux-amd64"), ("base", "amd64", "linux-amd64"),
                              ("tools", "amd64", "linux-amd64"), ("tools", "arm64", "linux-arm64")]
    build_nodes = sorted(n["label"] for n in first.nodes if n["branch"] and n["branch"].startswith("build "))
    assert build_nodes == ["(linux) && (amd64)"] * 3 + ["(linux) && (arm64)"]
    assert not [n for n in first.nodes if n["agent"] == "windows-1"]
    # wave by wave: app (FROM base) in the wave after base's, tools' index once both its arches are built
    wave_of = {s["env"]["CI_TAGS_BUILD_IMAGE"]: s["stages"] for s in first.commands("build")}
    assert wave_of["base"] == wave_of["tools"] == ["ci-tags build wave 1"]
    assert wave_of["app"] == ["ci-tags build wave 2"]
    assert [(s["env"]["CI_TAGS_MANIFEST_IMAGE"], s["stages"]) for s in first.commands("manifest")] == [
        ("tools", ["ci-tags manifest wave 1"])]
    # the janitor beside the plan, in a parallel branch of its own
    assert [(s["branch"], s["stages"]) for s in first.commands("janitor")] == [("janitor", ["ci-tags plan"])]
    assert [s["branch"] for s in first.commands("plan")] == ["plan"]
    assert len(first.commands("publish")) == 1
    for name in ("base", "app", "tools"):
        repository = project.repository(name)
        assert target(reg, repository, LATEST) == target(reg, repository, "pipeline-main-1")
    # the project's own stage found the app image under its pipeline tag through env
    assert f"app image is {project.registry.host}/{project.repository('app')}:pipeline-main-1" in first.text
    assert "waves planned: 2" in first.text


def test_every_ci_tags_command_ran_on_the_builds_commit_with_the_settings_and_credentials(
        first: Build, project: Project) -> None:
    commit = git(project.root, "rev-parse", "main")
    commands = [s for s in first.shells if re.search(r"\bci-tags (janitor|plan|build|manifest|publish)\b",
                                                      s["script"])]
    assert len(commands) == 8
    for shell in commands:
        assert shell["exit"] == 0
        assert shell["env"]["GIT_COMMIT"] == commit
        assert shell["env"]["CI_TAGS_CONFIG"] == "ci-tags.yml"
        assert shell["env"]["CI_TAGS_DEFAULT_BRANCH"] == "main"
        # bound from the credentials id, masked in what Jenkins shows
        assert shell["env"]["CI_TAGS_REGISTRY_USER"] == REGISTRY_CREDENTIALS[0]
        assert shell["env"]["CI_TAGS_REGISTRY_PASSWORD"] == "****"
        assert shell["env"]["CI_TAGS_VENV"].startswith(shell["workspace"] + "@tmp/"), "the venv is beside the checkout"
    assert REGISTRY_CREDENTIALS[1] not in first.output


def test_second_build_with_nothing_changed_builds_nothing_and_reads_no_blob(
        first: Build, second: Build, project: Project, reg: Any) -> None:
    assert_ran_cleanly(second)
    assert second.result == "SUCCESS", second.text[-3000:]
    assert second.commands("build") == [] and second.commands("manifest") == []
    assert "ci-tags: every image was reused; nothing to build" in second.text
    assert not [r for r in second.requests if r.is_blob], "no blob may be read or written when nothing changed"
    assert len(second.commands("publish")) == 1
    for name in ("base", "app", "tools"):
        repository = project.repository(name)
        assert (stamp_of(reg.get_manifest(repository, "pipeline-main-2")) or {}).get(ANNOTATION_PIPELINE) == "main-2"
        assert target(reg, repository, "pipeline-main-2") == target(reg, repository, "pipeline-main-1")
        assert target(reg, repository, LATEST) == target(reg, repository, "pipeline-main-1")


def test_feature_branch_builds_only_the_changed_image_and_never_touches_latest(
        second: Build, feature: Build, project: Project, reg: Any) -> None:
    assert_ran_cleanly(feature)
    assert feature.result == "SUCCESS", feature.text[-3000:]
    assert feature.builds() == [("app", "amd64", "linux-amd64")]
    assert feature.commands("publish") == []
    assert "ci-tags: not publishing: feature/faster-app is not the default branch main" in feature.text
    app = project.repository("app")
    assert target(reg, app, "pipeline-feature-faster-app-1") != target(reg, app, LATEST)
    assert target(reg, app, LATEST) == target(reg, app, "pipeline-main-2")


def test_a_failing_build_fails_the_build_and_does_not_publish(
        second: Build, broken: Build, project: Project, reg: Any) -> None:
    assert_ran_cleanly(broken)
    assert broken.result == "FAILURE"
    failed = [s for s in broken.commands("build") if s["exit"] != 0]
    assert [s["env"]["CI_TAGS_BUILD_IMAGE"] for s in failed] == ["app"]
    assert "[build app amd64] ERROR: script returned exit code 1" in broken.text
    assert broken.commands("publish") == []
    assert "pipeline-main-3" not in reg.tags(project.repository("app"))
    for name in ("base", "app", "tools"):
        repository = project.repository(name)
        assert target(reg, repository, LATEST) == target(reg, repository, "pipeline-main-2")


# -- the janitor off the critical path, parameters, credentials, install ------------------------------------------


def test_a_failing_janitor_leaves_the_build_unstable_and_still_publishes(
        broken: Build, project: Project, reg: Any) -> None:
    git(project.root, "revert", "--no-edit", "HEAD")  # app builds again, as in the second build
    done = project.build(pipeline_script(janitorArgs="--no-such-option"))
    assert_ran_cleanly(done)
    assert done.result == "UNSTABLE", done.text[-3000:]
    assert [s["exit"] for s in done.commands("janitor")] == [2]
    assert "ci-tags janitor failed: the build goes on; expired tags stay until next time" in done.text
    assert done.commands("build") == []
    assert len(done.commands("publish")) == 1
    number = project.numbers["main"]
    for name in ("base", "app", "tools"):
        repository = project.repository(name)
        assert target(reg, repository, LATEST) == target(reg, repository, f"pipeline-main-{number}")


@pytest.mark.parametrize(("arguments", "message"), [
    ("confg: 'ci-tags.yml'", "ci-tags: unknown parameter(s) confg; known: config, agentLabel,"),
    ("janitor: 'false'", "ci-tags: parameter janitor: String given, Boolean expected"),
    ("install: 'docker'", "ci-tags: parameter install: 'docker' is neither 'pip' nor 'path'"),
])
def test_a_bad_parameter_is_an_error_before_any_work(arguments: str, message: str, project: Project) -> None:
    done = project.build(f"@Library('ci-tags') _\nciTagsPipeline({arguments})\n", branch="main")
    assert_ran_cleanly(done)
    assert done.result == "FAILURE"
    assert f"ERROR: {message}" in done.text
    assert done.shells == [] and done.nodes == []


@pytest.mark.parametrize(("script", "error"), [
    ("catchError(buildResult: 'UNSTABLE') {\n    archiveArtifacts 'ci-tags.env'\n}\n",
     "the harness does not provide archiveArtifacts"),
    ("@NonCPS\nvoid each(List names) {\n    names.each { String n -> echo n }\n}\n"
     "catchError(buildResult: 'UNSTABLE') {\n    each(['a'])\n}\n",
     "the harness does not provide the step echo inside the @NonCPS method Jenkinsfile.each: Jenkins cannot run a "
     "step there"),
])
def test_the_harness_fails_a_run_that_calls_a_step_it_cannot_stand_for(script: str, error: str,
                                                                        project: Project) -> None:
    """Even where the script catches the error: a step that silently did nothing would hide lost work."""
    done = project.build(script)
    assert done.code == 3
    assert done.harness_errors == [error]


HARNESS_SELF_CHECK = """node('linux') {
    // each branch waits for the other's file: this ends only if the branches run at the same time
    parallel(
        a: { sh 'touch a.ready; for i in $(seq 100); do [ -e b.ready ] && exit 0; sleep 0.1; done; exit 1' },
        b: { sh 'touch b.ready; for i in $(seq 100); do [ -e a.ready ] && exit 0; sleep 0.1; done; exit 1' }
    )
    echo "status ${sh(script: 'exit 4', returnStatus: true)}"
    echo "stdout ${sh(script: 'printf %s "$GREETING"', returnStdout: true)}"
    withEnv(['PATH+EXTRA=/opt/extra', 'GREETING=hi']) {
        echo "path ${env.PATH.split(':')[0]} greeting ${sh(script: 'printf %s "$GREETING"', returnStdout: true)}"
    }
}
echo "result ${currentBuild.result}"
unstable('flaky')
currentBuild.result = 'SUCCESS'
echo "current ${currentBuild.currentResult}"
catchError {
    error('caught')
}
echo "current ${currentBuild.currentResult}"
"""


def test_the_harness_steps_behave_as_their_documentation_says(project: Project) -> None:
    done = project.build(HARNESS_SELF_CHECK)
    assert_ran_cleanly(done)
    assert [s["exit"] for s in done.shells[:2]] == [0, 0], "parallel branches run at the same time"
    lines = [line for line in done.log if line.split(" ", 1)[0] in ("status", "stdout", "path", "result",
                                                                     "current")]
    assert lines == ["status 4", "stdout ", "path /opt/extra greeting hi", "result null", "current UNSTABLE",
                     "current FAILURE"], "results only get worse; catchError's default is FAILURE"
    assert done.result == "FAILURE"
    assert [n["agent"] for n in done.nodes] == ["linux-amd64"]

    nowhere = project.build("node('linux && s390x') {\n    echo 'never'\n}\n")
    assert nowhere.code == 3
    assert nowhere.harness_errors[0].startswith(
        "the harness does not provide an agent with labels matching 'linux && s390x'")


def test_registry_credentials_from_a_credentials_id_reach_ci_tags_and_its_builder(
        basic_registry: Any, cli: Any, tmp_path: Path) -> None:
    """Against the real registry behind Basic auth: plan is refused without the credentials id and fine with it;
    then the whole pipeline, whose buildah push gets the same credentials from ci-tags."""
    root = tmp_path / "project"
    (root / "img").mkdir(parents=True)
    (root / "img" / "Dockerfile").write_text("FROM scratch\nCOPY a.txt /a.txt\n")
    (root / "img" / "a.txt").write_text("a\n")
    repository = f"jenkins{hashlib.sha256(str(tmp_path).encode()).hexdigest()[:10]}/img"
    (root / "ci-tags.yml").write_text(f"registry: {basic_registry.host}/{repository.split('/')[0]}\nimages:\n  "
                                      "img: {dockerfile: img/Dockerfile}\npublish: [latest]\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "first")
    user, password = next(iter(BASIC_USERS.items()))
    env = {**buildah_env(tmp_path / "buildah"), "PATH": agent_path(), "NO_COLOR": "1"}
    harness = Harness(tmp_path / "jenkins", AGENTS[1:], env, {"registry": (user, password)})
    script = """@Library('ci-tags') _
ciTagsNode('linux') {{
    Map plan = ciTagsPlan(install: 'path'{extra})
    echo "builds planned: ${{plan.waves*.builds.flatten().collect {{ it.image }}}}"
}}
"""
    commit = git(root, "rev-parse", "HEAD")
    without = harness.run(script.format(extra=""), scm_url=str(root), commit=commit, branch="main", number=1)
    assert_ran_cleanly(without)
    assert without.result == "FAILURE"
    assert [s["exit"] for s in without.commands("plan")] == [3], "exit code 3: authentication refused"
    given = harness.run(script.format(extra=", credentialsId: 'registry'"), scm_url=str(root), commit=commit,
                        branch="main", number=2)
    assert_ran_cleanly(given)
    assert given.result == "SUCCESS", given.text[-3000:]
    assert "builds planned: [img]" in given.text
    assert password not in given.output
    missing = harness.run(script.format(extra=", credentialsId: 'nope'"), scm_url=str(root), commit=commit,
                          branch="main", number=3)
    assert missing.result == "FAILURE"
    assert "ERROR: Could not find credentials entry with ID 'nope'" in missing.text

    built = harness.run("@Library('ci-tags') _\nciTagsPipeline(agentLabel: 'linux', install: 'path', "
                        "credentialsId: 'registry')\n", scm_url=str(root), commit=commit, branch="main", number=4)
    assert_ran_cleanly(built)
    assert built.result == "SUCCESS", built.text[-3000:]
    assert built.builds() == [("img", "amd64", "linux-amd64")]
    assert len(built.commands("publish")) == 1
    assert password not in built.output
    tags = cli("tags", f"{basic_registry.host}/{repository}",
               env={"CI_TAGS_REGISTRY_USER": user, "CI_TAGS_REGISTRY_PASSWORD": password})
    assert tags.code == 0, tags.err
    assert {"latest", "pipeline-main-4"} <= set(tags.out.split())


def test_pip_installs_the_pinned_ci_tags_release_and_not_the_projects_checkout(tmp_path: Path) -> None:
    """install: 'pip' (the default) makes a venv beside the workspace and asks pip for ci-tags==<the library's
    version>, the version this package releases. pip here has no index and no wheel of it, so pip's refusal
    names exactly what was asked for, and the build fails there."""
    version = ci_tags.__version__
    root = tmp_path / "project"
    root.mkdir()
    (root / "ci-tags.yml").write_text("registry: 127.0.0.1:9/none\nimages: {}\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "first")
    (tmp_path / "wheels").mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PIP_NO_INDEX": "1",
           "PIP_FIND_LINKS": str(tmp_path / "wheels"), "PIP_CONFIG_FILE": os.devnull}
    harness = Harness(tmp_path / "jenkins", AGENTS[1:], env)
    done = harness.run("@Library('ci-tags') _\nciTagsPipeline(agentLabel: 'linux', janitor: false)\n",
                       scm_url=str(root), commit=git(root, "rev-parse", "HEAD"), branch="main", number=1)
    assert_ran_cleanly(done)
    assert done.result == "FAILURE"
    [install] = [s for s in done.shells if "pip" in s["script"]]
    assert install["env"]["CI_TAGS_PIP_SPEC"] == f"ci-tags=={version}"
    assert install["env"]["CI_TAGS_VENV"].startswith(install["workspace"] + "@tmp/")
    assert f"No matching distribution found for ci-tags=={version}" in done.text
    assert done.commands("plan") == []
