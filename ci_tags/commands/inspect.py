"""``ci-tags inspect REF``: digest, media type, size, platforms, created time and labels of an image."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from ci_tags.context import Context
from ci_tags.services.inspect import Inspected, inspect_image
from ci_tags.services.names import SetNames

# shown under "examples:" by --help
EXAMPLES = """\
  ci-tags inspect registry.example.com/group/app:latest
  ci-tags inspect docker.io/library/alpine:3.20 --json
"""


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("reference", metavar="REF", help="image reference, or IMAGE[:TAG] of ci-tags.yml")


@dataclass(frozen=True)
class Options:
    reference: str

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Options:
        return cls(reference=args.reference)


def run(ctx: Context, opts: Options) -> Inspected:
    return inspect_image(ctx.registries, SetNames(ctx.env).reference(opts.reference), concurrency=ctx.concurrency)
