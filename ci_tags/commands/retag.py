"""``ci-tags retag SRC DST``: a metadata-only copy of an image to another tag, repository or registry."""

from __future__ import annotations

from dataclasses import dataclass

from ci_tags.commands.texts import NO_REFERRERS_HELP
from ci_tags.context import Context
from ci_tags.flags import flag, positional
from ci_tags.output.text import Renderer
from ci_tags.output.text.registry import retagged
from ci_tags.services.names import SetNames
from ci_tags.services.retag import Retagged, retag

EXAMPLES = """\
  ci-tags retag registry.example.com/app:hash-3f2a... v1.4.0       # a tag in the same repository
  ci-tags retag registry.example.com/app:v1.4 docker.io/acme/app:v1.4 --json
"""


@dataclass(frozen=True, kw_only=True)
class Options:
    source: str = positional("SRC", help="e.g. reg.example.com/app:hash-abc, or IMAGE:TAG of ci-tags.yml")
    destination: str = positional("DST", help="full reference, or just a tag in SRC's repository")
    no_referrers: bool = flag("--no-referrers", default=False, help=NO_REFERRERS_HELP)


RENDERERS = (Renderer(Retagged, retagged),)


def run(ctx: Context, opts: Options) -> Retagged:
    names = SetNames(ctx.env)
    src = names.reference(opts.source)
    dst = names.destination(opts.destination, src)
    ctx.aim(dst.api_host)  # --username/--password are for the registry written to; the source uses its own
    return retag(ctx.registries, src, dst, concurrency=ctx.concurrency, referrers=not opts.no_referrers)
