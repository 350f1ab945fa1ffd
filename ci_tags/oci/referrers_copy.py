"""Carrying an image's graph along with a copy to another repository or registry: every signature, attestation,
SBOM and other referrer of the copied digest and of an index's children, referrers of referrers too, with digests
unchanged (a signature's payload names the digest it signs).

Each part's manifest (and its blobs) is copied by digest, a cosign part to its tag of the same name. Referrers are
then listed the way the destination supports: a registry with the referrers API lists them by itself; otherwise
they are merged into the destination's tag schema index (``sha256-<hex>``), keeping what other writers put there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ci_tags.core.graph import REFERRER, Graph, Part, Referrer
from ci_tags.core.reference import Reference
from ci_tags.errors import NotFound
from ci_tags.oci.auth import scope
from ci_tags.oci.referrers import add_to_referrers_tag, find_graph, has_referrers_api

if TYPE_CHECKING:
    from ci_tags.core.manifest import Manifest
    from ci_tags.oci.registries import Registries

# How the destination lists the carried referrers: by its referrers API, or through the tag schema's index
ListedBy = Literal["referrers-api", "referrers-tag", "none"]


@dataclass
class Carried:
    """What a copy carried besides the image: the parts of its graph, and how the destination lists referrers."""

    parts: list[Part] = field(default_factory=list)
    listed_by: ListedBy = "none"
    indexes_written: list[str] = field(default_factory=list)  # the tag schema's tags written at the destination
    missing: list[str] = field(default_factory=list)  # parts listed at the source whose manifest is gone: not carried

    def counts(self) -> dict[str, int]:
        return Graph("", [], self.parts).counts()

    def document(self) -> dict[str, object]:
        return {
            "count": len({p.digest for p in self.parts}),
            "kinds": self.counts(),
            "listed_by": self.listed_by,
            "indexes_written": list(self.indexes_written),
            "missing": list(self.missing),
            "parts": [{"digest": p.digest, "subject": p.subject, "kind": p.kind, "found": p.found,
                       "artifact_type": p.descriptor.artifact_type or None, "tag": p.tag} for p in self.parts],
        }


def carry_graph(registries: Registries, src: Reference, dst: Reference, manifest: Manifest, *,
                concurrency: int = 4) -> Carried:
    """Copy the graph of ``manifest`` (already copied from ``src``'s repository to ``dst``'s) to ``dst``'s
    repository. Returns what was carried."""
    from ci_tags.oci.copy import copy_image

    src_reg, dst_reg = registries.get(src.api_host), registries.get(dst.api_host)
    same_registry = src_reg is dst_reg
    src_scopes = [scope(src.repository, "pull")]
    if same_registry:
        src_scopes = [scope(dst.repository, "pull", "push"), scope(src.repository, "pull")]
    graph = find_graph(src_reg, src.repository, manifest, src_scopes)
    carried = Carried()
    copied: set[tuple[str, str | None]] = set()
    for part in graph.parts:
        if (part.digest, part.tag) in copied:
            carried.parts.append(part)
            continue
        copied.add((part.digest, part.tag))
        target = dst.with_tag(part.tag) if part.tag else dst.with_digest(part.digest)
        try:
            copy_image(registries, src.with_digest(part.digest), target, concurrency=concurrency, referrers=False)
        except NotFound:  # a dangling entry of a referrers index (its manifest deleted): nothing to carry
            carried.missing.append(part.digest)
            continue
        carried.parts.append(part)
    referrers = [p for p in carried.parts if p.kind == REFERRER]
    if not referrers:
        return carried
    dst_scopes = [scope(dst.repository, "pull", "push")]
    if has_referrers_api(dst_reg, dst.repository, graph.subject, dst_scopes):
        carried.listed_by = "referrers-api"
        return carried
    carried.listed_by = "referrers-tag"
    by_subject: dict[str, list[Referrer]] = {}
    for part in referrers:
        by_subject.setdefault(part.subject, []).append(part.descriptor)
    for subject, entries in by_subject.items():
        if add_to_referrers_tag(dst_reg, dst.repository, subject, entries, dst_scopes):
            carried.indexes_written.append(subject)
    return carried
