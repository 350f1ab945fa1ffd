"""``ci-tags plan``: the early job. For every image x arch, concurrently over one connection pool: a present
content tag gets this pipeline's tag by a metadata-only copy; an absent one is planned for a build. Writes the
GitLab child pipeline, the dotenv file and the Jenkins matrix."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ci_tags.commands.options import PipelineOptions, load_image_set, pipeline_of
from ci_tags.context import Context
from ci_tags.core.build_jobs import JobOptions, job_settings
from ci_tags.flags import flag, group
from ci_tags.output import report
from ci_tags.output.text import Renderer
from ci_tags.output.text.pipeline import PipelineLive, planned, planned_problems
from ci_tags.services.pipeline import PIN_BASE_HELP, pinner
from ci_tags.services.pipeline.planning import PlanFiles, Planned, plan_pipeline

EXAMPLES = """\
  ci-tags plan --gitlab-child child.yml --dotenv ci-tags.env
  ci-tags plan --gitlab-child child.yml --job-before-script 'apk add git' --job-variable BUILDAH_FORMAT=docker
  ci-tags plan --jenkins-matrix matrix.json --pipeline-id main-12 --json
"""


@dataclass(frozen=True, kw_only=True)
class Options:
    pipeline: PipelineOptions = group(PipelineOptions)
    files: PlanFiles = group(PlanFiles)
    jobs: JobOptions = group(JobOptions)  # the generated build jobs' shape (the component's build-* inputs)
    pin_base: bool = flag("--pin-base", default=False, help=PIN_BASE_HELP)
    dry_run: bool = flag("--dry-run", default=False,
                         help="a preview: the same table, and the files' contents printed; no tag or file written")


RENDERERS = (Renderer(Planned, planned, planned_problems, report.planned),)


def run(ctx: Context, opts: Options) -> Planned:
    config = load_image_set(ctx, opts.pipeline.config)
    settings = replace(job_settings(opts.jobs), ci_tags_args=("--config", opts.pipeline.config))  # bad input: now
    pipe = pipeline_of(ctx, opts.pipeline, config)
    pipeline_id, placeholder = pipe.preview_id(opts.dry_run)
    return plan_pipeline(
        ctx.registries, config, pipeline_id=pipeline_id, commit=pipe.commit, settings=settings, files=opts.files,
        pin=pinner(lambda: ctx.registries) if opts.pin_base else None, dry_run=opts.dry_run, placeholder=placeholder,
        concurrency=ctx.concurrency, report=PipelineLive(ctx.out),
    )
