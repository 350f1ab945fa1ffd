"""``ci-tags tags REPO``: every tag of a repository, optionally with the digest each resolves to."""

from __future__ import annotations

from dataclasses import dataclass

from ci_tags.context import Context
from ci_tags.flags import flag, positional
from ci_tags.output.text import Renderer
from ci_tags.output.text.registry import tag_list, tag_list_problems
from ci_tags.services.names import SetNames
from ci_tags.services.tags import TagList, list_tags

EXAMPLES = """\
  ci-tags tags registry.example.com/group/app
  ci-tags tags debian10                      # an image of ./ci-tags.yml
  ci-tags tags registry.example.com/group/app --digests --json
  ci-tags --json tags localhost:5000/app
"""


@dataclass(frozen=True, kw_only=True)
class Options:
    repository: str = positional("REPO", help="e.g. reg.example.com/group/image, or an image of ci-tags.yml")
    digests: bool = flag("--digests", default=False, help="also resolve each tag to its manifest digest")


RENDERERS = (Renderer(TagList, tag_list, tag_list_problems),)


def run(ctx: Context, opts: Options) -> TagList:
    return list_tags(ctx.registries, SetNames(ctx.env).reference(opts.repository), digests=opts.digests,
                     concurrency=ctx.concurrency)
