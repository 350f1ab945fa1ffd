"""The GitLab CI/CD component in templates/ and the project's own .gitlab-ci.yml, proven by running them.

1. Every template body and .gitlab-ci.yml validates against GitLab's CI schema (check-jsonschema's vendored copy;
   a component is two YAML documents, so its body is validated on its own), and so does a generated child
   pipeline.
2. Whole pipelines run under gitlab-ci-local (shell executor) against the real local registry with real buildah
   builds, through the component included with ``include: local`` and inputs, as a user project would include it:
   first pipeline, nothing changed, a feature branch, a failing build.

There is no GitLab server here: gitlab-ci-local stands in for the runner, and GITLAB_CI=true is set for it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from ci_tags.core.manifest import ANNOTATION_PIPELINE, ANNOTATION_TARGET, stamp_of
from tests.support.gitlab_registry import start_gitlab_like
from tests.support.project import buildah_env, push_busybox_base, write_project

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = [ROOT / "templates" / "pipeline.yml"]  # the pipeline component; promote.yml: test_promote_template.py
GLOBAL_KEYWORDS = {"stages", "default", "variables", "workflow", "include", "image", "services", "before_script",
                   "after_script", "cache"}
INPUT_RE = re.compile(r"\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*\]\]")


def check_jsonschema() -> str:
    found = shutil.which("check-jsonschema") or str(Path(sys.executable).parent / "check-jsonschema")
    if not Path(found).exists():
        pytest.fail("check-jsonschema is missing: .ci/setup installs it into the venv")
    return found


def validate(tmp_path: Path, name: str, document: Any) -> subprocess.CompletedProcess[str]:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return subprocess.run([check_jsonschema(), "--builtin-schema", "vendor.gitlab-ci", str(path)],
                          capture_output=True, text=True, check=False)


def component(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(spec header, body) of a component file: two YAML documents."""
    docs = list(yaml.safe_load_all(path.read_text()))
    assert len(docs) == 2, f"{path.name}: a component is a spec header, ---, then the jobs"
    return docs[0], docs[1]


def test_there_are_templates() -> None:
    assert [p.name for p in sorted((ROOT / "templates").glob("*.yml"))] == ["pipeline.yml", "promote.yml"]


def fill_inputs(path: Path, **given: object) -> dict[str, Any]:
    """The component's body as GitLab sees it after interpolation, with the inputs given, else their defaults.

    As GitLab does it: the YAML is read first; a value (or key) that is one ``$[[ inputs.x ]]`` block and nothing
    else takes the input's typed value (a boolean stays a boolean); a block inside a longer string becomes text."""
    spec, _ = component(path)
    inputs = spec["spec"]["inputs"]

    def value(name: str) -> object:
        return given[name] if name in given else inputs[name].get("default")

    def text(v: object) -> str:
        return str(v).lower() if isinstance(v, bool) else str(v)

    def fill(node: Any) -> Any:
        if isinstance(node, dict):
            return {fill(k): fill(v) for k, v in node.items()}
        if isinstance(node, list):
            return [fill(v) for v in node]
        if isinstance(node, str):
            whole = INPUT_RE.fullmatch(node.strip())
            if whole:
                return value(whole[1])
            return INPUT_RE.sub(lambda m: text(value(m[1])), node)
        return node

    body: dict[str, Any] = fill(yaml.safe_load(path.read_text().split("\n---\n", 1)[1]))
    return body


def job_with_extends(body: dict[str, Any], name: str) -> dict[str, Any]:
    """A job merged with the hidden job it extends (one level, as the component uses it)."""
    job = dict(body[name])
    parent = body.get(job.pop("extends", ""), {})
    merged = {**parent, **job}
    merged["variables"] = {**parent.get("variables", {}), **job.get("variables", {})}
    return merged


@pytest.mark.parametrize("install", ["image", "pip"])
@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_component_body_validates_against_gitlab_ci_schema(path: Path, install: str, tmp_path: Path) -> None:
    # the schema cannot see through $[[ ]]: validate the body as GitLab sees it after interpolation
    body = fill_inputs(path, install=install, **{"job-prefix": "imgs"})
    result = validate(tmp_path, "body.yml", body)
    assert result.returncode == 0, result.stdout + result.stderr
    assert {"imgs-janitor", "imgs-plan", "imgs-build", "imgs-publish", f".imgs-install-{install}"} <= set(body)
    assert body["imgs-plan"]["extends"] == body["imgs-publish"]["extends"] == f".imgs-install-{install}"
    assert body["imgs-janitor"]["extends"] == f".imgs-install-{install}"
    assert body["imgs-build"]["trigger"]["strategy"] == "depend"


@pytest.mark.parametrize("flags", [{"janitor": "always", "publish": True}, {"janitor": "never", "publish": False}])
@pytest.mark.parametrize("install", ["image", "pip"])
def test_component_variables_are_strings_the_runner_can_expand(install: str, flags: dict[str, bool]) -> None:
    """GitLab refuses a variable that is not a string or a number (a boolean input used as a whole value), and the
    runner expands only $VAR and ${VAR} in variables (not the shell's ${VAR:-default})."""
    body = fill_inputs(TEMPLATES[0], install=install, **flags)
    for name, job in body.items():
        for key, val in (job.get("variables") or {}).items():
            assert isinstance(val, (str, int)) and not isinstance(val, bool), f"{name}: {key}={val!r}"
            assert ":-" not in str(val), f"{name}: {key}: the runner cannot expand {val!r}"


@pytest.mark.parametrize(("pip_spec", "installs"), [("", "'ci-tags==0.1.0'"), (".", "'.'")])
def test_pip_mode_plan_script_hands_the_install_to_the_generated_jobs(pip_spec: str, installs: str,
                                                                       tmp_path: Path) -> None:
    """Run the plan job's script under sh with a stand-in ci-tags that records its arguments."""
    body = fill_inputs(TEMPLATES[0], install="pip", **{"pip-spec": pip_spec})
    job = job_with_extends(body, "ci-tags-plan")
    recorder = tmp_path / "bin" / "ci-tags"
    recorder.parent.mkdir()
    recorder.write_text('#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done >> "$RECORD"\n')
    recorder.chmod(0o755)
    env = {**{k: str(v) for k, v in job["variables"].items()}, "PATH": f"{recorder.parent}:/usr/bin:/bin",
           "RECORD": str(tmp_path / "args")}
    for line in job["script"]:
        subprocess.run(["sh", "-ec", line], env=env, cwd=tmp_path, check=True)
    args = (tmp_path / "args").read_text().splitlines()
    assert args[0] == "plan" and "janitor" not in args
    setups = [args[i + 1] for i, a in enumerate(args) if a == "--job-setup"]
    assert setups[-1] == f"python3 -m pip install --quiet {installs}"
    assert args[args.index("--job-image") + 1] == "quay.io/buildah/stable:latest"


@pytest.mark.parametrize(("when", "source", "runs"), [
    ("always", "push", True), ("always", "schedule", True), ("schedules", "push", False),
    ("schedules", "schedule", True), ("never", "push", False), ("never", "schedule", False)])
def test_the_janitor_is_its_own_job_off_the_critical_path(when: str, source: str, runs: bool) -> None:
    """Its own job in the first stage that may fail and that nothing needs; the janitor input says when it runs
    (its rules, evaluated here as GitLab does for these two forms: VAR == "x", and && of two)."""
    body = fill_inputs(TEMPLATES[0], janitor=when)
    janitor, plan = body["ci-tags-janitor"], body["ci-tags-plan"]
    assert janitor["stage"] == plan["stage"] == ".pre" and janitor["allow_failure"] is True
    assert not any("ci-tags-janitor" in str(job.get("needs", "")) for job in body.values())
    assert not any("ci-tags janitor" in line for line in plan["script"])
    assert janitor["script"] == ['ci-tags janitor --config "$CI_TAGS_CONFIG" --max-age "7d" ']
    env = {**janitor["variables"], "CI_PIPELINE_SOURCE": source}

    def holds(expression: str) -> bool:
        return all(env.get(var.strip().lstrip("$")) == value.strip().strip('"')
                   for var, value in (term.split("==") for term in expression.split("&&")))

    assert any(holds(rule["if"]) for rule in janitor["rules"]) == runs


def test_schema_check_rejects_a_broken_body(tmp_path: Path) -> None:
    result = validate(tmp_path, "broken.yml", {"job": {"stage": "build", "script": "x", "when": "sometimes"}})
    assert result.returncode != 0


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_component_has_no_global_keywords_and_uses_exactly_its_inputs(path: Path) -> None:
    spec, body = component(path)
    assert not GLOBAL_KEYWORDS & set(body), "a component must not set global keywords"
    declared = set(spec["spec"]["inputs"])
    used = set(INPUT_RE.findall(path.read_text().split("\n---\n", 1)[1]))
    assert used == declared
    for name, value in spec["spec"]["inputs"].items():
        assert value.get("description"), f"input {name} needs a description"
    assert {"config", "max-age", "version", "install", "job-prefix", "early-stage", "publish-stage"} <= declared


def test_project_gitlab_ci_validates_and_uses_the_component(tmp_path: Path) -> None:
    doc = yaml.safe_load((ROOT / ".gitlab-ci.yml").read_text())
    result = validate(tmp_path, "gitlab-ci.yml", doc)
    assert result.returncode == 0, result.stdout + result.stderr
    includes = doc["include"] if isinstance(doc["include"], list) else [doc["include"]]
    assert any(i.get("local") == "templates/pipeline.yml" for i in includes)


# --- whole pipelines under gitlab-ci-local -----------------------------------------------------------------------

_RESULT_RE = re.compile(r"^\s*(PASS|FAIL|WARN)\s+(.+?)\s*$", re.M)
_PIPELINE_RE = re.compile(r"ci-tags plan for pipeline (\S+)")


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


@pytest.fixture(scope="module")
def gitlab_registry(tmp_path_factory):  # type: ignore[no-untyped-def]
    """TLS and token auth as GitLab's registry has them; a private base image on a second, Basic-auth registry."""
    made = start_gitlab_like(tmp_path_factory.mktemp("gitlab-registry"))
    yield made
    made.stop()


@pytest.fixture(scope="module")
def reg(gitlab_registry):  # type: ignore[no-untyped-def]
    """The tests' own client of the job's registry (an admin: the pipelines themselves get only the job token)."""
    return gitlab_registry.admin()


@pytest.fixture(scope="module")
def gitlab_project(gitlab_registry, tmp_path_factory):  # type: ignore[no-untyped-def]
    if shutil.which("gitlab-ci-local") is None or shutil.which("buildah") is None:
        pytest.fail("gitlab-ci-local and buildah are installed by .ci/setup")
    registry = gitlab_registry.registry
    work = tmp_path_factory.mktemp("gcl")
    env = buildah_env(work / "buildah")
    # the private base, pushed by its owner (an auth file for this one push; the CA is in certs.d already)
    owner_auth = work / "owner-auth.json"
    owner_auth.write_text(json.dumps(json.loads(gitlab_registry.variables()["DOCKER_AUTH_CONFIG"])))
    base = push_busybox_base(gitlab_registry.base_registry.host, work, env, repository="private/busybox",
                             push_args=("--authfile", str(owner_auth)))
    owner_auth.unlink()
    root = work / "project"
    root.mkdir()
    write_project(root, "$CI_REGISTRY_IMAGE", base)
    shutil.copytree(ROOT / "templates", root / "templates")
    # No GitLab API here: the janitor uses the registry API (GitLab CI would pick GitLab's API by itself).
    (root / ".gitlab-ci.yml").write_text(
        """include:
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
    )
    (root / ".gitignore").write_text(".gitlab-ci-local/\nci-tags-*\n.gitlab-ci-local-variables.yml\n")
    (work / "tmp").mkdir()
    env = {**env, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}", "NO_COLOR": "1",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "TMPDIR": str(work / "tmp")}

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "first")
    git("remote", "add", "origin", "https://gitlab.example.com/group/project.git")
    # Exactly what GitLab gives a job: its predefined variables (and the project's DOCKER_AUTH_CONFIG). Debug
    # tracing is on, so that the secrets check below covers every request ci-tags makes. gitlab-ci-local hands
    # --variable values to the parent pipeline only; its variables file reaches the child pipelines too (and keeps
    # the job token off its command line).
    variables = {**gitlab_registry.variables(), "CI_DEFAULT_BRANCH": "main", "GITLAB_CI": "true",
                 "CI_TAGS_DEBUG": "1"}
    (root / ".gitlab-ci-local-variables.yml").write_text(yaml.safe_dump(variables))

    def run() -> PipelineRun:
        mark = registry.mark()
        done = subprocess.run(
            ["gitlab-ci-local", "--force-shell-executor", "--no-color"],
            cwd=root, env=env, capture_output=True, text=True, timeout=600, check=False,
        )
        output = done.stdout + done.stderr
        summary = output.rsplit("\n\n", 2)
        jobs = dict((name, result) for result, name in _RESULT_RE.findall("\n".join(summary[-2:])))
        found = _PIPELINE_RE.search(output)
        return PipelineRun(done.returncode, output, jobs, found[1] if found else None, registry.since(mark))

    run.root = root  # type: ignore[attr-defined]
    run.git = git  # type: ignore[attr-defined]
    run.prefix = "group/project/ci"  # type: ignore[attr-defined]
    run.registry_host = registry.host  # type: ignore[attr-defined]
    run.tmp = work / "tmp"  # type: ignore[attr-defined]
    return run


def _target(reg, repository: str, tag: str) -> str:  # type: ignore[no-untyped-def]
    manifest = reg.get_manifest(repository, tag)
    return (stamp_of(manifest) or {}).get(ANNOTATION_TARGET, manifest.digest)


@pytest.fixture(scope="module")
def first(gitlab_project):  # type: ignore[no-untyped-def]
    return gitlab_project()


@pytest.fixture(scope="module")
def second(gitlab_project, first):  # type: ignore[no-untyped-def]
    return gitlab_project()


@pytest.fixture(scope="module")
def feature(gitlab_project, second):  # type: ignore[no-untyped-def]
    root = gitlab_project.root
    gitlab_project.git("checkout", "-q", "-b", "feature/faster-app")
    dockerfile = root / "docker" / "app" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "ENV FASTER=1\n")
    gitlab_project.git("commit", "-q", "-am", "app: faster")
    try:
        return gitlab_project()
    finally:
        gitlab_project.git("checkout", "-q", "main")


@pytest.fixture(scope="module")
def broken(gitlab_project, feature):  # type: ignore[no-untyped-def]
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
        assert _target(reg, repository, LATEST) == _target(reg, repository, f"pipeline-{first.pipeline_id}")
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
        assert stamp_of(made)[ANNOTATION_PIPELINE] == second.pipeline_id
        assert _target(reg, repository, f"pipeline-{second.pipeline_id}") == _target(
            reg, repository, f"pipeline-{first.pipeline_id}")
        assert _target(reg, repository, LATEST) == _target(reg, repository, f"pipeline-{first.pipeline_id}")


def test_feature_branch_builds_the_changed_image_and_never_touches_latest(second, feature, gitlab_project, reg):
    assert feature.code == 0, feature.output[-3000:]
    assert feature.child_jobs == ["build:app:amd64"]
    assert feature.ran("ci-tags-publish") is None
    app = f"{gitlab_project.prefix}/app"
    assert _target(reg, app, f"pipeline-{feature.pipeline_id}") != _target(reg, app, LATEST)
    assert _target(reg, app, LATEST) == _target(reg, app, f"pipeline-{second.pipeline_id}")


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
        assert _target(reg, repository, LATEST) == _target(reg, repository, f"pipeline-{second.pipeline_id}")


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


def _shaped(gitlab_project, builder: str, change: str):  # type: ignore[no-untyped-def]
    root = gitlab_project.root
    gitlab_project.git("checkout", "-q", "-B", f"shaped-{builder}", "HEAD~1" if builder == "buildah" else "HEAD")
    (root / ".gitlab-ci.yml").write_text(SHAPED_INPUTS.replace("{builder}", builder))
    (root / "docker" / "tools" / "tool.txt").write_text(change)
    gitlab_project.git("commit", "-q", "-am", f"shaped by inputs, {builder}")
    return gitlab_project()


@pytest.fixture(scope="module")
def shaped(gitlab_project, broken):  # type: ignore[no-untyped-def]
    return _shaped(gitlab_project, "buildah", "a shaped tool\n")


@pytest.fixture(scope="module")
def shaped_docker(gitlab_project, shaped):  # type: ignore[no-untyped-def]
    return _shaped(gitlab_project, "docker", "a tool built by docker\n")


def test_inputs_shape_the_build_jobs_before_script_and_variables(shaped):
    assert shaped.code == 0, shaped.output[-3000:]
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

def _cached_pipeline(gitlab_project, last: str):  # type: ignore[no-untyped-def]
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
def cached(gitlab_project, shaped_docker):  # type: ignore[no-untyped-def]
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
