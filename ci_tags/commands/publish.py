"""``ci-tags publish``: the final job. Moves each image's publish tags to this pipeline's image, only on the
default branch, only when every image has its pipeline tag and the CI API (if asked) reports success, and
never back in time, also when publishes run at once (ci_tags/services/publish.py). Otherwise it says why and
exits 0; a read or write that fails ends with a summary and exit 1."""

from __future__ import annotations

from dataclasses import dataclass

from ci_tags.commands.options import PipelineOptions, load_image_set, pipeline_of
from ci_tags.context import Context
from ci_tags.flags import flag, group
from ci_tags.output import report
from ci_tags.output.text import Renderer
from ci_tags.output.text.publish import not_published, pipeline_tags_unread_problems, published, published_problems
from ci_tags.services.publish import NotPublished, PipelineTagsUnread, Published, publish

EXAMPLES = """\
  ci-tags publish --dry-run
  ci-tags publish --tag latest --tag stable --json
"""


@dataclass(frozen=True, kw_only=True)
class Options:
    pipeline: PipelineOptions = group(PipelineOptions)
    dry_run: bool = flag("--dry-run", default=False, help="print what would move, move nothing")
    tags: tuple[str, ...] = flag("--tag", default=(), help="publish these tags instead of the config's")


RENDERERS = (Renderer(Published, published, published_problems, report.published),
             Renderer(NotPublished, not_published, markdown=report.not_published),
             Renderer(PipelineTagsUnread, problems=pipeline_tags_unread_problems,
                      markdown=report.pipeline_tags_unread),)


def run(ctx: Context, opts: Options) -> Published | NotPublished | PipelineTagsUnread:
    config = load_image_set(ctx, opts.pipeline.config)
    pipe = pipeline_of(ctx, opts.pipeline, config)
    return publish(ctx.registries, config, pipe, ctx.env, requested_tags=opts.tags, dry_run=opts.dry_run,
                   concurrency=ctx.concurrency)
