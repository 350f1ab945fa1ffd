"""``ci-tags inspect REF``: digest, media type, size, platforms, created time and labels of an image."""

from __future__ import annotations

from dataclasses import dataclass

from ci_tags.context import Context
from ci_tags.flags import positional
from ci_tags.output.text import Renderer
from ci_tags.output.text.registry import inspected
from ci_tags.services.inspect import Inspected, inspect_image
from ci_tags.services.names import SetNames

EXAMPLES = """\
  ci-tags inspect registry.example.com/group/app:latest
  ci-tags inspect docker.io/library/alpine:3.20 --json
"""


@dataclass(frozen=True, kw_only=True)
class Options:
    reference: str = positional("REF", help="image reference, or IMAGE[:TAG] of ci-tags.yml")


RENDERERS = (Renderer(Inspected, inspected),)


def run(ctx: Context, opts: Options) -> Inspected:
    return inspect_image(ctx.registries, SetNames(ctx.env).reference(opts.reference), concurrency=ctx.concurrency)
