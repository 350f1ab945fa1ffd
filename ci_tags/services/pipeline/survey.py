"""Plan's work on one image: read which of its content tags the registry has, and tag a present image for this
pipeline by a metadata-only copy (assembling a multi-arch index first when only its arches are there)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ci_tags.core.manifest import INDEX_TYPES, Descriptor, Manifest, may_be_placeholder
from ci_tags.core.plan import ASSEMBLE, BUILD, Action, ArchTarget, ImageState, decide
from ci_tags.core.reference import parse_reference
from ci_tags.errors import CiTagsError, NotFound
from ci_tags.oci.auth import scope
from ci_tags.oci.stamp import assemble, fetch, stamp
from ci_tags.project.imageset import ResolvedImage
from ci_tags.services.pipeline import stamp_annotations

if TYPE_CHECKING:
    from ci_tags.oci.registries import Registries

Content = Manifest | Descriptor | None  # what the content tag names, None when absent
ArchManifests = Mapping[str, Manifest | None]  # a multi-arch image without its index: each arch's content tag


def survey(registries: Registries, image: ResolvedImage) -> tuple[Content, ArchManifests]:
    """HEAD a single-arch image's content tag (its stamp needs no body, and a HEAD is no pull on Docker Hub);
    GET a multi-arch image's (its stamp copies the index's entries), and, without the index, each per-arch tag."""
    ref = parse_reference(image.repository)
    registry = registries.get(ref.api_host)
    content: Content
    if image.spec.multi_arch:
        content = fetch(registry, ref.repository, image.content_tag)
    else:
        content = registry.head_descriptor(ref.repository, image.content_tag,
                                           [scope(ref.repository, "pull", "push")])
        if content is not None and (content.media_type in INDEX_TYPES or may_be_placeholder(content)):
            # an index made by another tool: stamp its body; a possible untag placeholder: a miss if it is one
            content = fetch(registry, ref.repository, image.content_tag)
    arches: dict[str, Manifest | None] = {}
    if content is None and image.spec.multi_arch:
        arches = {a.arch: fetch(registry, ref.repository, a.content_tag) for a in image.arches}
    return content, arches


def image_state(image: ResolvedImage, pipeline_tag: str, content: Content, arches: ArchManifests) -> ImageState:
    return ImageState(
        name=image.name,
        repository=image.repository,
        content_tag=image.content_tag,
        content_present=content is not None,
        pipeline_tag=pipeline_tag,
        arches=tuple(
            ArchTarget(a.arch, a.content_tag, content is not None or arches.get(a.arch) is not None)
            for a in image.arches
        ),
        parents=image.parents,
    )


@dataclass(frozen=True)
class Reuse:
    """Per image, as one task so that images proceed independently: read its tags, then tag it if present.
    Returns its state for the plan, and the error of a failed tagging (the image is then reported, not built)."""

    registries: Registries
    pipeline_id: str
    commit: str | None
    pipeline_tag: str
    dry_run: bool
    vanished: Callable[[str, str], None]  # (image, content tag) removed while it was being reused
    expire: Callable[[str, str], None] = lambda repository, tag: None  # a pipeline tag's expiry (expiry.py)

    def __call__(self, image: ResolvedImage) -> tuple[ImageState, CiTagsError | None]:
        return self.tag(image, self.survey(image))

    def survey(self, image: ResolvedImage) -> tuple[Content, ArchManifests]:
        """The reads alone (plan starts them while the next images are still being hashed)."""
        return survey(self.registries, image)

    def tag(self, image: ResolvedImage, surveyed: tuple[Content, ArchManifests]) -> tuple[ImageState,
                                                                                         CiTagsError | None]:
        """Decide from what :meth:`survey` read; tag the image for this pipeline if it is present."""
        content, arches = surveyed
        state = image_state(image, self.pipeline_tag, content, arches)
        action = decide([state]).images[0].action
        if action == BUILD or self.dry_run:
            return state, None
        try:
            if not self._tag(image, action, content, arches):
                # removed between our read and our stamp (another branch's janitor): build it after all
                self.vanished(image.name, image.content_tag)
                return image_state(image, self.pipeline_tag, None, {}), None
        except CiTagsError as exc:
            return state, exc
        return state, None

    def _tag(self, image: ResolvedImage, action: Action, content: Content, arches: ArchManifests) -> bool:
        """Point this pipeline's tag at the image (its index assembled first if need be): one PUT (two when
        assembling); whether the image was still there.

        No read-back: the registry checks, as it stores an index, that every manifest it names is in the
        repository, and refuses it otherwise (distribution's MANIFEST_BLOB_UNKNOWN, as NotFound); the PUT's
        Docker-Content-Digest confirms what was stored (put_manifest reads the tag back only without it)."""
        ref = parse_reference(image.repository)
        registry = self.registries.get(ref.api_host)
        try:
            if action == ASSEMBLE:
                parts = [(a.arch, arches[a.arch]) for a in image.arches]
                content = assemble(registry, ref.repository, [(a, m) for a, m in parts if m is not None],
                                   image.content_tag)
            assert content is not None
            notes = stamp_annotations(self.pipeline_id, self.commit, image.content_tag, "pipeline")
            arch = None if image.spec.multi_arch else image.spec.arches[0]
            stamp(registry, ref.repository, content, self.pipeline_tag, notes, arch)
        except NotFound:
            return False
        self.expire(image.repository, self.pipeline_tag)
        return True
