"""Human lines of the pipeline commands: hash, plan, build, manifest."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ci_tags.errors import CiTagsError
    from ci_tags.output import Output
    from ci_tags.services.pipeline.building import Built
    from ci_tags.services.pipeline.hashing import Hashed
    from ci_tags.services.pipeline.manifests import Assembled
    from ci_tags.services.pipeline.planning import Planned


class PipelineLive:
    """The pipeline services' notes as they work (ci_tags.services.pipeline.Report), in words."""

    def __init__(self, out: Output) -> None:
        self.out = out

    def image_warning(self, warning: str) -> None:
        self.out.warn(warning)

    def local_registry(self, registry: str) -> None:
        self.out.info(f"CI_REGISTRY_IMAGE is not set: repositories are shown under {registry} "
                      "(content tags do not depend on the registry)")

    def unreadable(self, image: str, error: CiTagsError) -> None:
        self.out.warn(f"{image}: {error}")

    def reuse_vanished(self, image: str, content_tag: str) -> None:
        self.out.warn(f"{image}: {content_tag} was removed while it was being reused: building")

    def exists(self, target: str) -> None:
        self.out.info(f"{target} exists already: not building it again")

    def building(self, target: str, builder: str) -> None:
        self.out.info(f"building {target} with {builder}")

    def pulled_removed(self, references: Sequence[str]) -> None:
        self.out.info(f"removed the pulled image(s) {', '.join(references)} from local storage")

    def builder_log(self, line: str) -> None:
        self.out.log(line)


def hashed(result: Hashed, out: Output) -> None:
    for image in result.images:
        if image.spec.multi_arch:
            out.line(f"{image.name} index {image.content_tag}")  # the index's own tag: what a pipeline tag names
            for a in image.arches:
                out.line(f"{image.name} {a.arch} {a.content_tag}")
        else:
            out.line(f"{image.name} {image.content_tag}")


def planned(result: Planned, out: Output) -> None:
    out.table(
        f"ci-tags plan for pipeline {result.pipeline_id}",
        ["image", "arch", "content tag", "action"],
        [[r.image, r.arch, r.content_tag, r.action] for r in result.rows],
    )
    reused, builds, tag = result.reused, result.build_jobs, result.pipeline_tag
    if not result.dry_run:
        out.line(f"{reused} image(s) tagged {tag} by metadata copy, {builds} build(s) to run")
        return
    if result.placeholder:
        out.line(f"no pipeline id outside CI: shown as pipeline {result.pipeline_id!r} "
                 "(pass --pipeline-id or set CI_TAGS_PIPELINE_ID for another)")
    out.line(f"dry run: {reused} image(s) would be tagged {tag} by metadata copy, {builds} "
             "build(s) to run; no tag and no file written")
    for name, text in result.files.items():
        out.line(f"--- {name} (not written)")
        out.line(text.rstrip("\n"))


def planned_problems(result: Planned) -> list[str]:
    """Each image that could not be tagged."""
    return [f"{name}: {err}" for name, err in result.errors]


def built(result: Built, out: Output) -> None:
    out.line(f"{result.target} {result.digest}")
    if result.pipeline_tag is not None:
        out.line(f"{result.repository}:{result.pipeline_tag} -> {result.digest}")


def assembled(result: Assembled, out: Output) -> None:
    image = result.image
    out.line(f"{image.repository}:{image.content_tag} {result.digest} ({', '.join(image.spec.arches)})")
    out.line(f"{image.repository}:{result.pipeline_tag} -> {result.digest}")
