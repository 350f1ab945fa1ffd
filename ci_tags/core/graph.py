"""An image's graph, pure: the subject (a manifest or an index), an index's children, and the referrers that are
about any of them (signatures, attestations, SBOMs), referrers of referrers included. No I/O.

A referrer is found three ways (OCI distribution spec 1.1, cosign):

- the referrers API, ``GET /v2/<name>/referrers/<digest>``: an image index of descriptors, where the registry has it;
- the referrers tag schema: without the API, an image index at the tag ``sha256-<hex>`` (the subject's digest)
  lists the referrers; the clients that push and delete referrers keep it (read, add, PUT: no compare-and-swap);
- cosign's tags: ``sha256-<hex>.sig`` (signatures), ``.att`` (attestations), ``.sbom`` (SBOMs), each a manifest
  about the image of that digest.

Signatures name the signed digest in their payload, so a copy keeps every digest as it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from ci_tags.core.manifest import OCI_INDEX, Manifest, sha256_digest

# What a part of a graph is: a cosign tag's manifest (by suffix), or a referrer with a ``subject``
PartKind = Literal["signature", "attestation", "sbom", "referrer"]
REFERRER: Final = "referrer"
COSIGN_SUFFIXES: Mapping[str, PartKind] = {".sig": "signature", ".att": "attestation", ".sbom": "sbom"}
# How a part was found: the referrers API, the referrers tag schema's index, or a cosign tag
Found = Literal["referrers-api", "referrers-tag", "cosign-tag"]

GRAPH_TAG_RE = re.compile(r"sha256-(?P<hex>[0-9a-f]{64})(?P<suffix>\.sig|\.att|\.sbom)?")


def referrers_tag(digest: str) -> str:
    """The referrers tag schema's tag of a subject: ``sha256:<hex>`` -> ``sha256-<hex>``."""
    algorithm, _, encoded = digest.partition(":")
    return re.sub(r"[^A-Za-z0-9_.-]", "-", f"{algorithm[:32]}-{encoded[:64]}")


@dataclass(frozen=True)
class GraphTag:
    """A tag that belongs to an image's graph rather than to an image: ``sha256-<hex>`` or a cosign tag."""

    tag: str
    subject: str  # the digest it is about
    kind: PartKind | Literal["referrers-index"]

    @property
    def label(self) -> str:
        return "referrers index" if self.kind == "referrers-index" else self.kind


def graph_tag(tag: str) -> GraphTag | None:
    """What a tag is in a graph, or None for any other tag."""
    match = GRAPH_TAG_RE.fullmatch(tag)
    if match is None:
        return None
    subject = "sha256:" + match["hex"]
    suffix = match["suffix"]
    return GraphTag(tag, subject, COSIGN_SUFFIXES[suffix] if suffix else "referrers-index")


def graph_tags(tags: Iterable[str]) -> dict[str, list[GraphTag]]:
    """The graph tags among ``tags``, by the subject digest they are about (each list sorted by tag)."""
    found: dict[str, list[GraphTag]] = {}
    for tag in sorted(tags):
        parsed = graph_tag(tag)
        if parsed is not None:
            found.setdefault(parsed.subject, []).append(parsed)
    return found


@dataclass(frozen=True)
class Referrer:
    """A descriptor of a referrer, as the referrers API and the tag schema's index list them."""

    digest: str
    media_type: str
    size: int
    artifact_type: str = ""
    annotations: Mapping[str, str] = field(default_factory=dict)

    def entry(self) -> dict[str, Any]:
        """The descriptor as an entry of a referrers index."""
        item: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.artifact_type:
            item["artifactType"] = self.artifact_type
        if self.annotations:
            item["annotations"] = dict(self.annotations)
        return item


def referrers_in(index: Manifest) -> list[Referrer]:
    """The referrers an image index lists (a referrers API answer, or the tag schema's index)."""
    found = []
    for raw in index.json.get("manifests") or []:
        if not isinstance(raw, dict) or not isinstance(raw.get("digest"), str):
            continue
        size = raw.get("size", 0)
        notes = raw.get("annotations")
        found.append(Referrer(raw["digest"], str(raw.get("mediaType") or ""),
                              size if isinstance(size, int) and not isinstance(size, bool) else 0,
                              str(raw.get("artifactType") or ""),
                              {str(k): str(v) for k, v in notes.items()} if isinstance(notes, dict) else {}))
    return found


def referrers_index(entries: Iterable[Referrer]) -> Manifest:
    """A referrers index (the tag schema's tag holds one) listing ``entries``."""
    body = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [e.entry() for e in entries]}
    data = json.dumps(body, separators=(",", ":")).encode()
    return Manifest(data, OCI_INDEX, sha256_digest(data))


def merged_index(existing: Manifest | None, add: Iterable[Referrer]) -> Manifest | None:
    """The tag schema's index with ``add`` merged in, every entry already there kept as it is (another writer's
    included); None when every one of ``add`` is listed already (nothing to write)."""
    have = referrers_in(existing) if existing is not None else []
    listed = {r.digest for r in have}
    new = [r for r in dict((r.digest, r) for r in add).values() if r.digest not in listed]
    if not new:
        return None
    if existing is not None:  # keep the existing body's other fields; append to its list
        body = existing.json
        body["manifests"] = [*(body.get("manifests") or []), *(r.entry() for r in new)]
        data = json.dumps(body, separators=(",", ":")).encode()
        return Manifest(data, OCI_INDEX, sha256_digest(data))
    return referrers_index(new)


def pruned_index(existing: Manifest, remove: Iterable[str]) -> Manifest | None:
    """The tag schema's index without the entries of ``remove`` (digests); None when no entry is left."""
    gone = set(remove)
    body = existing.json
    kept = [e for e in body.get("manifests") or [] if not (isinstance(e, dict) and e.get("digest") in gone)]
    if not kept:
        return None
    body["manifests"] = kept
    data = json.dumps(body, separators=(",", ":")).encode()
    return Manifest(data, OCI_INDEX, sha256_digest(data))


@dataclass(frozen=True)
class Part:
    """One manifest of an image's graph besides the image and its children."""

    descriptor: Referrer  # digest, media type, size, artifact type, annotations
    subject: str  # the digest it is about: the image, a child, or another part
    kind: PartKind
    found: Found
    tag: str | None = None  # the cosign tag it sits on

    @property
    def digest(self) -> str:
        return self.descriptor.digest



@dataclass
class Graph:
    """An image's graph: the subject, an index's children, and every part found about any of them."""

    subject: str
    children: list[str] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)

    def digests(self) -> list[str]:
        """Every digest of the graph: subject, children, parts."""
        return [self.subject, *self.children, *(p.digest for p in self.parts)]

    def add(self, part: Part) -> bool:
        """Add a part unless the same manifest is already in the graph as such (False then)."""
        if any(p.digest == part.digest and p.tag == part.tag for p in self.parts):
            return False
        self.parts.append(part)
        return True

    def counts(self) -> dict[str, int]:
        """How many parts of each kind (a manifest on a cosign tag and also listed as a referrer counts once)."""
        seen: dict[str, str] = {}
        for p in self.parts:
            seen.setdefault(p.digest, p.kind)
        out: dict[str, int] = {}
        for kind in seen.values():
            out[kind] = out.get(kind, 0) + 1
        return out
