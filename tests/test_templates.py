"""The GitLab CI/CD component in templates/ and the project's own .gitlab-ci.yml, read as GitLab reads them: every
template body and .gitlab-ci.yml validates against GitLab's CI schema (check-jsonschema's vendored copy; a
component is two YAML documents, so its body is validated on its own), uses exactly its inputs and no global
keyword, and its jobs' rules and scripts do what the inputs say. The pipelines run whole under gitlab-ci-local in
tests/test_gitlab_pipelines.py.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

import ci_tags
from tests.support.components import INPUT_RE, component, fill_inputs, job_with_extends, validate

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = [ROOT / "templates" / "pipeline.yml"]  # the pipeline component; promote.yml: test_promote_template.py
GLOBAL_KEYWORDS = {"stages", "default", "variables", "workflow", "include", "image", "services", "before_script",
                   "after_script", "cache"}


def test_there_are_templates() -> None:
    assert [p.name for p in sorted((ROOT / "templates").glob("*.yml"))] == ["pipeline.yml", "promote.yml"]


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


@pytest.mark.parametrize(("pip_spec", "installs"), [("", f"'ci-tags=={ci_tags.__version__}'"), (".", "'.'")])
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
    ("schedules", "schedule", True), ("never", "push", False), ("never", "schedule", False),
    ("true", "push", True), ("false", "schedule", False)])  # 0.1's values as strings: deprecated, for 0.2 only
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


@pytest.mark.parametrize("install", ["image", "pip"])
@pytest.mark.parametrize("job", ["plan", "publish", "janitor"])
def test_plan_publish_and_janitor_expose_their_report_on_merge_requests(job: str, install: str) -> None:
    """Each sets CI_TAGS_REPORT (ci-tags appends its Markdown section there) to a file that its artifacts expose
    on merge requests; the janitor's and publish's even when the job fails (what was done before the failure)."""
    body = fill_inputs(TEMPLATES[0], install=install)
    merged = job_with_extends(body, f"ci-tags-{job}")
    report = merged["variables"]["CI_TAGS_REPORT"]
    assert report == f"ci-tags-{job}.md"
    artifacts = merged["artifacts"]
    assert artifacts["paths"][0] == report and artifacts["expose_as"] == f"ci-tags {job} report"
    assert artifacts.get("when") == (None if job == "plan" else "always")
