"""``ci-tags untag REF...``: remove tags and nothing else; ``--digest`` deletes whole manifests, explicitly."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from functools import partial

from ci_tags.context import Context
from ci_tags.core.reference import parse_reference
from ci_tags.errors import BadInput
from ci_tags.output.text.registry import manifest_deletion, tag_removal
from ci_tags.services.untag import ManifestsDeleted, Untagged, delete_manifests, untag

# shown under "examples:" by --help
EXAMPLES = """\
  ci-tags untag registry.example.com/app:pipeline-41 --dry-run
  ci-tags untag registry.example.com/app:old registry.example.com/app:older --missing-ok
  ci-tags untag registry.example.com/app@sha256:... --digest   # every tag on that manifest goes
"""


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("references", metavar="REF", nargs="+", help="repo:tag to remove")
    p.add_argument("--dry-run", action="store_true", help="print what would be removed, remove nothing")
    p.add_argument(
        "--digest",
        action="store_true",
        help="delete the manifest itself (REF@digest or the digest REF:tag points at): EVERY tag on it goes",
    )
    p.add_argument("--missing-ok", action="store_true", help="a tag that is already absent is not an error")
    p.add_argument("--no-referrers", action="store_true",
                   help="with --digest: leave the manifest's signatures, attestations, SBOMs and referrers")


@dataclass(frozen=True)
class Options:
    references: tuple[str, ...]
    dry_run: bool = False
    digest: bool = False
    missing_ok: bool = False
    referrers: bool = True

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Options:
        return cls(references=tuple(args.references), dry_run=args.dry_run, digest=args.digest,
                   missing_ok=args.missing_ok, referrers=not args.no_referrers)


def run(ctx: Context, opts: Options) -> Untagged | ManifestsDeleted:
    refs = [parse_reference(r) for r in opts.references]
    if opts.digest:
        return delete_manifests(ctx.registries, refs, dry_run=opts.dry_run, concurrency=ctx.concurrency,
                                report=partial(manifest_deletion, out=ctx.out), referrers=opts.referrers)
    for ref in refs:
        if ref.tag is None or ref.digest:
            raise BadInput(f"{ref}: untag takes repo:tag; to delete a manifest by digest, add --digest")
    return untag(ctx.registries, refs, dry_run=opts.dry_run, missing_ok=opts.missing_ok,
                 concurrency=ctx.concurrency, report=partial(tag_removal, out=ctx.out))
