"""``build``: one image for one architecture, built on exactly the parent images it was hashed with; its content
tag pushed, then (single-arch images) its pipeline tag."""

from __future__ import annotations

import logging
import shlex
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ci_tags.core.build_jobs import BUILDERS
from ci_tags.core.dockerfile import declare_platform_args, decode_dockerfile, encode_dockerfile, rewrite_bases
from ci_tags.core.manifest import ANNOTATION_CREATED, ANNOTATION_REVISION, ANNOTATION_SOURCE, LABEL_CONTENT_HASH
from ci_tags.core.reference import local_build_name, parse_reference
from ci_tags.core.times import now_rfc3339
from ci_tags.errors import BadInput, CiTagsError, NotFound, OperationFailed
from ci_tags.flags import flag, positional
from ci_tags.oci.auth import scope
from ci_tags.oci.stamp import fetch, stamp
from ci_tags.project.imageset import ArchImage, ResolvedImage, resolve
from ci_tags.services.pipeline import PIN_BASE_HELP, Pin, Report, stamp_annotations
from ci_tags.services.pipeline.expiry import Expiry

if TYPE_CHECKING:
    from ci_tags.builders.base import Builder
    from ci_tags.ci.environment import Pipeline
    from ci_tags.oci.registries import Registries
    from ci_tags.project.config import Config

log = logging.getLogger("ci_tags.build")


@dataclass(frozen=True, kw_only=True)
class BuildOptions:
    """What to build and how: ``ci-tags build``'s own flags."""

    image: str = positional("IMAGE", help="an image of ci-tags.yml")
    arch: str | None = flag("--arch", help="the architecture to build (default: the image's first)")
    builder: str | None = flag("--builder", choices=BUILDERS, help="default: first found on PATH")
    pin_base: bool = flag("--pin-base", default=False, help=PIN_BASE_HELP)  # the caller's pin: see build_image
    force: bool = flag("--force", default=False, help="build even if the content tag exists")
    # as written: split by builder_argv (a bad one is bad input, not a usage error)
    builder_args: str = flag("--builder-args", default="", metavar="ARGS", help="extra options of the builder's "
                             "build command, e.g. '--network host --secret id=x,src=f'")
    keep_image: bool = flag("--keep-image", default=False,
                            help="keep the built image in local container storage (default: removed once pushed)")

    def builder_argv(self) -> tuple[str, ...]:
        """The user's own options of the builder's build command."""
        try:
            return tuple(shlex.split(self.builder_args))
        except ValueError as exc:
            raise BadInput(f"--builder-args: {exc}") from None


@dataclass(frozen=True)
class Built:
    image: str
    repository: str
    arch: str
    content_tag: str
    digest: str
    action: Literal["reuse", "build"]  # reuse: the content tag was there
    local_image_removed: bool
    pipeline_tag: str | None  # None for an arch of a multi-arch image: its manifest job tags the index
    failure: CiTagsError | None = None

    @property
    def target(self) -> str:
        return f"{self.repository}:{self.content_tag}"

    def document(self) -> Mapping[str, Any]:
        doc: dict[str, Any] = {"image": self.image, "arch": self.arch, "content_tag": self.content_tag,
                               "digest": self.digest, "action": self.action,
                               "local_image_removed": self.local_image_removed}
        if self.pipeline_tag is not None:
            doc["pipeline_tag"] = self.pipeline_tag
        return doc


def build_image(registries: Registries, config: Config, pipe: Pipeline, opts: BuildOptions, *, pipeline_id: str,
                env: Mapping[str, str], pin: Pin | None, report: Report) -> Built:
    """Build and push ``opts.image`` for its arch unless its content tag is there, then tag it for this pipeline."""
    resolved = {i.name: i for i in resolve(config, [opts.image], pin)}
    image = resolved[opts.image]
    arch = image.arch(opts.arch or image.spec.arches[0])
    ref = parse_reference(image.repository)
    registry = registries.get(ref.api_host)
    target = f"{image.repository}:{arch.content_tag}"
    pushed = None if opts.force else fetch(registry, ref.repository, arch.content_tag)
    action: Literal["reuse", "build"] = "reuse"
    removed_local = False
    if pushed is not None:
        report.exists(target)
        digest = pushed.digest
    else:
        action = "build"
        parents = parent_digests(registries, resolved, image, arch.arch)
        build = _Build(registries, config, image, arch, opts, env, report, pipeline_id)
        digest, removed_local = build.run(parents, labels(arch, pipe))
        # What this build pushed, by digest: a concurrent pipeline may have moved the content tag meanwhile.
        pushed = registry.get_manifest(ref.repository, digest, [scope(ref.repository, "pull", "push")])
    pipeline_tag = None
    if not image.spec.multi_arch:
        pipeline_tag = config.tags.pipeline_tag(pipeline_id)
        notes = stamp_annotations(pipeline_id, pipe.commit, image.content_tag, "pipeline")
        stamp(registry, ref.repository, pushed, pipeline_tag, notes, arch.arch)
        Expiry(registries, config)(image.repository, pipeline_tag)
    return Built(image.name, image.repository, arch.arch, arch.content_tag, digest, action, removed_local,
                 pipeline_tag)


def parent_digests(registries: Registries, resolved: Mapping[str, ResolvedImage], image: ResolvedImage,
                   arch: str) -> dict[str, str]:
    """Each FROM of a parent in the set, as written -> that parent's pushed build for ``arch``, by digest."""
    replacements = {}
    for base_ref, parent in image.bases.items():
        parent_image = resolved[parent]
        parent_ref = parse_reference(parent_image.repository)
        parent_tag = parent_image.arch(arch).content_tag
        parent_digest = registries.get(parent_ref.api_host).head_manifest(parent_ref.repository, parent_tag)
        if parent_digest is None:
            raise NotFound(
                f"parent image {parent_image.repository}:{parent_tag} of {image.name} is not in the registry",
                hint=f"build {parent} for {arch} first",
            )
        replacements[base_ref] = f"{parent_image.repository}@{parent_digest}"
    return replacements


def labels(arch: ArchImage, pipe: Pipeline) -> dict[str, str]:
    """The image's labels: when, from which content hash, commit and source."""
    found = {ANNOTATION_CREATED: now_rfc3339(), LABEL_CONTENT_HASH: arch.hash}
    if pipe.commit:
        found[ANNOTATION_REVISION] = pipe.commit
    if pipe.source_url:
        found[ANNOTATION_SOURCE] = pipe.source_url
    return found


def check_emulation(dockerfile: Path, build_args: Mapping[str, str], arch: str) -> None:
    """Refuse, before building, RUN steps for an architecture this machine cannot execute."""
    from ci_tags.builders.emulation import can_run, host_arch
    from ci_tags.core.dockerfile import decode_dockerfile, parse_dockerfile

    runs = parse_dockerfile(decode_dockerfile(dockerfile.read_bytes()), build_args, str(dockerfile), arch=arch).runs
    if runs and not can_run(arch):
        raise OperationFailed(
            f"{dockerfile}:{runs[0]}: RUN steps for {arch} cannot execute on this {host_arch()} machine",
            hint=f"run this build on a {arch} runner (runners: in ci-tags.yml), or register qemu for {arch} "
            "(e.g. apt-get install qemu-user-static binfmt-support)",
        )


def hosts_of_build(
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


def pulled_images(dockerfile: Path, build_args: Mapping[str, str], arch: str, target: str | None,
                  parents: Mapping[str, str]) -> list[str]:
    """The images a build pulls, as its builder names them: external FROM (and COPY --from) images as written,
    the set's parents by the digest the build is pinned to."""
    from ci_tags.project.hashing import external_images

    return list(dict.fromkeys(parents.get(r, r) for r in external_images(dockerfile, build_args, arch, target)))


def remove_pulled_images(builder: Builder, references: Sequence[str], report: Report) -> None:
    """Remove the images a build pulled (a long-lived runner's storage must not fill with them); an image the
    storage held before the build is not among ``references`` and stays."""
    removed = [r for r in references if builder.remove_pulled(r)]
    if removed:
        report.pulled_removed(removed)


def _api_host(registry: str) -> str:
    return parse_reference(f"{registry}/x").api_host


@dataclass(frozen=True)
class _Build:
    """One run of the builder: its registries' credentials and trust set up, the Dockerfile's FROMs of the set
    pinned by digest, the image built under a local name of its own, pushed to the content tag, and that local
    name removed (``--keep-image``: the image stays, named by its content tag)."""

    registries: Registries
    config: Config
    image: ResolvedImage
    arch: ArchImage
    opts: BuildOptions
    env: Mapping[str, str]
    report: Report
    pipeline_id: str

    def run(self, parents: Mapping[str, str], image_labels: Mapping[str, str]) -> tuple[str, bool]:
        """The pushed digest, and whether the local image was removed."""
        import secrets

        from ci_tags.builders import BuildRequest, find_builder
        from ci_tags.builders.access import registry_access

        image, spec, arch = self.image, self.image.spec, self.arch.arch
        check_emulation(spec.dockerfile, spec.build_args, arch)
        builder = find_builder(self.opts.builder, self.env, log=self.report.builder_log)
        if spec.manifesto and not builder.runs_manifesto:
            raise BadInput(f"{image.name}: manifesto needs the buildah builder, not {builder.name}")
        registry_host = parse_reference(image.repository).registry
        hosts = hosts_of_build(registry_host, spec.dockerfile, spec.build_args, set(image.bases))
        credentials = {h: c for h in hosts if (c := self.registries.credentials(h)) is not None}
        plain_http = self._plain_http(hosts)
        target = f"{image.repository}:{self.arch.content_tag}"
        local = local_build_name(image.repository, self.pipeline_id, arch, secrets.token_hex(4))
        with tempfile.TemporaryDirectory(prefix="ci-tags-build-") as tmp, registry_access(
            builder.name, self.env, credentials, self.registries.http.trust, hosts
        ) as access:
            builder.env.update(access.env)
            log.debug("the builder's registries: %s", ", ".join(f"{h} ({credentials.get(h) or 'anonymous'})"
                                                                for h in hosts))
            dockerfile = self._dockerfile(parents, Path(tmp))
            pulls = pulled_images(spec.dockerfile, spec.build_args, arch, spec.target, parents)
            there_before = builder.local_images(pulls)
            self.report.building(target, builder.name)
            request = BuildRequest(
                context=spec.context, dockerfile=dockerfile, reference=target, local_name=local, arch=arch,
                build_args=spec.build_args, target=spec.target, labels=image_labels, plain_http=plain_http,
                cert_dir=access.cert_dir, manifesto=spec.manifesto, extra_args=self.opts.builder_argv(),
                cache=self.config.cache_repository(image.name),
            )
            try:
                digest = builder.build_and_push(request)
            except CiTagsError:
                builder.discard_local(local)  # nobody else ever removes this build's own name
                raise
            # in the builder's own environment, while it is set up; only this build's own name is removed
            if self.opts.keep_image:
                builder.keep_local(local, target)
            removed_local = builder.remove_local(local) and not self.opts.keep_image
            if not self.opts.keep_image:
                remove_pulled_images(builder, [p for p in pulls if p not in there_before], self.report)
        return digest, removed_local

    def _plain_http(self, hosts: list[str]) -> bool:
        """Whether a registry of the build speaks plain HTTP: the set's, or an external one allowed to."""
        registry = self.registries.get(parse_reference(self.image.repository).api_host)
        return registry.speaks_plain_http() or any(
            self.registries.get(_api_host(h)).speaks_plain_http() for h in hosts[1:] if self.registries.plain_http(h)
        )

    def _dockerfile(self, parents: Mapping[str, str], tmp: Path) -> Path:
        """The Dockerfile to build: a copy in ``tmp`` of the image's own, the FROMs of its parents in the set
        pinned by digest and the platform ARGs declared (no "not consumed" warning), next to a copy of its own
        .dockerignore."""
        spec = self.image.spec
        text = decode_dockerfile(spec.dockerfile.read_bytes())
        dockerfile = tmp / spec.dockerfile.name
        if parents:
            text = rewrite_bases(text, parents, spec.build_args, arch=self.arch.arch)
        dockerfile.write_bytes(encode_dockerfile(declare_platform_args(text)))  # bytes not UTF-8 kept as they were
        ignore = spec.dockerfile.with_name(spec.dockerfile.name + ".dockerignore")
        if ignore.is_file():
            shutil.copy(ignore, dockerfile.with_name(dockerfile.name + ".dockerignore"))
        return dockerfile
