"""``ci-tags plan``: the early job. For every image x arch, concurrently over one connection pool: a present
content tag gets this pipeline's tag by a metadata-only copy; an absent one is planned for a build. Writes the
GitLab child pipeline, the dotenv file and the Jenkins matrix."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace

from ci_tags.commands.options import (
    PipelineOptions,
    add_config_option,
    add_pipeline_options,
    load_image_set,
    pipeline_of,
)
from ci_tags.context import Context
from ci_tags.core.build_jobs import JobOptions, job_settings
from ci_tags.core.emitters import NOOP_IMAGE
from ci_tags.services.pipeline import Report, pinner
from ci_tags.services.pipeline.planning import PlanFiles, Planned, plan_pipeline

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


def add_job_options(p: argparse.ArgumentParser) -> None:
    """The options that shape the generated build jobs (the component's build-* inputs pass them on)."""
    p.add_argument("--job-image", help="image of the generated GitLab jobs (needs ci-tags and a builder)")
    p.add_argument("--job-setup", action="append", default=[], help="a before_script line of generated jobs")
    p.add_argument("--job-before-script", action="append", default=[], metavar="LINES",
                   help="your before_script lines of the build jobs, after ci-tags' set-up (one per line)")
    p.add_argument("--job-variable", action="append", default=[], metavar="NAME=VALUE",
                   help="a variable of the build jobs (several: repeat, or one NAME=VALUE per line)")
    p.add_argument("--job-retry", type=int, choices=[0, 1, 2], help="retry: of the build jobs (GitLab allows 0-2)")
    p.add_argument("--job-timeout", metavar="DURATION", help="timeout: of the build jobs, e.g. '1h 30m'")
    p.add_argument("--job-interruptible", choices=["true", "false"], help="interruptible: of the build jobs")
    p.add_argument("--job-service", action="append", default=[], metavar="IMAGE",
                   help="a service of the build jobs, e.g. docker:dind for --builder docker (several: repeat)")
    p.add_argument("--job-noop-image", default=NOOP_IMAGE,
                   help=f"image of the job a pipeline with nothing to build runs (default {NOOP_IMAGE})")
    p.add_argument("--builder", choices=["buildah", "podman", "docker"],
                   help="the builder of the build jobs (default: the first found on the runner)")
    p.add_argument("--builder-args", metavar="ARGS",
                   help="extra arguments of the builder's build command, e.g. '--network host --secret id=x,src=f'")


@dataclass(frozen=True)
class Options:
    pipeline: PipelineOptions
    files: PlanFiles
    jobs: JobOptions
    pin_base: bool = False
    dry_run: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Options:
        jobs = JobOptions(
            image=args.job_image,
            setup=tuple(args.job_setup),
            before_script=tuple(args.job_before_script),
            variables=tuple(args.job_variable),
            retry=args.job_retry,
            timeout=args.job_timeout,
            interruptible=None if args.job_interruptible is None else args.job_interruptible == "true",
            services=tuple(args.job_service),
            noop_image=args.job_noop_image,
            builder=args.builder,
            builder_args=args.builder_args,
        )
        return cls(pipeline=PipelineOptions.from_args(args),
                   files=PlanFiles(args.gitlab_child, args.dotenv, args.jenkins_matrix),
                   jobs=jobs, pin_base=args.pin_base, dry_run=args.dry_run)


def run(ctx: Context, opts: Options) -> Planned:
    config = load_image_set(ctx, opts.pipeline.config)
    settings = replace(job_settings(opts.jobs), ci_tags_args=("--config", opts.pipeline.config))  # bad input: now
    pipe = pipeline_of(ctx, opts.pipeline, config)
    pipeline_id, placeholder = pipe.preview_id(opts.dry_run)
    return plan_pipeline(
        ctx.registries, config, pipeline_id=pipeline_id, commit=pipe.commit, settings=settings, files=opts.files,
        pin=pinner(lambda: ctx.registries) if opts.pin_base else None, dry_run=opts.dry_run, placeholder=placeholder,
        concurrency=ctx.concurrency, report=Report(warn=ctx.out.warn),
    )
