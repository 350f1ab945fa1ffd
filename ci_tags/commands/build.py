"""``ci-tags build IMAGE --arch ARCH``: build one image for one architecture, on exactly the parent images it
was hashed with, push its content tag, then (single-arch images) its pipeline tag."""

from __future__ import annotations

import argparse
import logging
import shlex
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from ci_tags.builders import BuildRequest, find_builder
from ci_tags.builders.access import registry_access
from ci_tags.commands.hash import pinner
from ci_tags.commands.options import add_config_option, add_pipeline_options, load, pipeline
from ci_tags.commands.plan import stamp_annotations
from ci_tags.context import Context
from ci_tags.core.dockerfile import rewrite_bases
from ci_tags.core.manifest import ANNOTATION_CREATED, ANNOTATION_REVISION, ANNOTATION_SOURCE, LABEL_CONTENT_HASH
from ci_tags.core.reference import parse_reference
from ci_tags.core.times import now_rfc3339
from ci_tags.errors import BadInput, NotFound, OperationFailed
from ci_tags.oci.auth import scope
from ci_tags.oci.stamp import fetch, stamp
from ci_tags.project.imageset import resolve

log = logging.getLogger("ci_tags.build")


# shown under "examples:" by --help
EXAMPLES = """\
  ci-tags build app                           # the image's first arch, on buildah/podman/docker
  ci-tags build tools --arch arm64 --builder podman --json
  ci-tags build app --keep-image              # leave the built image in local container storage
"""


def register(p: argparse.ArgumentParser) -> None:
    add_config_option(p)
    add_pipeline_options(p)
    p.add_argument("image", metavar="IMAGE", help="an image of ci-tags.yml")
    p.add_argument("--arch", help="the architecture to build (default: the image's first)")
    p.add_argument("--builder", choices=["buildah", "podman", "docker"], help="default: first found on PATH")
    p.add_argument("--pin-base", action="store_true", help="hash external FROM images by their current digest")
    p.add_argument("--force", action="store_true", help="build even if the content tag exists")
    p.add_argument("--builder-args", metavar="ARGS", default="",
                   help="extra options of the builder's build command, e.g. '--network host --secret id=x,src=f'")
    p.add_argument("--keep-image", action="store_true",
                   help="keep the built image in local container storage (default: removed once pushed)")


def _check_emulation(dockerfile: Path, build_args: Mapping[str, str], arch: str) -> None:
    """Refuse, before building, RUN steps for an architecture this machine cannot execute."""
    from ci_tags.builders.emulation import can_run, host_arch
    from ci_tags.core.dockerfile import parse_dockerfile

    runs = parse_dockerfile(dockerfile.read_bytes().decode("utf-8"), build_args, str(dockerfile), arch=arch).runs
    if runs and not can_run(arch):
        raise OperationFailed(
            f"{dockerfile}:{runs[0]}: RUN steps for {arch} cannot execute on this {host_arch()} machine",
            hint=f"run this build on a {arch} runner (runners: in ci-tags.yml), or register qemu for {arch} "
            "(e.g. apt-get install qemu-user-static binfmt-support)",
        )


def _api_host(registry: str) -> str:
    return parse_reference(f"{registry}/x").api_host


def _hosts_of_build(
    set_registry: str, dockerfile: Path, build_args: Mapping[str, str], parents: set[str]
) -> list[str]:
    """The registries a build touches: the set's (push, and pull of set parents), then those of external FROMs."""
    from ci_tags.project.hashing import external_images

    hosts = [set_registry]
    for written in external_images(dockerfile, build_args):
        if written not in parents:
            host = parse_reference(written).registry
            if host not in hosts:
                hosts.append(host)
    return hosts


def run(ctx: Context) -> int:
    try:
        builder_args = shlex.split(ctx.args.builder_args)
    except ValueError as exc:
        raise BadInput(f"--builder-args: {exc}") from None
    config = load(ctx)
    pipe = pipeline(ctx, config)
    pipeline_id = pipe.require_id()
    resolved = {i.name: i for i in resolve(config, [ctx.args.image], pinner(ctx) if ctx.args.pin_base else None)}
    image = resolved[ctx.args.image]
    arch = image.arch(ctx.args.arch or image.spec.arches[0])
    ref = parse_reference(image.repository)
    registry = ctx.registries.get(ref.api_host)
    target = f"{image.repository}:{arch.content_tag}"

    pushed = None if ctx.args.force else fetch(registry, ref.repository, arch.content_tag)
    action, removed_local = ("reuse" if pushed is not None else "build"), False
    if pushed is not None:
        ctx.out.info(f"{target} exists already: not building it again")
        digest = pushed.digest
    else:
        replacements = {}
        for base_ref, parent in image.bases.items():
            parent_image = resolved[parent]
            parent_ref = parse_reference(parent_image.repository)
            parent_tag = parent_image.arch(arch.arch).content_tag
            parent_digest = ctx.registries.get(parent_ref.api_host).head_manifest(parent_ref.repository, parent_tag)
            if parent_digest is None:
                raise NotFound(
                    f"parent image {parent_image.repository}:{parent_tag} of {image.name} is not in the registry",
                    hint=f"build {parent} for {arch.arch} first",
                )
            replacements[base_ref] = f"{parent_image.repository}@{parent_digest}"
        labels = {
            ANNOTATION_CREATED: now_rfc3339(),
            LABEL_CONTENT_HASH: arch.hash,
        }
        if pipe.commit:
            labels[ANNOTATION_REVISION] = pipe.commit
        if pipe.source_url:
            labels[ANNOTATION_SOURCE] = pipe.source_url
        _check_emulation(image.spec.dockerfile, image.spec.build_args, arch.arch)
        builder = find_builder(ctx.args.builder, ctx.env, log=ctx.out.log)
        if image.spec.manifesto and not builder.runs_manifesto:
            raise BadInput(f"{image.name}: manifesto needs the buildah builder, not {builder.name}")
        hosts = _hosts_of_build(ref.registry, image.spec.dockerfile, image.spec.build_args, set(image.bases))
        credentials = {h: c for h in hosts if (c := ctx.registries.credentials(h)) is not None}
        plain_http = registry.speaks_plain_http() or any(
            ctx.registries.get(_api_host(h)).speaks_plain_http() for h in hosts[1:] if ctx.registries.plain_http(h)
        )
        with tempfile.TemporaryDirectory(prefix="ci-tags-build-") as tmp, registry_access(
            builder.name, ctx.env, credentials, ctx.registries.http.trust, hosts
        ) as access:
            builder.env.update(access.env)
            log.debug("the builder's registries: %s", ", ".join(f"{h} ({credentials.get(h) or 'anonymous'})"
                                                                for h in hosts))
            dockerfile = image.spec.dockerfile
            if replacements:
                text = dockerfile.read_bytes().decode("utf-8")  # hashing has refused a non-UTF-8 one already
                dockerfile = Path(tmp) / dockerfile.name
                rewritten = rewrite_bases(text, replacements, image.spec.build_args, arch=arch.arch)
                dockerfile.write_bytes(rewritten.encode("utf-8"))
                ignore = image.spec.dockerfile.with_name(image.spec.dockerfile.name + ".dockerignore")
                if ignore.is_file():
                    shutil.copy(ignore, dockerfile.with_name(dockerfile.name + ".dockerignore"))
            ctx.out.info(f"building {target} with {builder.name}")
            digest = builder.build_and_push(
                BuildRequest(
                    context=image.spec.context,
                    dockerfile=dockerfile,
                    reference=target,
                    arch=arch.arch,
                    build_args=image.spec.build_args,
                    target=image.spec.target,
                    labels=labels,
                    plain_http=plain_http,
                    cert_dir=access.cert_dir,
                    manifesto=image.spec.manifesto,
                    extra_args=tuple(builder_args),
                    cache=config.cache_repository(image.name),
                )
            )
            if not ctx.args.keep_image:  # in the builder's own environment, while it is set up
                removed_local = builder.remove_local(target)
        # What this build pushed, by digest: a concurrent pipeline may have moved the content tag meanwhile.
        pushed = registry.get_manifest(ref.repository, digest, [scope(ref.repository, "pull", "push")])
    result = {"image": image.name, "arch": arch.arch, "content_tag": arch.content_tag, "digest": digest,
              "action": action, "local_image_removed": removed_local}
    if not image.spec.multi_arch:
        pipeline_tag = config.tags.pipeline_tag(pipeline_id)
        notes = stamp_annotations(pipeline_id, pipe.commit, image.content_tag, "pipeline")
        stamp(registry, ref.repository, pushed, pipeline_tag, notes, arch.arch)
        result["pipeline_tag"] = pipeline_tag
    if ctx.out.json_mode:
        ctx.out.json(result)
    else:
        ctx.out.line(f"{target} {digest}")
        if "pipeline_tag" in result:
            ctx.out.line(f"{image.repository}:{result['pipeline_tag']} -> {digest}")
    return 0
