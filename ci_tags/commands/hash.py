"""``ci-tags hash [IMAGE...]``: each image's content tag (per arch for multi-arch images)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ci_tags.commands.options import add_config_option
from ci_tags.context import Context
from ci_tags.project.imageset import resolve

# shown under "examples:" by --help
EXAMPLES = """\
  ci-tags hash                      # every image of ./ci-tags.yml, no registry needed
  ci-tags hash app tools --json
  ci-tags hash --config images/ci-tags.yml --pin-base
"""


def register(p: argparse.ArgumentParser) -> None:
    add_config_option(p)
    p.add_argument("images", metavar="IMAGE", nargs="*", help="images of ci-tags.yml (default: all)")
    p.add_argument("--pin-base", action="store_true", help="hash external FROM images by their current digest")


def pinner(ctx: Context) -> Any:
    """``--pin-base``: an external reference -> the digest its registry serves now."""
    from ci_tags.core.reference import parse_reference
    from ci_tags.errors import NotFound

    cache: dict[str, str] = {}

    def pin(text: str) -> str:
        if text not in cache:
            ref = parse_reference(text)
            digest = ref.digest or ctx.registries.get(ref.api_host).head_manifest(ref.repository, ref.identifier)
            if digest is None:
                raise NotFound(f"base image {text} not found")
            cache[text] = digest
        return cache[text]

    return pin


# Stands in for CI_REGISTRY_IMAGE outside CI: a content tag hashes files, not where the image is pushed.
LOCAL_REGISTRY = "localhost/ci-tags"


def run(ctx: Context) -> int:
    from ci_tags.project.config import load_config

    env = ctx.env
    if "CI_REGISTRY_IMAGE" not in env:
        env = {**env, "CI_REGISTRY_IMAGE": LOCAL_REGISTRY}
    config = load_config(Path(ctx.args.config), env)
    if "CI_REGISTRY_IMAGE" not in ctx.env and config.registry == LOCAL_REGISTRY:
        ctx.out.info(f"CI_REGISTRY_IMAGE is not set: repositories are shown under {LOCAL_REGISTRY} "
                     "(content tags do not depend on the registry)")
    images = resolve(config, ctx.args.images or None, pinner(ctx) if ctx.args.pin_base else None)
    if ctx.args.images:
        images = [i for i in images if i.name in ctx.args.images]
    for image in images:
        for warning in image.warnings:
            ctx.out.warn(warning)
    if ctx.out.json_mode:
        ctx.out.json({
            "images": [
                {
                    "image": i.name,
                    "repository": i.repository,
                    "content_tag": i.content_tag,
                    "arches": [{"arch": a.arch, "hash": a.hash, "content_tag": a.content_tag} for a in i.arches],
                }
                for i in images
            ]
        })
        return 0
    for image in images:
        if image.spec.multi_arch:
            for a in image.arches:
                ctx.out.line(f"{image.name} {a.arch} {a.content_tag}")
        else:
            ctx.out.line(f"{image.name} {image.content_tag}")
    return 0
