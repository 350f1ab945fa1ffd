"""``ci-tags untag REF...``: remove tags and nothing else; ``--digest`` deletes whole manifests, explicitly."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from ci_tags.context import Context
from ci_tags.errors import BadInput
from ci_tags.flags import flag, positional
from ci_tags.output.text import Renderer
from ci_tags.output.text.registry import manifest_deletion, manifests_deleted, tag_removal, untagged
from ci_tags.services.names import SetNames
from ci_tags.services.untag import ManifestsDeleted, Untagged, delete_manifests, untag

EXAMPLES = """\
  ci-tags untag registry.example.com/app:pipeline-41 --dry-run
  ci-tags untag registry.example.com/app:old registry.example.com/app:older --missing-ok
  ci-tags untag registry.example.com/app@sha256:... --digest   # every tag on that manifest goes
"""


@dataclass(frozen=True, kw_only=True)
class Options:
    references: tuple[str, ...] = positional("REF", nargs="+", help="repo:tag to remove (or IMAGE:TAG of ci-tags.yml)")
    dry_run: bool = flag("--dry-run", default=False, help="print what would be removed, remove nothing")
    digest: bool = flag("--digest", default=False, help="delete the manifest itself (REF@digest or the digest "
                        "REF:tag points at): EVERY tag on it goes")
    missing_ok: bool = flag("--missing-ok", default=False, help="a tag that is already absent is not an error")
    no_referrers: bool = flag("--no-referrers", default=False,
                              help="with --digest: leave the manifest's signatures, attestations, SBOMs and referrers")


RENDERERS = (Renderer(Untagged, untagged), Renderer(ManifestsDeleted, manifests_deleted),)


def run(ctx: Context, opts: Options) -> Untagged | ManifestsDeleted:
    names = SetNames(ctx.env)
    refs = [names.reference(r) for r in opts.references]
    if opts.digest:
        return delete_manifests(ctx.registries, refs, dry_run=opts.dry_run, concurrency=ctx.concurrency,
                                report=partial(manifest_deletion, out=ctx.out), referrers=not opts.no_referrers)
    for ref in refs:
        if ref.tag is None or ref.digest:
            raise BadInput(f"{ref}: untag takes repo:tag; to delete a manifest by digest, add --digest")
    return untag(ctx.registries, refs, dry_run=opts.dry_run, missing_ok=opts.missing_ok,
                 concurrency=ctx.concurrency, report=partial(tag_removal, out=ctx.out))
