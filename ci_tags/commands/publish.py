"""``ci-tags publish``: the final job. Moves each image's publish tags to this pipeline's image, only on the
default branch, only when every image has its pipeline tag and the CI API (if asked) reports success, and
never back in time, also when publishes run at once (ci_tags/services/publish.py). Otherwise it says why and
exits 0; a read or write that fails ends with a summary and exit 1."""

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
from ci_tags.services.publish import NotPublished, PipelineTagsUnread, Published, publish

# shown under "examples:" by --help
EXAMPLES = """\
  ci-tags publish --dry-run
  ci-tags publish --tag latest --tag stable --json
"""


def register(p: argparse.ArgumentParser) -> None:
    add_config_option(p)
    add_pipeline_options(p)
    p.add_argument("--dry-run", action="store_true", help="print what would move, move nothing")
    p.add_argument("--tag", action="append", default=[], help="publish these tags instead of the config's")


@dataclass(frozen=True)
class Options:
    pipeline: PipelineOptions
    dry_run: bool = False
    tags: tuple[str, ...] = ()  # instead of the config's publish tags

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Options:
        return cls(pipeline=PipelineOptions.from_args(args), dry_run=args.dry_run, tags=tuple(args.tag))


def run(ctx: Context, opts: Options) -> Published | NotPublished | PipelineTagsUnread:
    config = load_image_set(ctx, opts.pipeline.config)
    pipe = pipeline_of(ctx, opts.pipeline, config)
    return publish(ctx.registries, config, pipe, ctx.env, requested_tags=opts.tags, dry_run=opts.dry_run,
                   concurrency=ctx.concurrency)
