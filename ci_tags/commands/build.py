"""``ci-tags build IMAGE --arch ARCH``: build one image for one architecture, on exactly the parent images it
was hashed with, push its content tag, then (single-arch images) its pipeline tag."""

from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass

from ci_tags.commands.options import (
    PipelineOptions,
    add_config_option,
    add_pipeline_options,
    load_image_set,
    pipeline_of,
)
from ci_tags.context import Context
from ci_tags.errors import BadInput
from ci_tags.services.pipeline import Report, pinner
from ci_tags.services.pipeline.building import BuildOptions, Built, build_image

# shown under "examples:" by --help
EXAMPLES = """\
  ci-tags build app                           # the image's first arch, on buildah/podman/docker
  ci-tags build tools --arch arm64 --builder podman --json
  ci-tags build app --keep-image              # leave the built image in local container storage
"""


def register(p: argparse.ArgumentParser) -> None:
    add_config_option(p)
    add_pipeline_options(p)
    p.add_argument("image", metavar="IMAGE", help="an image of ci-tags.yml")
    p.add_argument("--arch", help="the architecture to build (default: the image's first)")
    p.add_argument("--builder", choices=["buildah", "podman", "docker"], help="default: first found on PATH")
    p.add_argument("--pin-base", action="store_true", help="hash external FROM images by their current digest")
    p.add_argument("--force", action="store_true", help="build even if the content tag exists")
    p.add_argument("--builder-args", metavar="ARGS", default="",
                   help="extra options of the builder's build command, e.g. '--network host --secret id=x,src=f'")
    p.add_argument("--keep-image", action="store_true",
                   help="keep the built image in local container storage (default: removed once pushed)")


@dataclass(frozen=True)
class Options:
    pipeline: PipelineOptions
    image: str
    arch: str | None = None
    builder: str | None = None
    builder_args: str = ""  # as written: split when the command runs (a bad one is bad input, not a usage error)
    pin_base: bool = False
    force: bool = False
    keep_image: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Options:
        return cls(pipeline=PipelineOptions.from_args(args), image=args.image, arch=args.arch, builder=args.builder,
                   builder_args=args.builder_args, pin_base=args.pin_base, force=args.force,
                   keep_image=args.keep_image)


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
        report=Report(warn=ctx.out.warn, info=ctx.out.info, log=ctx.out.log),
    )
