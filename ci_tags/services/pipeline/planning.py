"""``plan``, the early job: for every image x arch, concurrently over one connection pool, a present content tag
gets this pipeline's tag by a metadata-only copy and an absent one is planned for a build; the plan is written as
a GitLab child pipeline, a dotenv file and a Jenkins matrix."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ci_tags.concurrency import run_all_prefetched
from ci_tags.core.emitters import JobSettings, Runners, dotenv, gitlab_child_pipeline, gitlab_yaml, jenkins_matrix
from ci_tags.core.plan import ASSEMBLE, BUILD, REUSE, Action, ImageState, Plan, decide
from ci_tags.errors import CiTagsError, OperationFailed
from ci_tags.flags import flag
from ci_tags.project.imageset import ResolvedImage, resolve_each
from ci_tags.services.pipeline import Pin, Report
from ci_tags.services.pipeline.expiry import Expiry
from ci_tags.services.pipeline.survey import Reuse

if TYPE_CHECKING:
    from ci_tags.oci.registries import Registries
    from ci_tags.project.config import Config


@dataclass(frozen=True, kw_only=True)
class PlanFiles:
    """The files asked for, by the names given (None: not asked)."""

    gitlab_child: str | None = flag("--gitlab-child", metavar="FILE",
                                    help="write a dynamic child pipeline with the build jobs")
    dotenv: str | None = flag("--dotenv", metavar="FILE",
                              help="write CI_TAGS_IMAGE_<NAME>=<pipeline-tag reference> lines")
    jenkins_matrix: str | None = flag("--jenkins-matrix", metavar="FILE",
                                      help="write the builds as JSON for a Jenkinsfile")


@dataclass(frozen=True)
class Row:
    """One image x arch, with the plan's own word for it (reuse, assemble, build), the same in images[] and rows[]."""

    image: str
    arch: str
    content_tag: str
    action: Action


@dataclass(frozen=True)
class Planned:
    pipeline_id: str
    pipeline_tag: str
    plan: Plan
    errors: tuple[tuple[str, CiTagsError], ...]  # images present but not tagged: (name, why)
    files: Mapping[str, str]  # name -> text, written unless a dry run
    dry_run: bool
    failure: CiTagsError | None = None
    placeholder: bool = False  # pipeline_id is a dry run's stand-in outside CI

    @property
    def rows(self) -> list[Row]:
        return [Row(p.name, a.arch, a.content_tag, BUILD if a.arch in p.builds else p.action)
                for p in self.plan.images for a in p.state.arches]

    @property
    def reused(self) -> int:
        """Images tagged for this pipeline by metadata copy (reused or assembled)."""
        return sum(1 for p in self.plan.images if p.action != BUILD)

    @property
    def build_jobs(self) -> int:
        return sum(len(p.builds) for p in self.plan.images)

    def document(self) -> Mapping[str, Any]:
        images = self.plan.images
        return {
            "pipeline_id": self.pipeline_id,
            "pipeline_tag": self.pipeline_tag,
            "images": [
                {"image": p.name, "action": p.action, "builds": list(p.builds),
                 "content_tag": p.state.content_tag, "pipeline_reference": p.pipeline_reference}
                for p in images
            ],
            "rows": [{"image": r.image, "arch": r.arch, "content_tag": r.content_tag, "action": r.action}
                     for r in self.rows],
            "errors": {name: str(err) for name, err in self.errors},
            "counts": {"images": len(images),
                       **{act: sum(1 for p in images if p.action == act) for act in (REUSE, ASSEMBLE)},
                       "build_jobs": self.build_jobs},
            "dry_run": self.dry_run,
            **({"files": dict(self.files)} if self.dry_run else {}),
        }


def plan_pipeline(
    registries: Registries,
    config: Config,
    *,
    pipeline_id: str,
    commit: str | None,
    settings: JobSettings,
    files: PlanFiles,
    pin: Pin | None,
    dry_run: bool,
    concurrency: int,
    report: Report,
    placeholder: bool = False,
) -> Planned:
    """Survey and tag every image of ``config``, decide the builds, write ``files`` (not in a dry run)."""
    pipeline_tag = config.tags.pipeline_tag(pipeline_id)

    def hashed() -> Iterator[ResolvedImage]:
        for image in resolve_each(config, None, pin):
            for warning in image.warnings:
                report.image_warning(warning)
            yield image

    reuse = Reuse(registries, pipeline_id, commit, pipeline_tag, dry_run, report.reuse_vanished,
                  Expiry(registries, config))
    # each image's content tag is read as soon as it is hashed; nothing is tagged before every image hashed
    results = _checked(run_all_prefetched(reuse.survey, reuse.tag, hashed(), concurrency), report)
    plan = decide(state for state, _ in results)
    errors = tuple((state.name, err) for state, err in results if err)
    texts = emit(plan, pipeline_id, config.runner_tags, settings, files)
    if not dry_run:
        for name, text in texts.items():
            Path(name).write_text(text)
    copies = sum(1 for p in plan.images if p.action in (REUSE, ASSEMBLE))
    failure = OperationFailed(f"could not tag {len(errors)} of {copies} reused images") if errors else None
    return Planned(pipeline_id, pipeline_tag, plan, errors, texts, dry_run, failure, placeholder)


def _checked(
    outcomes: Sequence[tuple[ResolvedImage, tuple[ImageState, CiTagsError | None] | None, CiTagsError | None]],
    report: Report,
) -> list[tuple[ImageState, CiTagsError | None]]:
    """The images' states; an image whose tags could not be read fails the run (no plan without them)."""
    failures = [(image.name, err) for image, _, err in outcomes if err]
    if failures:
        for name, err in failures:
            report.unreadable(name, err)
        raise failures[0][1] if len(failures) == len(outcomes) else OperationFailed(
            f"could not check {len(failures)} of {len(outcomes)} images"
        )
    return [result for _, result, _ in outcomes if result is not None]


def emit(plan: Plan, pipeline_id: str, runners: Runners, settings: JobSettings, files: PlanFiles) -> dict[str, str]:
    """The asked files' texts, by name: the child pipeline, the dotenv lines, the Jenkins matrix."""
    texts: dict[str, str] = {}
    if files.gitlab_child:
        texts[files.gitlab_child] = gitlab_yaml(gitlab_child_pipeline(plan, pipeline_id, runners, settings))
    if files.dotenv:
        texts[files.dotenv] = dotenv(plan)
    if files.jenkins_matrix:
        texts[files.jenkins_matrix] = json.dumps(jenkins_matrix(plan, runners), indent=2) + "\n"
    return texts
