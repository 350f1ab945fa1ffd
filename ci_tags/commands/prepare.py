"""``ci-tags prepare FILE --images LIST --output-env-file OUT``: TripleO's ContainerImagePrepare. Each image's tag
is discovered from its labels (config blob only), it is copied to the push destination by metadata, and OUT maps
each parameter to its final reference."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from ci_tags.commands.options import add_no_referrers
from ci_tags.context import Context
from ci_tags.core.reference import DOMAIN_RE
from ci_tags.errors import BadInput
from ci_tags.project.release_files import load_image_list, load_prepare_file
from ci_tags.services.release.prepare import PrepareReport, prepare

# shown under "examples:" by --help
EXAMPLES = """\
  ci-tags prepare containers-prepare-parameter.yaml --images images.yml --output-env-file out.yaml --dry-run
  ci-tags prepare prepare.yaml --images images.yml --output-env-file out.yaml --local-push-destination 192.168.24.1:8787
"""


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="environment file with parameter_defaults.ContainerImagePrepare")
    p.add_argument("--images", metavar="LIST", required=True,
                   help="YAML list of {image: NAME, params: [PARAMETER...]}")
    p.add_argument("--output-env-file", metavar="OUT", required=True, help="environment file to write")
    p.add_argument("--local-push-destination", metavar="HOST:PORT",
                   help="the registry that push_destination: true means (e.g. the undercloud's 192.168.24.1:8787)")
    p.add_argument("--dry-run", action="store_true", help="check everything and print what would be copied")
    add_no_referrers(p)


@dataclass(frozen=True)
class Options:
    file: Path
    images: Path
    output_env_file: Path
    local_push_destination: str | None = None
    dry_run: bool = False
    referrers: bool = True

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Options:
        return cls(file=Path(args.file), images=Path(args.images), output_env_file=Path(args.output_env_file),
                   local_push_destination=args.local_push_destination, dry_run=args.dry_run,
                   referrers=not args.no_referrers)


def run(ctx: Context, opts: Options) -> PrepareReport:
    local, out = opts.local_push_destination, opts.output_env_file
    if local is not None and not DOMAIN_RE.fullmatch(local):
        raise BadInput(f"--local-push-destination {local!r} is not HOST[:PORT]")
    if not out.parent.is_dir():
        raise BadInput(f"--output-env-file {out}: no folder {out.parent}")
    file = load_prepare_file(opts.file)  # a malformed entry: MalformedFile, whose problems the error lists
    requests = load_image_list(opts.images)
    if local is None:
        needing = [e for e in file.entries if e.push_destination is True]
        if needing:
            raise BadInput(f"{file.path}:{needing[0].line}: ContainerImagePrepare[{needing[0].index}]: "
                           "push_destination: true needs --local-push-destination HOST:PORT")
    else:
        ctx.aim(local)  # --username/--password are for the push destination; sources use their own
    return prepare(ctx.registries, file, requests, local=local, dry_run=opts.dry_run, concurrency=ctx.concurrency,
                   output=out, referrers=opts.referrers)
