"""``manifest``: a multi-arch image's index, assembled by metadata alone from its per-arch images under its
content tag, and this pipeline's tag pointed at it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ci_tags.core.reference import parse_reference
from ci_tags.errors import BadInput, CiTagsError, NotFound
from ci_tags.oci.stamp import assemble, fetch, stamp
from ci_tags.project.imageset import ResolvedImage, resolve
from ci_tags.services.pipeline import stamp_annotations
from ci_tags.services.pipeline.expiry import Expiry

if TYPE_CHECKING:
    from ci_tags.oci.registries import Registries
    from ci_tags.project.config import Config


@dataclass(frozen=True)
class Assembled:
    image: ResolvedImage
    digest: str  # of the index
    pipeline_tag: str
    failure: CiTagsError | None = None

    def document(self) -> Mapping[str, Any]:
        image = self.image
        return {"image": image.name, "content_tag": image.content_tag, "digest": self.digest,
                "pipeline_tag": self.pipeline_tag, "arches": [a.arch for a in image.arches]}


def assemble_image(registries: Registries, config: Config, name: str, *, pipeline_id: str,
                   commit: str | None) -> Assembled:
    """The index of image ``name`` (the one under its content tag, else assembled from its arches' content
    tags), tagged with this pipeline's tag."""
    image = {i.name: i for i in resolve(config, [name])}[name]
    if not image.spec.multi_arch:
        raise BadInput(f"{image.name} is built for one architecture only: it needs no manifest job")
    ref = parse_reference(image.repository)
    registry = registries.get(ref.api_host)
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
    notes = stamp_annotations(pipeline_id, commit, image.content_tag, "pipeline")
    stamp(registry, ref.repository, index, pipeline_tag, notes)
    Expiry(registries, config)(image.repository, pipeline_tag)
    return Assembled(image, index.digest, pipeline_tag)
