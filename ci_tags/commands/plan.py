"""``ci-tags plan``: the early job. For every image x arch, concurrently over one connection pool: a present
content tag gets this pipeline's tag by a metadata-only copy; an absent one is planned for a build. Writes the
GitLab child pipeline, the dotenv file and the Jenkins matrix."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from ci_tags.commands.build_jobs import add_job_options, job_settings
from ci_tags.commands.hash import pinner
from ci_tags.commands.options import add_config_option, add_pipeline_options, load, pipeline
from ci_tags.concurrency import run_all
from ci_tags.context import Context
from ci_tags.core.emitters import dotenv, gitlab_child_pipeline, gitlab_yaml, jenkins_matrix
from ci_tags.core.manifest import (
    ANNOTATION_CONTENT_TAG,
    ANNOTATION_KIND,
    ANNOTATION_PIPELINE,
    ANNOTATION_REVISION,
    INDEX_TYPES,
    Descriptor,
    Manifest,
    may_be_placeholder,
)
from ci_tags.core.plan import ASSEMBLE, BUILD, REUSE, ArchTarget, ImageState, decide
from ci_tags.core.reference import parse_reference
from ci_tags.errors import CiTagsError, OperationFailed
from ci_tags.oci.auth import scope
from ci_tags.oci.stamp import assemble, fetch, stamp, still_there
from ci_tags.project.imageset import ResolvedImage, resolve

# shown under "examples:" by --help
EXAMPLES = """\
  ci-tags plan --gitlab-child child.yml --dotenv ci-tags.env
  ci-tags plan --gitlab-child child.yml --job-before-script 'apk add git' --job-variable BUILDAH_FORMAT=docker
  ci-tags plan --jenkins-matrix matrix.json --pipeline-id main-12 --json
"""


def register(p: argparse.ArgumentParser) -> None:
    add_config_option(p)
    add_pipeline_options(p)
    p.add_argument("--gitlab-child", metavar="FILE", help="write a dynamic child pipeline with the build jobs")
    p.add_argument("--dotenv", metavar="FILE", help="write CI_TAGS_IMAGE_<NAME>=<pipeline-tag reference> lines")
    p.add_argument("--jenkins-matrix", metavar="FILE", help="write the builds as JSON for a Jenkinsfile")
    add_job_options(p)
    p.add_argument("--pin-base", action="store_true", help="hash external FROM images by their current digest")
    p.add_argument("--dry-run", action="store_true",
                   help="a preview: the same table, and the files' contents printed; no tag or file written")


def stamp_annotations(pipeline_id: str, commit: str | None, content_tag: str, kind: str) -> dict[str, str]:
    notes = {ANNOTATION_KIND: kind, ANNOTATION_PIPELINE: pipeline_id, ANNOTATION_CONTENT_TAG: content_tag}
    if commit:
        notes[ANNOTATION_REVISION] = commit
    return notes


def _survey(ctx: Context, image: ResolvedImage) -> tuple[Manifest | Descriptor | None, dict[str, Manifest | None]]:
    """HEAD a single-arch image's content tag (its stamp needs no body, and a HEAD is no pull on Docker Hub);
    GET a multi-arch image's (its stamp copies the index's entries), and, without the index, each per-arch tag."""
    ref = parse_reference(image.repository)
    registry = ctx.registries.get(ref.api_host)
    content: Manifest | Descriptor | None
    if image.spec.multi_arch:
        content = fetch(registry, ref.repository, image.content_tag)
    else:
        content = registry.head_descriptor(ref.repository, image.content_tag,
                                           [scope(ref.repository, "pull", "push")])
        if content is not None and (content.media_type in INDEX_TYPES or may_be_placeholder(content)):
            # an index made by another tool: stamp its body; a possible untag placeholder: a miss if it is one
            content = fetch(registry, ref.repository, image.content_tag)
    arches: dict[str, Manifest | None] = {}
    if content is None and image.spec.multi_arch:
        arches = {a.arch: fetch(registry, ref.repository, a.content_tag) for a in image.arches}
    return content, arches


def run(ctx: Context) -> int:
    config = load(ctx)
    settings = replace(job_settings(ctx.args), ci_tags_args=("--config", ctx.args.config))  # bad input: now
    pipe = pipeline(ctx, config)
    pipeline_id = pipe.require_id()
    pipeline_tag = config.tags.pipeline_tag(pipeline_id)
    images = resolve(config, None, pinner(ctx) if ctx.args.pin_base else None)
    for image in images:
        for warning in image.warnings:
            ctx.out.warn(warning)

    def state_of(image: ResolvedImage, content: Manifest | Descriptor | None,
                 arches: dict[str, Manifest | None]) -> ImageState:
        return ImageState(
            name=image.name,
            repository=image.repository,
            content_tag=image.content_tag,
            content_present=content is not None,
            pipeline_tag=pipeline_tag,
            arches=tuple(
                ArchTarget(a.arch, a.content_tag, content is not None or arches.get(a.arch) is not None)
                for a in image.arches
            ),
            parents=image.parents,
        )

    def survey_and_tag(image: ResolvedImage) -> tuple[ImageState, CiTagsError | None]:
        """Per image, as one task so images proceed independently: GET its tags, then tag it if present."""
        content, arches = _survey(ctx, image)
        state = state_of(image, content, arches)
        decision = decide([state]).images[0]
        if decision.action == BUILD or ctx.args.dry_run:
            return state, None
        ref = parse_reference(image.repository)
        registry = ctx.registries.get(ref.api_host)
        try:
            if decision.action == ASSEMBLE:
                parts = [(a.arch, arches[a.arch]) for a in image.arches]
                content = assemble(registry, ref.repository, [(a, m) for a, m in parts if m is not None],
                                   image.content_tag)
            assert content is not None
            notes = stamp_annotations(pipeline_id, pipe.commit, image.content_tag, "pipeline")
            arch = None if image.spec.multi_arch else image.spec.arches[0]
            stamp(registry, ref.repository, content, pipeline_tag, notes, arch)
            if not still_there(registry, ref.repository, content):
                # removed between our read and our stamp (another branch's janitor): build it after all
                ctx.out.warn(f"{image.name}: {image.content_tag} was removed while it was being reused: building")
                return state_of(image, None, {}), None
        except CiTagsError as exc:
            return state, exc
        return state, None

    outcomes = run_all(survey_and_tag, images, ctx.concurrency)
    failures = [(i.name, err) for i, _, err in outcomes if err]
    if failures:
        for name, err in failures:
            ctx.out.warn(f"{name}: {err}")
        raise failures[0][1] if len(failures) == len(images) else OperationFailed(
            f"could not check {len(failures)} of {len(images)} images"
        )
    results = [r for _, r, _ in outcomes if r is not None]
    plan = decide(state for state, _ in results)
    by_name = {i.name: i for i in images}
    errors = [(state.name, err) for state, err in results if err]
    copies = [p for p in plan.images if p.action in (REUSE, ASSEMBLE)]

    files: dict[str, str] = {}
    if ctx.args.gitlab_child:
        doc = gitlab_child_pipeline(plan, pipeline_id, config.runner_tags, settings)
        files[ctx.args.gitlab_child] = gitlab_yaml(doc)
    if ctx.args.dotenv:
        files[ctx.args.dotenv] = dotenv(plan)
    if ctx.args.jenkins_matrix:
        files[ctx.args.jenkins_matrix] = json.dumps(jenkins_matrix(plan, config.runner_tags), indent=2) + "\n"
    if not ctx.args.dry_run:
        for name, text in files.items():
            Path(name).write_text(text)

    rows: list[dict[str, Any]] = []
    for p in plan.images:
        image = by_name[p.name]
        for a in image.arches:
            # the plan's own words (reuse, assemble, build), the same in images[] and rows[]
            action = BUILD if a.arch in p.builds else p.action
            rows.append({"image": p.name, "arch": a.arch, "content_tag": a.content_tag, "action": action})
    if ctx.out.json_mode:
        ctx.out.json(
            {
                "pipeline_id": pipeline_id,
                "pipeline_tag": pipeline_tag,
                "images": [
                    {"image": p.name, "action": p.action, "builds": list(p.builds),
                     "content_tag": p.state.content_tag, "pipeline_reference": p.pipeline_reference}
                    for p in plan.images
                ],
                "rows": rows,
                "errors": {name: str(err) for name, err in errors},
                "counts": {"images": len(plan.images),
                           **{act: sum(1 for p in plan.images if p.action == act) for act in (REUSE, ASSEMBLE)},
                           "build_jobs": sum(len(p.builds) for p in plan.images)},
                "dry_run": ctx.args.dry_run,
                **({"files": files} if ctx.args.dry_run else {}),
            }
        )
    else:
        ctx.out.table(
            f"ci-tags plan for pipeline {pipeline_id}",
            ["image", "arch", "content tag", "action"],
            [[r["image"], r["arch"], r["content_tag"], r["action"]] for r in rows],
        )
        builds = sum(1 for p in plan.images for _ in p.builds)
        reused = sum(1 for p in plan.images if p.action != BUILD)
        if ctx.args.dry_run:
            ctx.out.line(f"dry run: {reused} image(s) would be tagged {pipeline_tag} by metadata copy, {builds} "
                         "build(s) to run; no tag and no file written")
            for name, text in files.items():
                ctx.out.line(f"--- {name} (not written)")
                ctx.out.line(text.rstrip("\n"))
        else:
            ctx.out.line(f"{reused} image(s) tagged {pipeline_tag} by metadata copy, {builds} build(s) to run")
    if errors:
        for name, err in errors:
            ctx.out.warn(f"{name}: {err}")
        raise OperationFailed(f"could not tag {len(errors)} of {len(copies)} reused images")
    return 0
