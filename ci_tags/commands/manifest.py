"""``ci-tags manifest IMAGE``: assemble a multi-arch image's index from its per-arch images, by metadata alone,
under its content tag, and point this pipeline's tag at it."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from ci_tags.commands.options import (
    PipelineOptions,
    add_config_option,
    add_pipeline_options,
    load_image_set,
    pipeline_of,
)
from ci_tags.context import Context
from ci_tags.services.pipeline.manifests import Assembled, assemble_image

# shown under "examples:" by --help
EXAMPLES = """\
  ci-tags manifest tools
  ci-tags manifest tools --pipeline-id 42 --json
"""


def register(p: argparse.ArgumentParser) -> None:
    add_config_option(p)
    add_pipeline_options(p)
    p.add_argument("image", metavar="IMAGE", help="a multi-arch image of ci-tags.yml")


@dataclass(frozen=True)
class Options:
    pipeline: PipelineOptions
    image: str

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Options:
        return cls(pipeline=PipelineOptions.from_args(args), image=args.image)


def run(ctx: Context, opts: Options) -> Assembled:
    config = load_image_set(ctx, opts.pipeline.config)
    pipe = pipeline_of(ctx, opts.pipeline, config)
    return assemble_image(ctx.registries, config, opts.image, pipeline_id=pipe.require_id(), commit=pipe.commit)
