"""``ci-tags sync FILE``: revisioned tags by label (Kolla): a new ``<track>-<N+1>`` only when the source's label
changed; static release tags copied once and never overwritten."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ci_tags.commands.texts import NO_REFERRERS_HELP
from ci_tags.context import Context
from ci_tags.errors import BadInput
from ci_tags.flags import flag, positional
from ci_tags.output.text import Renderer
from ci_tags.output.text.release import sync_problems, synced
from ci_tags.project.release_files import load_sync_file
from ci_tags.services.release.sync import SyncReport, sync

EXAMPLES = """\
  ci-tags sync sync.yml --dry-run
  ci-tags sync sync.yml --output images.env --output-format env
"""


@dataclass(frozen=True, kw_only=True)
class Options:
    file: Path = positional("FILE", help="the sync file (source, destination, images, track, label, static)")
    dry_run: bool = flag("--dry-run", default=False, help="check everything and print what would be copied")
    output: Path | None = flag("--output", metavar="FILE",
                               help="write image -> destination reference, revision tag and digest")
    output_format: str = flag("--output-format", default="yaml", choices=("yaml", "json", "env"),
                              help="format of --output (default yaml; env: <IMAGE>_IMAGE=<reference> lines)")
    no_referrers: bool = flag("--no-referrers", default=False, help=NO_REFERRERS_HELP)


RENDERERS = (Renderer(SyncReport, synced, sync_problems),)


def run(ctx: Context, opts: Options) -> SyncReport:
    spec = load_sync_file(opts.file, ctx.env)
    if opts.output is not None and not opts.output.parent.is_dir():
        raise BadInput(f"--output {opts.output}: no folder {opts.output.parent}")
    ctx.aim(spec.destination.api_host)  # --username/--password are for the destination; the source uses its own
    return sync(ctx.registries, spec, dry_run=opts.dry_run, concurrency=ctx.concurrency, output=opts.output,
                output_format=opts.output_format, referrers=not opts.no_referrers)
