"""``ci-tags promote FILE``: a reviewed file says which build becomes which release tag; the whole file is
checked before anything is written, and a tag on another image is a conflict, never overwritten."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from ci_tags.commands.options import add_no_referrers
from ci_tags.context import Context
from ci_tags.project.release_files import load_promotion_file
from ci_tags.project.yamlfile import MalformedFile
from ci_tags.services.release.promote import MalformedPromotion, PromotionReport, promote

# shown under "examples:" by --help
EXAMPLES = """\
  ci-tags promote releases.yml --dry-run
  ci-tags promote releases.yml --json
"""


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="the promotion file (images: name, src_build_tag, src_ref, tag)")
    p.add_argument("--dry-run", action="store_true", help="check everything and print what would be copied")
    add_no_referrers(p)


@dataclass(frozen=True)
class Options:
    file: Path
    dry_run: bool = False
    referrers: bool = True

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Options:
        return cls(file=Path(args.file), dry_run=args.dry_run, referrers=not args.no_referrers)


def run(ctx: Context, opts: Options) -> PromotionReport | MalformedPromotion:
    try:
        entries = load_promotion_file(opts.file)
    except MalformedFile as exc:
        return MalformedPromotion(opts.file, opts.dry_run, exc)
    for entry in entries:  # --username/--password are for the registries written to; sources use their own
        ctx.aim(entry.target.api_host)
    return promote(ctx.registries, opts.file, entries, dry_run=opts.dry_run, concurrency=ctx.concurrency,
                   referrers=opts.referrers)
