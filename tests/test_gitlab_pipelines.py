"""Whole pipelines under gitlab-ci-local (tests/support/gitlab_pipeline.py) against a registry set up as GitLab's
is, with real buildah builds, through the component included with ``include: local`` and inputs, as a user project
would include it: first pipeline, nothing changed, a feature branch, a failing build; then build jobs shaped by
the component's inputs, and the layer cache. Each pipeline builds on the state the one before it left.
"""

from __future__ import annotations

import re

import pytest

from ci_tags.core.manifest import ANNOTATION_PIPELINE, stamp_of
from tests.support.gitlab_pipeline import target


@pytest.fixture(scope="module")
def reg(gitlab_registry):
    """The tests' own client of the job's registry (an admin: the pipelines themselves get only the job token)."""
    return gitlab_registry.admin()


@pytest.fixture(scope="module")
def first(gitlab_project):
    return gitlab_project()


@pytest.fixture(scope="module")
def second(gitlab_project, first):
    return gitlab_project()


@pytest.fixture(scope="module")
def feature(gitlab_project, second):
    with gitlab_project.on_new_branch("feature/faster-app"):
        dockerfile = gitlab_project.root / "docker" / "app" / "Dockerfile"
        dockerfile.write_text(dockerfile.read_text() + "ENV FASTER=1\n")
        gitlab_project.git("commit", "-q", "-am", "app: faster")
        return gitlab_project()


@pytest.fixture(scope="module")
def broken(gitlab_project, feature):
    dockerfile = gitlab_project.root / "docker" / "app" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "RUN exit 3\n")
    gitlab_project.git("commit", "-q", "-am", "app: broken")
    return gitlab_project()


LATEST = "latest"


def test_first_pipeline_on_the_default_branch_builds_everything_and_publishes(first, gitlab_project, reg):
    assert first.code == 0, first.output[-3000:]
    assert first.child_jobs, first.output[-6000:]
    assert first.child_jobs == ["build:app:amd64", "build:base:amd64", "build:tools:amd64", "build:tools:arm64",
                                "manifest:tools"]
    assert all(r == "PASS" for r in first.jobs.values()), first.jobs
    assert first.ran("ci-tags-publish") == "PASS"
    assert first.ran("use-app") == "PASS"
    for name in ("base", "app", "tools"):
        repository = f"{gitlab_project.prefix}/{name}"
        assert target(reg, repository, LATEST) == target(reg, repository, f"pipeline-{first.pipeline_id}")
    # the user's own job found the app image under its pipeline tag through the dotenv report
    assert f"app image is {gitlab_project.registry_host}/{gitlab_project.prefix}/app:pipeline-{first.pipeline_id}" \
        in first.output


def test_second_pipeline_with_nothing_changed_builds_nothing_and_moves_no_blob(first, second, gitlab_project, reg):
    assert second.code == 0, second.output[-3000:]
    assert second.pipeline_id != first.pipeline_id
    assert second.child_jobs == ["ci-tags:nothing-to-build"]
    assert second.ran("ci-tags-publish") == "PASS"
    assert not [r for r in second.requests if r.is_blob], "no blob may be read or written when nothing changed"
    for name in ("base", "app", "tools"):
        repository = f"{gitlab_project.prefix}/{name}"
        made = reg.get_manifest(repository, f"pipeline-{second.pipeline_id}")
        assert (stamp_of(made) or {})[ANNOTATION_PIPELINE] == second.pipeline_id
        assert target(reg, repository, f"pipeline-{second.pipeline_id}") == target(
            reg, repository, f"pipeline-{first.pipeline_id}")
        assert target(reg, repository, LATEST) == target(reg, repository, f"pipeline-{first.pipeline_id}")


def test_feature_branch_builds_the_changed_image_and_never_touches_latest(second, feature, gitlab_project, reg):
    assert feature.code == 0, feature.output[-3000:]
    assert feature.child_jobs == ["build:app:amd64"]
    assert feature.ran("ci-tags-publish") is None
    app = f"{gitlab_project.prefix}/app"
    assert target(reg, app, f"pipeline-{feature.pipeline_id}") != target(reg, app, LATEST)
    assert target(reg, app, LATEST) == target(reg, app, f"pipeline-{second.pipeline_id}")


def test_a_failing_build_fails_the_pipeline_and_does_not_publish(second, broken, gitlab_project, reg):
    assert broken.ran("build:app:amd64") == "FAIL", broken.output[-4000:]
    # On GitLab, strategy: depend fails the trigger job and the .post publish job never starts. gitlab-ci-local
    # 4.60 does not carry a child pipeline's failure to its trigger job, so there the publish job does start:
    # ci-tags publish itself must then refuse, as app has no pipeline tag (it is made only by a good build).
    if broken.ran("ci-tags-publish") is not None:
        assert "not publishing: no pipeline tag for app" in broken.output
    app = f"{gitlab_project.prefix}/app"
    assert "pipeline-" + str(broken.pipeline_id) not in reg.tags(app)
    for name in ("base", "app", "tools"):
        repository = f"{gitlab_project.prefix}/{name}"
        assert target(reg, repository, LATEST) == target(reg, repository, f"pipeline-{second.pipeline_id}")


def test_the_jobs_authenticated_with_gitlabs_variables_only_and_no_secret_was_printed(
        first, second, feature, broken, gitlab_project, gitlab_registry):
    registry, base = gitlab_registry.registry.host, gitlab_registry.base_registry.host
    # --debug (CI_TAGS_DEBUG) traces where each host's credentials came from, never the secret
    assert f"credentials for {registry}: gitlab-ci-token (from CI_REGISTRY_USER)" in first.output
    assert f"{base} (base-reader (from DOCKER_AUTH_CONFIG))" in first.output  # handed to buildah
    assert {r.user for r in gitlab_registry.issuer.requests} <= {"gitlab-ci-token", "registry-admin"}
    for run in (first, second, feature, broken):
        for secret in gitlab_registry.secrets():
            assert secret not in run.output
    # the builders' temporary auth files were removed with their folders
    assert not list(gitlab_project.tmp.glob("ci-tags-access-*"))


# --- build jobs shaped by the component's inputs -----------------------------------------------------------------

SHAPED_INPUTS = """include:
  - local: templates/pipeline.yml
    inputs:
      version: under-test
      image: ci-tags-under-test
      publish: false
      janitor: never
      build-before-script: |
        echo "before: $CI_JOB_NAME shaped=$SHAPED"
        echo 'second line, quotes and all'
      build-variables: |
        SHAPED=yes-it-is
      build-retry: 1
      build-timeout: 30m
      builder: {builder}
"""


def _shaped(gitlab_project, builder: str, change: str):
    root = gitlab_project.root
    gitlab_project.git("checkout", "-q", "-B", f"shaped-{builder}", "HEAD~1" if builder == "buildah" else "HEAD")
    (root / ".gitlab-ci.yml").write_text(SHAPED_INPUTS.replace("{builder}", builder))
    (root / "docker" / "tools" / "tool.txt").write_text(change)
    gitlab_project.git("commit", "-q", "-am", f"shaped by inputs, {builder}")
    return gitlab_project()


@pytest.fixture(scope="module")
def shaped(gitlab_project, broken):
    return _shaped(gitlab_project, "buildah", "a shaped tool\n")


@pytest.fixture(scope="module")
def shaped_docker(gitlab_project, shaped):
    return _shaped(gitlab_project, "docker", "a tool built by docker\n")


def test_inputs_shape_the_build_jobs_before_script_and_variables(shaped):
    assert shaped.code == 0, shaped.output[-3000:]
    # a failed child job does not change gitlab-ci-local's exit status: its log says why it failed
    assert shaped.failed_jobs == [], shaped.log_of(*shaped.failed_jobs)[-5000:]
    assert shaped.child_jobs == ["build:tools:amd64", "build:tools:arm64", "manifest:tools"]
    for job in ("build:tools:amd64", "build:tools:arm64"):
        # the user's lines ran in the build job, after ci-tags' set-up, with the user's variable set
        assert f"before: {job} shaped=yes-it-is" in shaped.output
    assert "second line, quotes and all" in shaped.output
    assert "with buildah" in shaped.output


def test_the_builder_input_switches_the_builder(shaped_docker):
    # this machine has the docker CLI but no docker daemon: the switch shows in what the build job ran, and in
    # its failure (not a silent fall-back to buildah)
    assert "ci-tags build tools --arch amd64" in shaped_docker.output
    assert "--builder docker" in shaped_docker.output
    assert "with docker" in shaped_docker.output
    assert "with buildah" not in shaped_docker.output
    assert shaped_docker.ran("build:tools:amd64") == "FAIL"


# --- the layer cache through whole pipelines ---------------------------------------------------------------------

def _cached_pipeline(gitlab_project, last: str):
    root = gitlab_project.root
    config = root / "ci-tags.yml"
    if "cache: registry" not in config.read_text():
        config.write_text(config.read_text() + "cache: registry\n")
    dockerfile = root / "docker" / "base" / "Dockerfile"
    head = dockerfile.read_text().split("RUN echo slow", 1)[0]
    dockerfile.write_text(head + f"RUN echo slow > /slow\nRUN echo quick > /quick\nRUN echo {last} > /last\n")
    gitlab_project.git("commit", "-q", "-am", f"base: last step {last}")
    return gitlab_project()


@pytest.fixture(scope="module")
def cached(gitlab_project, shaped_docker):
    gitlab_project.git("checkout", "-q", "-B", "cached", "main~1")
    first = _cached_pipeline(gitlab_project, "one")
    second = _cached_pipeline(gitlab_project, "two")
    gitlab_project.git("checkout", "-q", "main")
    return first, second


def _steps_run(output: str, job: str) -> list[str]:
    """The RUN steps a job's builder ran, from its log lines: a step followed by 'Using cache' did not run."""
    ran, current = [], None
    for line in output.splitlines():
        if job not in line:
            continue
        step = re.search(r"STEP \d+/\d+: (.*)$", line)
        if step:
            if current:
                ran.append(current)
            current = step[1].strip()
        elif current and "Using cache" in line:
            current = None
    if current:
        ran.append(current)
    return [s for s in ran if s.startswith("RUN")]


def test_with_the_cache_a_changed_last_step_reruns_only_that_step(cached):
    first, second = cached
    assert first.code == 0 and second.code == 0, second.output[-3000:]
    assert _steps_run(first.output, "build:base:amd64") == [
        "RUN echo built > /opt/built", "RUN echo slow > /slow", "RUN echo quick > /quick", "RUN echo one > /last"]
    # the built images were removed from the runner's storage after each push: the steps came from the registry
    assert _steps_run(second.output, "build:base:amd64") == ["RUN echo two > /last"]
    assert "Cache pulled from remote" in second.output
