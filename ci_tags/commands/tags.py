"""``ci-tags tags REPO``: every tag of a repository, optionally with the digest each resolves to."""

from __future__ import annotations

import argparse

from ci_tags.context import Context
from ci_tags.core.reference import parse_reference
from ci_tags.errors import OperationFailed
from ci_tags.oci.resolve import resolve_tags

# shown under "examples:" by --help
EXAMPLES = """\
  ci-tags tags registry.example.com/group/app
  ci-tags tags registry.example.com/group/app --digests --json
  ci-tags --json tags localhost:5000/app
"""


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("repository", metavar="REPO", help="e.g. registry.example.com/group/image")
    p.add_argument("--digests", action="store_true", help="also resolve each tag to its manifest digest")


def run(ctx: Context) -> int:
    ref = parse_reference(ctx.args.repository)
    registry = ctx.registries.get(ref.api_host)
    tags = sorted(registry.tags(ref.repository))
    if not ctx.args.digests:
        if ctx.out.json_mode:
            # the same element shape as with --digests: a script need not know which was asked
            ctx.out.json({"repository": ref.name, "tags": [{"tag": t, "digest": None} for t in tags]})
        for tag in tags:
            ctx.out.line(tag)
        return 0
    digests, errors = resolve_tags(registry, ref.repository, tags, ctx.concurrency)
    if ctx.out.json_mode:
        ctx.out.json({"repository": ref.name, "tags": [{"tag": t, "digest": digests.get(t)} for t in tags]})
    else:
        for tag in tags:
            ctx.out.line(f"{tag}\t{digests.get(tag) or '-'}")
    if errors:
        for tag, err in errors.items():
            ctx.out.warn(f"{tag}: {err}")
        raise OperationFailed(f"{len(errors)} of {len(tags)} tags could not be resolved")
    return 0
