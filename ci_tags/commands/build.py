"""``ci-tags build IMAGE --arch ARCH``: build one image for one architecture, on exactly the parent images it
was hashed with, push its content tag, then (single-arch images) its pipeline tag."""

from __future__ import annotations

from dataclasses import dataclass

from ci_tags.commands.options import PipelineOptions, load_image_set, pipeline_of
from ci_tags.context import Context
from ci_tags.flags import group
from ci_tags.output.text import Renderer
from ci_tags.output.text.pipeline import PipelineLive, built
from ci_tags.services.pipeline import pinner
from ci_tags.services.pipeline.building import BuildOptions, Built, build_image

EXAMPLES = """\
  ci-tags build app                           # the image's first arch, on buildah/podman/docker
  ci-tags build tools --arch arm64 --builder podman --json
  ci-tags build app --keep-image              # leave the built image in local container storage
"""


@dataclass(frozen=True, kw_only=True)
class Options:
    pipeline: PipelineOptions = group(PipelineOptions)
    build: BuildOptions = group(BuildOptions)


RENDERERS = (Renderer(Built, built),)


def run(ctx: Context, opts: Options) -> Built:
    opts.build.builder_argv()  # a bad --builder-args is bad input before anything is read
    config = load_image_set(ctx, opts.pipeline.config)
    pipe = pipeline_of(ctx, opts.pipeline, config)
    pipeline_id = pipe.require_id()
    return build_image(
        ctx.registries, config, pipe, opts.build, pipeline_id=pipeline_id, env=ctx.env,
        pin=pinner(lambda: ctx.registries) if opts.build.pin_base else None,
        report=PipelineLive(ctx.out),
    )
