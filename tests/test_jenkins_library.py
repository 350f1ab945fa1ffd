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

With it, the four scenarios of the GitLab pipelines (tests/test_gitlab_pipelines.py) run through ``ciTagsPipeline``
against the real registry with real buildah builds: a first default-branch build (builds everything, each
image x arch on an agent with its arch's labels, wave by wave, publishes ``latest``), an unchanged one (no build,
no blob request in the registry's access log), a feature branch (builds only the changed image, ``latest``
untouched) and a failing build (FAILURE, no publish). Also: a failing janitor leaves the build UNSTABLE and the
images published; a bad parameter stops the build before any work; the harness checks itself. In
tests/test_jenkins_install.py: registry credentials from a Jenkins credentials id reach ci-tags and its buildah push
(a registry behind Basic auth); pip installs ci-tags itself (``ci-tags==<version>``), never the project's checkout.

What the harness does NOT reproduce (so these tests cannot catch it): the CPS transformation and the serialisation
of the program's state at every step (a non-serialisable local kept across a step, a CPS method called from a
``@NonCPS`` one), resumption after a controller restart, the script security sandbox and its approvals (a global
library runs outside the sandbox; a folder library inside it), agents of other architectures (every agent is a
folder on this machine), and the parts of declarative ``pipeline {}`` that tests/jenkins/Declarative.groovy does not
stand for (tests/test_jenkins_jobs.py runs the declarative example).
npm-groovy-lint (tests/test_jenkinsfile.py) checks the library's text against the Jenkins rule set.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from ci_tags.core.manifest import ANNOTATION_PIPELINE, stamp_of
from tests.support.jenkins_harness import Build
from tests.support.jenkins_project import (
    LATEST,
    REGISTRY_CREDENTIALS,
    Project,
    agent_path,
    assert_ran_cleanly,
    git,
    pipeline_script,
    target,
)


@pytest.fixture(scope="module")
def project(registry: Any, tmp_path_factory: pytest.TempPathFactory) -> Project:
    return Project(tmp_path_factory.mktemp("jenkins"), registry, agent_path())


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
    ("janitor: 'false'", "ci-tags: parameter janitor: 'false' is none of always, schedules, never (or true, false)"),
    ("janitor: 7", "ci-tags: parameter janitor: Integer given, CharSequence expected"),
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
