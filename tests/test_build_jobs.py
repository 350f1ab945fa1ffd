"""What users shape of the generated build jobs: plan's --job-* and --builder options, image runner tags in
ci-tags.yml, and the no-op job of an unchanged pipeline."""

from __future__ import annotations

import argparse

import pytest

from ci_tags.commands.plan import Options
from ci_tags.core.build_jobs import JobOptions, job_settings
from ci_tags.core.emitters import NOOP_JOB, gitlab_child_pipeline, gitlab_yaml, jenkins_matrix
from ci_tags.core.plan import decide
from ci_tags.errors import BadInput
from ci_tags.flags import from_args, register
from ci_tags.project.config import load_config
from tests.test_plan import state


def options(*argv: str) -> JobOptions:
    p = argparse.ArgumentParser()
    register(p, Options)
    return from_args(Options, p.parse_args(list(argv))).jobs


def test_job_options_reach_every_build_job():
    settings = job_settings(options(
        "--job-image", "ci-tags:1", "--job-setup", "pip install ci-tags",
        "--job-before-script", "echo one\n\necho two", "--job-variable", "A=1\nB = x=y", "--job-variable", "C=",
        "--job-retry", "2", "--job-timeout", "1h 30m", "--job-interruptible", "false",
        "--job-service", "docker:dind", "--builder", "docker", "--builder-args", "--network host --secret 'id=a b'",
    ))
    plan = decide([state("base", False), state("app", False, parents=["base"])])
    doc = gitlab_child_pipeline(plan, "42", {}, settings)
    for name in ("build:base:amd64", "build:app:amd64"):
        job = doc[name]
        assert job["before_script"] == ["pip install ci-tags", "echo one", "echo two"]
        assert job["variables"] == {"A": "1", "B": "x=y", "C": ""}
        assert (job["retry"], job["timeout"], job["interruptible"]) == (2, "1h 30m", False)
        assert job["services"] == ["docker:dind"]
    assert doc["build:base:amd64"]["script"] == [
        "ci-tags build base --arch amd64 --pipeline-id 42 --builder docker "
        "'--builder-args=--network host --secret '\"'\"'id=a b'\"'\"''"
    ]


def test_defaults_leave_gitlab_keywords_out():
    doc = gitlab_child_pipeline(decide([state("base", False)]), "42", {}, job_settings(options()))
    assert set(doc["build:base:amd64"]) == {"stage", "needs", "script"}


def test_the_noop_job_runs_in_a_tiny_image_and_installs_nothing():
    settings = job_settings(options("--job-image", "ci-tags:1", "--job-setup", "pip install ci-tags",
                                    "--job-service", "docker:dind", "--job-variable", "A=1"))
    doc = gitlab_child_pipeline(decide([state("base", True)]), "42", {}, settings)
    assert set(doc[NOOP_JOB]) == {"stage", "image", "needs", "script"}
    assert doc[NOOP_JOB]["image"] == "busybox:stable"


@pytest.mark.parametrize(("argv", "words"), [
    (["--job-variable", "no equals"], "--job-variable no equals: expected NAME=VALUE"),
    (["--job-variable", "1A=x"], "expected NAME=VALUE"),
    (["--job-timeout", "soon"], "--job-timeout soon: expected a duration"),
    (["--builder-args", "--secret 'open"], "--builder-args: No closing quotation"),
])
def test_bad_job_options_are_bad_input(argv, words):
    with pytest.raises(BadInput, match=words):
        job_settings(options(*argv))


def test_generated_yaml_has_no_anchors():
    plan = decide([state("base", False, ("amd64", "arm64")), state("app", False, ("amd64", "arm64"),
                                                                   parents=["base"])])
    text = gitlab_yaml(gitlab_child_pipeline(plan, "42", {"amd64": ["x86"], "arm64": ["x86"]},
                                             job_settings(options("--job-setup", "a"))))
    assert "&id" not in text and "*id" not in text


def write(tmp_path, body):
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "ci-tags.yml").write_text("registry: r.example/g\n" + body)
    return load_config(tmp_path / "ci-tags.yml", {})


def test_runner_tags_per_image_as_well_as_per_arch(tmp_path):
    config = write(tmp_path, """\
runners: {amd64: [x86], arm64: [arm]}
images:
  small: {dockerfile: Dockerfile, arches: [amd64, arm64]}
  heavy: {dockerfile: Dockerfile, arches: [amd64, arm64], runners: [big-memory]}
  special: {dockerfile: Dockerfile, arches: [amd64, arm64], runners: {arm64: [graviton]}}
""")
    assert config.runner_tags("small", "arm64") == ("arm",)
    assert config.runner_tags("heavy", "arm64") == ("arm", "big-memory")
    assert config.runner_tags("special", "arm64") == ("graviton",)
    assert config.runner_tags("special", "amd64") == ("x86",)
    plan = decide([state(n, False, ("amd64", "arm64")) for n in ("small", "heavy", "special")])
    doc = gitlab_child_pipeline(plan, "42", config.runner_tags, job_settings(options()))
    assert doc["build:heavy:amd64"]["tags"] == ["x86", "big-memory"]
    assert doc["build:special:arm64"]["tags"] == ["graviton"]
    builds = jenkins_matrix(plan, config.runner_tags)["waves"][0]["builds"]
    labels = {(b["image"], b["arch"]): b["label"] for b in builds}
    assert labels[("heavy", "arm64")] == "arm && big-memory"


def test_image_runners_for_an_arch_it_is_not_built_for_is_bad_input(tmp_path):
    with pytest.raises(BadInput, match=r"images.app.runners.arm64.*arm64 is not one of this image's arches \(amd64\)"):
        write(tmp_path, "images:\n  app: {dockerfile: Dockerfile, runners: {arm64: [arm]}}\n")


def test_a_child_pipeline_with_every_job_option_validates_against_gitlab_ci_schema(tmp_path):
    from tests.support.components import validate

    settings = job_settings(options(
        "--job-image", "ci-tags:1", "--job-before-script", "echo one", "--job-variable", "A=1",
        "--job-retry", "1", "--job-timeout", "2h", "--job-interruptible", "true", "--job-service", "docker:dind",
        "--builder", "docker", "--builder-args", "--network host"))
    for plan in (decide([state("base", False, ("amd64", "arm64"))]), decide([state("base", True)])):
        result = validate(tmp_path, "child.yml", gitlab_child_pipeline(plan, "42", {"arm64": ["arm"]}, settings))
        assert result.returncode == 0, result.stdout + result.stderr
