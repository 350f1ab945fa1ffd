"""``ci-tags hash [IMAGE...]``: each image's content tag (per arch for multi-arch images)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from ci_tags.commands.options import add_config_option
from ci_tags.context import Context
from ci_tags.services.pipeline import Report, pinner
from ci_tags.services.pipeline.hashing import Hashed, content_tags

# shown under "examples:" by --help
EXAMPLES = """\
  ci-tags hash                      # every image of ./ci-tags.yml, no registry needed
  ci-tags hash app tools --json
  ci-tags hash --config images/ci-tags.yml --pin-base
"""


def register(p: argparse.ArgumentParser) -> None:
    add_config_option(p)
    p.add_argument("images", metavar="IMAGE", nargs="*", help="images of ci-tags.yml (default: all)")
    p.add_argument("--pin-base", action="store_true", help="hash external FROM images by their current digest")


@dataclass(frozen=True)
class Options:
    config: str
    images: tuple[str, ...] = ()  # none: all
    pin_base: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Options:
        return cls(config=args.config, images=tuple(args.images), pin_base=args.pin_base)


def run(ctx: Context, opts: Options) -> Hashed:
    pin = pinner(lambda: ctx.registries) if opts.pin_base else None
    return content_tags(Path(opts.config), ctx.env, opts.images, pin=pin,
                        report=Report(warn=ctx.out.warn, info=ctx.out.info))
