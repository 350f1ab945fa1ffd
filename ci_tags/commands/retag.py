"""``ci-tags retag SRC DST``: a metadata-only copy of an image to another tag, repository or registry."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from ci_tags.commands.options import add_no_referrers
from ci_tags.context import Context
from ci_tags.core.reference import parse_destination, parse_reference
from ci_tags.services.retag import Retagged, retag

# shown under "examples:" by --help
EXAMPLES = """\
  ci-tags retag registry.example.com/app:hash-3f2a... v1.4.0       # a tag in the same repository
  ci-tags retag registry.example.com/app:v1.4 docker.io/acme/app:v1.4 --json
"""


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="SRC", help="image reference, e.g. reg.example.com/app:hash-abc")
    p.add_argument("destination", metavar="DST", help="full reference, or just a tag in SRC's repository")
    add_no_referrers(p)


@dataclass(frozen=True)
class Options:
    source: str
    destination: str
    referrers: bool = True

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Options:
        return cls(source=args.source, destination=args.destination, referrers=not args.no_referrers)


def run(ctx: Context, opts: Options) -> Retagged:
    src = parse_reference(opts.source)
    dst = parse_destination(opts.destination, src)
    ctx.aim(dst.api_host)  # --username/--password are for the registry written to; the source uses its own
    return retag(ctx.registries, src, dst, concurrency=ctx.concurrency, referrers=opts.referrers)
