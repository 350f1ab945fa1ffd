"""``ci-tags manifest IMAGE``: assemble a multi-arch image's index from its per-arch images, by metadata alone,
under its content tag, and point this pipeline's tag at it."""

from __future__ import annotations

from dataclasses import dataclass

from ci_tags.commands.options import PipelineOptions, load_image_set, pipeline_of
from ci_tags.context import Context
from ci_tags.flags import group, positional
from ci_tags.output.text import Renderer
from ci_tags.output.text.pipeline import assembled
from ci_tags.services.pipeline.manifests import Assembled, assemble_image

EXAMPLES = """\
  ci-tags manifest tools
  ci-tags manifest tools --pipeline-id 42 --json
"""


@dataclass(frozen=True, kw_only=True)
class Options:
    pipeline: PipelineOptions = group(PipelineOptions)
    image: str = positional("IMAGE", help="a multi-arch image of ci-tags.yml")


RENDERERS = (Renderer(Assembled, assembled),)


def run(ctx: Context, opts: Options) -> Assembled:
    config = load_image_set(ctx, opts.pipeline.config)
    pipe = pipeline_of(ctx, opts.pipeline, config)
    return assemble_image(ctx.registries, config, opts.image, pipeline_id=pipe.require_id(), commit=pipe.commit)
