"""``ci-tags retag SRC DST``: a metadata-only copy of an image to another tag, repository or registry."""

from __future__ import annotations

import argparse

from ci_tags.context import Context
from ci_tags.core.reference import parse_destination, parse_reference
from ci_tags.oci.copy import copy_image

# shown under "examples:" by --help
EXAMPLES = """\
  ci-tags retag registry.example.com/app:hash-3f2a... v1.4.0       # a tag in the same repository
  ci-tags retag registry.example.com/app:v1.4 docker.io/acme/app:v1.4 --json
"""


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="SRC", help="image reference, e.g. reg.example.com/app:hash-abc")
    p.add_argument("destination", metavar="DST", help="full reference, or just a tag in SRC's repository")


def run(ctx: Context) -> int:
    src = parse_reference(ctx.args.source)
    dst = parse_destination(ctx.args.destination, src)
    ctx.aim(dst.api_host)  # --username/--password are for the registry written to; the source uses its own
    result = copy_image(ctx.registries, src, dst, concurrency=ctx.concurrency)
    if ctx.out.json_mode:
        ctx.out.json(
            {
                "source": str(src),
                "destination": str(dst),
                "digest": result.digest,
                "media_type": result.media_type,
                "mode": result.mode,
                "blobs": {
                    "mounted": result.blobs_mounted,
                    "streamed": result.blobs_streamed,
                    "present": result.blobs_present,
                },
                "bytes_streamed": result.bytes_streamed,
            }
        )
    else:
        ctx.out.line(f"{src} -> {dst} {result.digest}")
        if result.mode != "same-repository":
            ctx.out.info(
                f"blobs: {result.blobs_mounted} mounted, {result.blobs_present} already present, "
                f"{result.blobs_streamed} streamed ({result.bytes_streamed} bytes)"
            )
    return 0
