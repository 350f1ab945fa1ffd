"""``ci-tags prepare FILE --images LIST --output-env-file OUT``: TripleO's ContainerImagePrepare. Each image's tag
is discovered from its labels (config blob only), it is copied to the push destination by metadata, and OUT maps
each parameter to its final reference."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ci_tags.commands.texts import NO_REFERRERS_HELP
from ci_tags.context import Context
from ci_tags.core.reference import DOMAIN_RE
from ci_tags.errors import BadInput
from ci_tags.flags import flag, positional
from ci_tags.output.text import Renderer
from ci_tags.output.text.release import prepare_problems, prepared
from ci_tags.project.release_files import load_image_list, load_prepare_file
from ci_tags.services.release.prepare import PrepareReport, prepare

EXAMPLES = """\
  ci-tags prepare containers-prepare-parameter.yaml --images images.yml --output-env-file out.yaml --dry-run
  ci-tags prepare prepare.yaml --images images.yml --output-env-file out.yaml --local-push-destination 192.168.24.1:8787
"""


@dataclass(frozen=True, kw_only=True)
class Options:
    file: Path = positional("FILE", help="environment file with parameter_defaults.ContainerImagePrepare")
    images: Path = flag("--images", metavar="LIST", required=True,
                        help="YAML list of {image: NAME, params: [PARAMETER...]}")
    output_env_file: Path = flag("--output-env-file", metavar="OUT", required=True, help="environment file to write")
    local_push_destination: str | None = flag(
        "--local-push-destination", metavar="HOST:PORT",
        help="the registry that push_destination: true means (e.g. the undercloud's 192.168.24.1:8787)")
    dry_run: bool = flag("--dry-run", default=False, help="check everything and print what would be copied")
    no_referrers: bool = flag("--no-referrers", default=False, help=NO_REFERRERS_HELP)


RENDERERS = (Renderer(PrepareReport, prepared, prepare_problems),)


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
                   output=out, referrers=not opts.no_referrers)
