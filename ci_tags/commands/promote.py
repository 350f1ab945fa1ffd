"""``ci-tags promote FILE``: a reviewed file says which build becomes which release tag; the whole file is
checked before anything is written, and a tag on another image is a conflict, never overwritten."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ci_tags.commands.texts import NO_REFERRERS_HELP
from ci_tags.context import Context
from ci_tags.flags import flag, positional
from ci_tags.output.text import Renderer
from ci_tags.output.text.release import promoted, promotion_problems
from ci_tags.project.release_files import load_promotion_file
from ci_tags.project.yamlfile import MalformedFile
from ci_tags.services.release.promote import MalformedPromotion, PromotionReport, promote

EXAMPLES = """\
  ci-tags promote releases.yml --dry-run
  ci-tags promote releases.yml --json
"""


@dataclass(frozen=True, kw_only=True)
class Options:
    file: Path = positional("FILE", help="the promotion file (images: name, src_build_tag, tag[, src_ref])")
    dry_run: bool = flag("--dry-run", default=False, help="check everything and print what would be copied")
    no_referrers: bool = flag("--no-referrers", default=False, help=NO_REFERRERS_HELP)


RENDERERS = (Renderer(PromotionReport, promoted, promotion_problems), Renderer(MalformedPromotion),)


def run(ctx: Context, opts: Options) -> PromotionReport | MalformedPromotion:
    try:
        entries = load_promotion_file(opts.file)
    except MalformedFile as exc:
        return MalformedPromotion(opts.file, opts.dry_run, exc)
    for entry in entries:  # --username/--password are for the registries written to; sources use their own
        ctx.aim(entry.target.api_host)
    return promote(ctx.registries, opts.file, entries, dry_run=opts.dry_run, concurrency=ctx.concurrency,
                   referrers=not opts.no_referrers)
