"""``ci-tags hash [IMAGE...]``: each image's content tag (per arch for multi-arch images)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ci_tags.commands.texts import CONFIG_HELP
from ci_tags.context import Context
from ci_tags.flags import flag, positional
from ci_tags.output.text import Renderer
from ci_tags.output.text.pipeline import PipelineLive, hashed
from ci_tags.services.pipeline import PIN_BASE_HELP, pinner
from ci_tags.services.pipeline.hashing import Hashed, content_tags

EXAMPLES = """\
  ci-tags hash                      # every image of ./ci-tags.yml, no registry needed
  ci-tags hash app tools --json
  ci-tags hash --config images/ci-tags.yml --pin-base
"""


@dataclass(frozen=True, kw_only=True)
class Options:
    config: str = flag("--config", default="ci-tags.yml", help=CONFIG_HELP)
    images: tuple[str, ...] = positional("IMAGE", nargs="*", help="images of ci-tags.yml (default: all)")
    pin_base: bool = flag("--pin-base", default=False, help=PIN_BASE_HELP)


RENDERERS = (Renderer(Hashed, hashed),)


def run(ctx: Context, opts: Options) -> Hashed:
    pin = pinner(lambda: ctx.registries) if opts.pin_base else None
    return content_tags(Path(opts.config), ctx.env, opts.images, pin=pin,
                        report=PipelineLive(ctx.out))
