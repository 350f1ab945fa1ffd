"""``ci-tags tags REPO``: every tag of a repository, optionally with the digest each resolves to."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from ci_tags.context import Context
from ci_tags.services.names import SetNames
from ci_tags.services.tags import TagList, list_tags

# shown under "examples:" by --help
EXAMPLES = """\
  ci-tags tags registry.example.com/group/app
  ci-tags tags debian10                      # an image of ./ci-tags.yml
  ci-tags tags registry.example.com/group/app --digests --json
  ci-tags --json tags localhost:5000/app
"""


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("repository", metavar="REPO", help="e.g. reg.example.com/group/image, or an image of ci-tags.yml")
    p.add_argument("--digests", action="store_true", help="also resolve each tag to its manifest digest")


@dataclass(frozen=True)
class Options:
    repository: str
    digests: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Options:
        return cls(repository=args.repository, digests=args.digests)


def run(ctx: Context, opts: Options) -> TagList:
    return list_tags(ctx.registries, SetNames(ctx.env).reference(opts.repository), digests=opts.digests,
                     concurrency=ctx.concurrency)
