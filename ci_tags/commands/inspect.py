"""``ci-tags inspect REF``: digest, media type, size, platforms, created time and labels of an image."""

from __future__ import annotations

import argparse
from typing import Any

from ci_tags.concurrency import run_all
from ci_tags.context import Context
from ci_tags.core.manifest import Descriptor, platform_name
from ci_tags.core.reference import parse_reference
from ci_tags.oci.image import read_config

# shown under "examples:" by --help
EXAMPLES = """\
  ci-tags inspect registry.example.com/group/app:latest
  ci-tags inspect docker.io/library/alpine:3.20 --json
"""


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("reference", metavar="REF")


def run(ctx: Context) -> int:
    ref = parse_reference(ctx.args.reference)
    registry = ctx.registries.get(ref.api_host)
    manifest = registry.get_manifest(ref.repository, ref.identifier)

    def describe_image(digest: str | None) -> dict[str, Any]:
        m = manifest if digest is None else registry.get_manifest(ref.repository, digest)
        cfg = read_config(registry, ref.repository, m)
        return {
            "digest": m.digest,
            "media_type": m.media_type,
            "size": m.size + sum(b.size for b in m.blobs),
            "layers": len(m.blobs) - (1 if m.config else 0),
            "created": cfg.created,
            "labels": cfg.labels,
            "platform": "/".join(p for p in (cfg.os, cfg.architecture, cfg.variant) if p) or None,
        }

    info: dict[str, Any] = {"reference": str(ref), "digest": manifest.digest, "media_type": manifest.media_type}
    if manifest.is_index:
        children = manifest.children

        def child(desc: Descriptor) -> dict[str, Any]:
            return {"platform": platform_name(desc.platform), **describe_image(desc.digest)}

        described = run_all(child, children, ctx.concurrency)
        for _, _, err in described:
            if err:
                raise err
        info["size"] = manifest.size + sum(c.size for c in children)
        info["platforms"] = [r for _, r, _ in described if r]
        info["created"] = max((p["created"] for p in info["platforms"] if p["created"]), default=None)
    else:
        info.update(describe_image(None))

    if ctx.out.json_mode:
        ctx.out.json(info)
        return 0
    out = ctx.out
    out.line(f"reference:  {info['reference']}")
    out.line(f"digest:     {info['digest']}")
    out.line(f"media type: {info['media_type']}")
    out.line(f"size:       {info['size']} bytes")
    out.line(f"created:    {info.get('created') or '-'}")
    if manifest.is_index:
        out.table(
            "platforms",
            ["platform", "digest", "size", "created"],
            [[p["platform"], p["digest"], p["size"], p["created"] or "-"] for p in info["platforms"]],
        )
    else:
        out.line(f"platform:   {info.get('platform') or '-'}")
        out.line(f"layers:     {info['layers']}")
        for key, value in sorted(info["labels"].items()):
            out.line(f"label:      {key}={value}")
    return 0
