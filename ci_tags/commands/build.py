"""``ci-tags build IMAGE --arch ARCH``: build one image for one architecture, on exactly the parent images it
was hashed with, push its content tag, then (single-arch images) its pipeline tag."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from ci_tags.commands.options import PIN_BASE_HELP, PipelineOptions, load_image_set, pipeline_of
from ci_tags.context import Context
from ci_tags.core.build_jobs import BUILDERS
from ci_tags.errors import BadInput
from ci_tags.flags import flag, group, positional
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
    image: str = positional("IMAGE", help="an image of ci-tags.yml")
    arch: str | None = flag("--arch", help="the architecture to build (default: the image's first)")
    builder: str | None = flag("--builder", choices=BUILDERS, help="default: first found on PATH")
    pin_base: bool = flag("--pin-base", default=False, help=PIN_BASE_HELP)
    force: bool = flag("--force", default=False, help="build even if the content tag exists")
    # as written: split when the command runs (a bad one is bad input, not a usage error)
    builder_args: str = flag("--builder-args", default="", metavar="ARGS", help="extra options of the builder's "
                             "build command, e.g. '--network host --secret id=x,src=f'")
    keep_image: bool = flag("--keep-image", default=False,
                            help="keep the built image in local container storage (default: removed once pushed)")


RENDERERS = (Renderer(Built, built),)


def run(ctx: Context, opts: Options) -> Built:
    try:
        builder_args = tuple(shlex.split(opts.builder_args))
    except ValueError as exc:
        raise BadInput(f"--builder-args: {exc}") from None
    config = load_image_set(ctx, opts.pipeline.config)
    pipe = pipeline_of(ctx, opts.pipeline, config)
    pipeline_id = pipe.require_id()
    build = BuildOptions(image=opts.image, arch=opts.arch, builder=opts.builder, builder_args=builder_args,
                         force=opts.force, keep_image=opts.keep_image)
    return build_image(
        ctx.registries, config, pipe, build, pipeline_id=pipeline_id, env=ctx.env,
        pin=pinner(lambda: ctx.registries) if opts.pin_base else None,
        report=PipelineLive(ctx.out),
    )
