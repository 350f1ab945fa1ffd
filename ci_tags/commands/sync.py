"""``ci-tags sync FILE``: revisioned tags by label (Kolla): a new ``<track>-<N+1>`` only when the source's label
changed; static release tags copied once and never overwritten."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from ci_tags.commands.options import add_no_referrers
from ci_tags.context import Context
from ci_tags.errors import BadInput
from ci_tags.project.release_files import load_sync_file
from ci_tags.services.release.sync import SyncReport, sync

# shown under "examples:" by --help
EXAMPLES = """\
  ci-tags sync sync.yml --dry-run
  ci-tags sync sync.yml --output images.env --output-format env
"""


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="the sync file (source, destination, images, track, label, static)")
    p.add_argument("--dry-run", action="store_true", help="check everything and print what would be copied")
    p.add_argument("--output", metavar="FILE", help="write image -> destination reference, revision tag and digest")
    p.add_argument("--output-format", choices=["yaml", "json", "env"], default="yaml",
                   help="format of --output (default yaml; env: <IMAGE>_IMAGE=<reference> lines)")
    add_no_referrers(p)


@dataclass(frozen=True)
class Options:
    file: Path
    dry_run: bool = False
    output: Path | None = None
    output_format: str = "yaml"
    referrers: bool = True

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Options:
        return cls(file=Path(args.file), dry_run=args.dry_run, output=Path(args.output) if args.output else None,
                   output_format=args.output_format, referrers=not args.no_referrers)


def run(ctx: Context, opts: Options) -> SyncReport:
    spec = load_sync_file(opts.file, ctx.env)
    if opts.output is not None and not opts.output.parent.is_dir():
        raise BadInput(f"--output {opts.output}: no folder {opts.output.parent}")
    ctx.aim(spec.destination.api_host)  # --username/--password are for the destination; the source uses its own
    return sync(ctx.registries, spec, dry_run=opts.dry_run, concurrency=ctx.concurrency, output=opts.output,
                output_format=opts.output_format, referrers=opts.referrers)
