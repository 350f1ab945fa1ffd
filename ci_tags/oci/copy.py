"""Metadata-only copies of images between tags, repositories and registries.

- same repository: GET the manifest, PUT the same bytes under the new tag; no blob is touched;
- another repository of the same registry: mount every blob (``mount=&from=``), streaming only those the
  registry refuses to mount;
- another registry: stream each missing blob from source to destination, never holding a layer in memory.
An index is copied child by child (each child's blobs, then the child by digest), then the index itself.

Another writer may push the same blob at the same moment (two promotions of one file, two pipelines copying one
image): a manifest PUT refused for it is tried again once its blobs and children are brought again
(``Registry.put_manifest_brought``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ci_tags.concurrency import run_all
from ci_tags.core.manifest import Descriptor, Manifest, is_placeholder
from ci_tags.core.reference import Reference
from ci_tags.errors import NotFound, RegistryError
from ci_tags.oci.auth import scope
from ci_tags.oci.bodies import CHUNK, SizedStream
from ci_tags.oci.registries import Registries

if TYPE_CHECKING:
    from ci_tags.oci.referrers_copy import Carried

# how the blobs travel: not at all (same repository), mounted within a registry, streamed between registries
CopyMode = Literal["same-repository", "mount", "stream"]
BlobOutcome = Literal["mounted", "present", "streamed"]  # how one blob reached the destination


@dataclass
class CopyResult:
    source: Reference
    destination: Reference
    digest: str
    media_type: str
    mode: CopyMode
    blobs_mounted: int = 0
    blobs_streamed: int = 0
    blobs_present: int = 0
    bytes_streamed: int = 0
    children: list[str] = field(default_factory=list)
    carried: Carried | None = None  # the image's graph carried along (signatures, SBOMs...): oci/referrers_copy.py


def _distributable(desc: Descriptor) -> bool:
    return "foreign" not in desc.media_type and "nondistributable" not in desc.media_type


class _Copier:
    def __init__(self, registries: Registries, src: Reference, dst: Reference, concurrency: int) -> None:
        self.src_reg = registries.get(src.api_host)
        self.dst_reg = registries.get(dst.api_host)
        self.src = src
        self.dst = dst
        self.concurrency = concurrency
        self.same_registry = self.src_reg is self.dst_reg
        self.mode: CopyMode
        if self.same_registry and src.repository == dst.repository:
            self.mode = "same-repository"
            self.src_scopes = self.dst_scopes = [scope(dst.repository, "pull", "push")]
        elif self.same_registry:
            self.mode = "mount"
            self.src_scopes = self.dst_scopes = [
                scope(dst.repository, "pull", "push"),
                scope(src.repository, "pull"),
            ]
        else:
            self.mode = "stream"
            self.src_scopes = [scope(src.repository, "pull")]
            self.dst_scopes = [scope(dst.repository, "pull", "push")]
        self.result: CopyResult | None = None
        self.manifest: Manifest | None = None

    def run(self) -> CopyResult:
        manifest = self.src_reg.get_manifest(self.src.repository, self.src.identifier, self.src_scopes)
        if self.src.digest and manifest.digest != self.src.digest:
            raise RegistryError(f"{self.src} resolved to {manifest.digest}")
        if is_placeholder(manifest):
            raise NotFound(f"{self.src} holds no image: it is on an untag placeholder (a removal in progress or "
                           "interrupted)", hint="run the janitor to finish it, or push the image again")
        result = CopyResult(self.src, self.dst, manifest.digest, manifest.media_type, self.mode)
        self.result, self.manifest = result, manifest
        if self.mode != "same-repository":
            children: list[Manifest] = []
            for child in manifest.children:
                child_manifest = self.src_reg.get_manifest(self.src.repository, child.digest, self.src_scopes)
                self._copy_blobs(child_manifest)
                self._put(child.digest, child_manifest)
                children.append(child_manifest)
                result.children.append(child.digest)
            self._copy_blobs(manifest)
            self._put(self.dst.identifier, manifest, children)
        else:  # the blobs are the repository's own: a refusal means the image is gone, there is nothing to bring
            self.dst_reg.put_manifest(self.dst.repository, self.dst.identifier, manifest, self.dst_scopes)
        return result

    def _put(self, ref: str, manifest: Manifest, children: Sequence[Manifest] = ()) -> None:
        """PUT a manifest whose blobs and ``children`` were just brought to the destination (see the module's
        words on a concurrent writer)."""

        def bring() -> None:
            for child in children:
                self._copy_blobs(child, count=False)
                self.dst_reg.put_manifest(self.dst.repository, child.digest, child, self.dst_scopes)
            self._copy_blobs(manifest, count=False)

        self.dst_reg.put_manifest_brought(self.dst.repository, ref, manifest, self.dst_scopes, bring)

    def _copy_blobs(self, manifest: Manifest, *, count: bool = True) -> None:
        blobs = [b for b in manifest.blobs if _distributable(b)]
        outcomes = run_all(self._copy_blob, blobs, self.concurrency)
        failed = [err for _, _, err in outcomes if err]
        if failed:
            raise failed[0]
        assert self.result is not None
        if not count:  # bringing them again: the result already counts how each came
            return
        for desc, how, _ in outcomes:
            if how == "mounted":
                self.result.blobs_mounted += 1
            elif how == "present":
                self.result.blobs_present += 1
            else:
                self.result.blobs_streamed += 1
                self.result.bytes_streamed += desc.size

    def _copy_blob(self, desc: Descriptor) -> BlobOutcome:
        """Bring one blob to the destination; say how: mounted, present or streamed."""
        if self.mode == "mount":
            location = self.dst_reg.mount_blob(
                self.dst.repository, desc.digest, self.src.repository, self.dst_scopes
            )
            if location is None:
                return "mounted"
            self._stream(desc, location)
            return "streamed"
        if self.dst_reg.blob_exists(self.dst.repository, desc.digest, self.dst_scopes):
            return "present"
        self._stream(desc, None)
        return "streamed"

    def _stream(self, desc: Descriptor, location: str | None) -> None:
        """Stream one blob from source to destination; the whole transfer is retried once on failure."""
        for attempt in (1, 2):
            try:
                self._stream_once(desc, location if attempt == 1 else None)
                return
            except RegistryError:
                if attempt == 2:
                    raise

    def _stream_once(self, desc: Descriptor, location: str | None) -> None:
        import requests

        source = self.src_reg.open_blob(self.src.repository, desc.digest, self.src_scopes)
        try:
            size = int(source.headers.get("Content-Length") or desc.size)
            if location is None:
                location = self.dst_reg.start_upload(self.dst.repository, self.dst_scopes)
            body = SizedStream(source.iter_content(CHUNK), size)
            self.dst_reg.finish_upload(location, desc.digest, body, size, self.dst_scopes)
        except requests.RequestException:  # the source's body was cut short while it streamed
            raise RegistryError(f"{self.src_reg.host} cut blob {desc.digest} short while it was copied") from None
        finally:
            source.close()


def copy_image(registries: Registries, src: Reference, dst: Reference, *, concurrency: int = 4,
               referrers: bool = True) -> CopyResult:
    """Copy ``src`` to ``dst`` by metadata where possible; the destination ends with the source's digest. To
    another repository, the image's signatures, attestations, SBOMs and other referrers travel with it unless
    ``referrers`` is False (``--no-referrers``)."""
    copier = _Copier(registries, src, dst, concurrency)
    result = copier.run()
    if referrers and copier.mode != "same-repository" and copier.manifest is not None:
        from ci_tags.oci.referrers_copy import carry_graph

        result.carried = carry_graph(registries, src, dst, copier.manifest, concurrency=concurrency)
    return result
