"""Turn a plan into what CI systems read: a GitLab child pipeline, a dotenv file, a Jenkins build matrix.

Pure: strings and dicts out, no I/O. Child pipelines run with their own CI_PIPELINE_IID, so every generated
command names the parent pipeline's id explicitly.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ci_tags.core.plan import BUILD, ImagePlan, Plan

NOOP_JOB = "ci-tags:nothing-to-build"
NOOP_IMAGE = "busybox:stable"  # the no-op job only echoes: a tiny image, nothing installed

# Runner tags per arch, or per (image, arch) as Config.runner_tags gives them.
Runners = Mapping[str, Iterable[str]] | Callable[[str, str], Iterable[str]]


def _runner_tags(runners: Runners, image: str, arch: str) -> list[str]:
    return list(runners(image, arch) if callable(runners) else runners.get(arch, ()))


def env_name(image: str) -> str:
    """The dotenv variable naming an image's pipeline-tag reference: qemu/debian -> CI_TAGS_IMAGE_QEMU_DEBIAN."""
    return "CI_TAGS_IMAGE_" + "".join(c if c.isalnum() else "_" for c in image.upper())


def dotenv(plan: Plan) -> str:
    """``CI_TAGS_IMAGE_<NAME>=<registry>/<name>:<pipeline tag>`` per image, for later jobs' ``image:``."""
    return "".join(f"{env_name(p.name)}={p.pipeline_reference}\n" for p in plan.images)


def build_job_name(image: str, arch: str) -> str:
    return f"build:{image}:{arch}"


def manifest_job_name(image: str) -> str:
    return f"manifest:{image}"


def _parent_jobs(plan: Plan, image: ImagePlan) -> list[str]:
    """The jobs an image's builds wait for: each parent's last job (its manifest job, or its builds)."""
    by_name = plan.by_name()
    needs = []
    for parent in image.state.parents:
        pp = by_name.get(parent)
        if pp is None or pp.action != BUILD:
            continue
        if pp.needs_manifest_job:
            needs.append(manifest_job_name(pp.name))
        else:
            needs += [build_job_name(pp.name, arch) for arch in pp.builds]
    return needs


@dataclass(frozen=True)
class JobSettings:
    """How generated jobs run ci-tags: the job image, set-up commands, the options every command gets, and what
    users shape of the build jobs (GitLab keywords; None leaves GitLab's default)."""

    stage: str = "build"
    image: str | None = None
    before_script: tuple[str, ...] = ()
    ci_tags_args: tuple[str, ...] = ()  # e.g. ("--config", "ci-tags.yml")
    variables: Mapping[str, str] = field(default_factory=dict)
    retry: int | None = None
    timeout: str | None = None
    interruptible: bool | None = None
    services: tuple[str, ...] = ()  # e.g. docker:dind for the docker builder
    build_args: tuple[str, ...] = ()  # options of `ci-tags build` only: --builder, --builder-args
    noop_image: str = NOOP_IMAGE


def gitlab_child_pipeline(plan: Plan, pipeline_id: str, runners: Runners, settings: JobSettings) -> dict[str, Any]:
    """A dynamic child pipeline: one build job per missing image x arch on its runners, one manifest job per
    multi-arch image to assemble, ordered by ``needs``; one no-op job when nothing needs building."""
    common = [*settings.ci_tags_args, "--pipeline-id", pipeline_id]

    def job(script: list[str], needs: list[str], tags: Iterable[str] = ()) -> dict[str, Any]:
        body: dict[str, Any] = {"stage": settings.stage}
        if settings.image:
            body["image"] = settings.image
        if settings.services:
            body["services"] = list(settings.services)
        if settings.variables:
            body["variables"] = dict(settings.variables)
        if list(tags):
            body["tags"] = list(tags)
        body["needs"] = list(needs)
        for key in ("retry", "timeout", "interruptible"):
            if getattr(settings, key) is not None:
                body[key] = getattr(settings, key)
        if settings.before_script:
            body["before_script"] = list(settings.before_script)
        body["script"] = script
        return body

    doc: dict[str, Any] = {"stages": [settings.stage]}
    for p in plan.images:
        if p.action != BUILD:
            continue
        needs = _parent_jobs(plan, p)
        for arch in p.builds:
            cmd = shlex.join(["ci-tags", "build", p.name, "--arch", arch, *common, *settings.build_args])
            doc[build_job_name(p.name, arch)] = job([cmd], needs, _runner_tags(runners, p.name, arch))
        if p.needs_manifest_job:
            cmd = shlex.join(["ci-tags", "manifest", p.name, *common])
            builds = [build_job_name(p.name, a) for a in p.builds]
            doc[manifest_job_name(p.name)] = job([cmd], builds or needs)
    if plan.nothing_to_build:
        # not job(): no ci-tags image, no set-up lines, no services; a child pipeline needs one job
        doc[NOOP_JOB] = {"stage": settings.stage, "image": settings.noop_image, "needs": [],
                         "script": ["echo 'ci-tags: every image was reused; nothing to build'"]}
    return doc


def gitlab_yaml(doc: Mapping[str, Any]) -> str:
    """The child pipeline as YAML without anchors: jobs share lists (needs, tags), and ``&id001``/``*id001`` in
    a generated file only puzzle the reader of the pipeline view."""
    import yaml

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    return str(yaml.dump(dict(doc), Dumper=Dumper, sort_keys=False))


def jenkins_matrix(plan: Plan, runners: Runners) -> dict[str, Any]:
    """The builds for a Jenkinsfile's scripted ``parallel``, in waves: each wave's builds run in parallel, then
    its manifests; a wave only depends on earlier waves."""
    by_name = plan.by_name()
    wave_of: dict[str, int] = {}
    waves: list[dict[str, list[Any]]] = []
    for p in plan.images:
        if p.action != BUILD:
            continue
        deps = [wave_of[q] for q in p.state.parents if q in wave_of and by_name[q].action == BUILD]
        wave = max(deps, default=-1) + 1
        wave_of[p.name] = wave
        while len(waves) <= wave:
            waves.append({"builds": [], "manifests": []})
        for arch in p.builds:
            label = " && ".join(_runner_tags(runners, p.name, arch))
            waves[wave]["builds"].append({"image": p.name, "arch": arch, "label": label})
        if p.needs_manifest_job:
            waves[wave]["manifests"].append(p.name)
    return {
        "waves": waves,
        "images": {p.name: p.pipeline_reference for p in plan.images},
        "nothing_to_build": plan.nothing_to_build,
    }
