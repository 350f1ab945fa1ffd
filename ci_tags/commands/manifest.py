"""``ci-tags manifest IMAGE``: assemble a multi-arch image's index from its per-arch images, by metadata alone,
under its content tag, and point this pipeline's tag at it."""

from __future__ import annotations

import argparse

from ci_tags.commands.options import add_config_option, add_pipeline_options, load, pipeline
from ci_tags.commands.plan import stamp_annotations
from ci_tags.context import Context
from ci_tags.core.reference import parse_reference
from ci_tags.errors import BadInput, NotFound
from ci_tags.oci.stamp import assemble, fetch, stamp
from ci_tags.project.imageset import resolve

# shown under "examples:" by --help
EXAMPLES = """\
  ci-tags manifest tools
  ci-tags manifest tools --pipeline-id 42 --json
"""


def register(p: argparse.ArgumentParser) -> None:
    add_config_option(p)
    add_pipeline_options(p)
    p.add_argument("image", metavar="IMAGE", help="a multi-arch image of ci-tags.yml")


def run(ctx: Context) -> int:
    config = load(ctx)
    pipe = pipeline(ctx, config)
    pipeline_id = pipe.require_id()
    image = {i.name: i for i in resolve(config, [ctx.args.image])}[ctx.args.image]
    if not image.spec.multi_arch:
        raise BadInput(f"{image.name} is built for one architecture only: it needs no manifest job")
    ref = parse_reference(image.repository)
    registry = ctx.registries.get(ref.api_host)
    index = fetch(registry, ref.repository, image.content_tag)
    if index is None:
        parts = []
        for a in image.arches:
            m = fetch(registry, ref.repository, a.content_tag)
            if m is None:
                raise NotFound(f"{image.repository}:{a.content_tag} is missing", hint=f"build {a.arch} first")
            parts.append((a.arch, m))
        index = assemble(registry, ref.repository, parts, image.content_tag)
    pipeline_tag = config.tags.pipeline_tag(pipeline_id)
    notes = stamp_annotations(pipeline_id, pipe.commit, image.content_tag, "pipeline")
    stamp(registry, ref.repository, index, pipeline_tag, notes)
    if ctx.out.json_mode:
        ctx.out.json({"image": image.name, "content_tag": image.content_tag, "digest": index.digest,
                      "pipeline_tag": pipeline_tag, "arches": [a.arch for a in image.arches]})
    else:
        ctx.out.line(f"{image.repository}:{image.content_tag} {index.digest} ({', '.join(image.spec.arches)})")
        ctx.out.line(f"{image.repository}:{pipeline_tag} -> {index.digest}")
    return 0
