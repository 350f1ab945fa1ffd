"""Pure rules of ``ci-tags sync``: revisioned tags by label (Kolla's release flow).

For each image: the source's moving tag (``track``) carries a label (a version manifesto's hash, or ci-tags'
content hash). The destination keeps numbered revisions ``<track>-<N>``. When the highest revision's label differs
from the source's (or there is none), the source becomes ``<track>-<N+1>`` and ``<track>`` moves to it; when equal,
nothing changes. Static tags (release versions) are copied once: a different image under one is a conflict.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

from ci_tags.core.manifest import LABEL_CONTENT_HASH
from ci_tags.core.reference import PATH_RE, Reference, parse_reference, validate_tag
from ci_tags.core.yamlnodes import Collector, compose_document
from ci_tags.errors import BadInput

DEFAULT_LABEL = LABEL_CONTENT_HASH
TOP_KEYS = ("source", "destination", "images", "include", "exclude", "track", "label", "static")


@dataclass(frozen=True)
class SyncSpec:
    path: Path
    source: Reference  # a namespace: registry and path, no tag (repository is the namespace path)
    destination: Reference
    track: str
    label: str = DEFAULT_LABEL
    images: tuple[str, ...] = ()  # empty: every repository of the source namespace that include/exclude select
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    static: tuple[str, ...] = ()

    def source_repository(self, image: str) -> str:
        return f"{self.source.repository}/{image}"

    def destination_repository(self, image: str) -> str:
        return f"{self.destination.repository}/{image}"

    def selects(self, image: str) -> bool:
        """Whether include/exclude (regexes searched in the image name) select a repository of the source."""
        if self.include and not any(re.search(p, image) for p in self.include):
            return False
        return not any(re.search(p, image) for p in self.exclude)

    def is_static(self, tag: str) -> bool:
        return any(re.search(p, tag) for p in self.static)

    def revision_of(self, tag: str) -> int | None:
        """N for a tag ``<track>-<N>``, else None."""
        m = re.fullmatch(re.escape(self.track) + r"-([1-9][0-9]{0,8})", tag)
        return int(m[1]) if m else None

    def revision_tag(self, n: int) -> str:
        return validate_tag(f"{self.track}-{n}")


def parse_sync_file(document: str, path: Path, env: Mapping[str, str] | None = None) -> SyncSpec:
    """Check ``path`` (its text, ``document``); every problem is listed at once, each naming the file, line and
    key (one alone is raised as it is)."""
    import yaml

    loader, root = compose_document(document, path, env)
    problems = Collector()
    top = loader.mapping(root, "", None)
    for key, (key_node, _) in top.items():
        if key not in TOP_KEYS:
            problems.check(partial(_raise, loader.unknown_key(key_node, key, TOP_KEYS)))
    top = {k: v for k, v in top.items() if k in TOP_KEYS}
    for required in ("source", "destination", "track"):
        if required not in top:
            problems.check(partial(_raise, loader.fail(root, required, "missing")))

    def text(key: str) -> str:
        return loader.expand(loader.scalar(top[key][1], key), top[key][1], key)

    def namespace(key: str) -> Reference:
        value = text(key).rstrip("/")
        try:
            ref = parse_reference(value + "/x")
        except BadInput as exc:
            raise loader.fail(top[key][1], key, f"{value!r} is not a registry namespace: {exc.message}") from None
        first = value.split("/")[0]
        if "/" not in value or not ("." in first or ":" in first or first == "localhost"):
            raise loader.fail(top[key][1], key, f"{value!r}: name the registry host and a namespace path, "
                              "e.g. quay.io/openstack.kolla")
        return Reference(ref.registry, ref.repository[: -len("/x")])

    def patterns(key: str) -> tuple[str, ...]:
        if key not in top:
            return ()
        found = []
        for i, (pattern, node) in enumerate(loader.strings(top[key][1], key)):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise loader.fail(node, f"{key}[{i}]", f"not a valid regular expression: {exc}") from None
            found.append(pattern)
        return tuple(found)

    def track() -> str:
        value = text("track")
        try:
            validate_tag(f"{value}-999999999")
        except BadInput as exc:
            raise loader.fail(top["track"][1], "track", f"{value!r} cannot carry revisions: {exc.message}") from None
        return value

    def images() -> tuple[str, ...]:
        found: list[str] = []
        if not isinstance(top["images"][1], yaml.SequenceNode):
            raise loader.fail(top["images"][1], "images", "expected a list of image names")
        for i, (name, node) in enumerate(loader.strings(top["images"][1], "images")):
            if not PATH_RE.fullmatch(name):
                raise loader.fail(node, f"images[{i}]", f"{name!r} is not a repository name (lowercase a-z 0-9 ._-/)")
            found.append(name)
        if not found:
            raise loader.fail(top["images"][1], "images", "the list is empty")
        if "include" in top:
            raise loader.fail(top["include"][1], "include", "give images or include, not both")
        return tuple(found)

    def label() -> str:
        value = text("label") if "label" in top else DEFAULT_LABEL
        if not value.strip():
            raise loader.fail(top["label"][1], "label", "empty")
        return value

    source = problems.check(partial(namespace, "source")) if "source" in top else None
    destination = problems.check(partial(namespace, "destination")) if "destination" in top else None
    tracked = problems.check(track) if "track" in top else None
    listed = problems.check(images) if "images" in top else ()
    found = {key: problems.check(partial(patterns, key)) for key in ("include", "exclude", "static")}
    labelled = problems.check(label)
    problems.raise_if_any(path, one_as_found=True)
    assert source and destination and tracked is not None and labelled is not None and listed is not None
    return SyncSpec(path, source, destination, tracked, labelled, listed, found["include"] or (),
                    found["exclude"] or (), found["static"] or ())


def _raise(exc: BadInput) -> None:
    raise exc


Step = Literal["revise", "move-track", "copy-static"]


@dataclass(frozen=True)
class Observed:
    """One image's state in both registries (digests by tag), read before anything is written."""

    image: str
    source_digest: str | None  # the source's track tag
    source_label: str | None
    revisions: Mapping[int, str]  # destination N -> digest of <track>-<N>
    highest_label: str | None  # the label of the highest revision
    track_digest: str | None  # the destination's track tag
    source_static: Mapping[str, str] = field(default_factory=dict)  # static tag -> digest in the source
    destination_static: Mapping[str, str] = field(default_factory=dict)  # the same tags, where present
    error: str | None = None  # why the image could not be read


@dataclass(frozen=True)
class Action:
    step: Step
    tag: str  # the destination tag written
    digest: str  # the image it gets
    source_tag: str  # where it comes from: a source tag, or for move-track the destination's revision


@dataclass(frozen=True)
class ImagePlan:
    image: str
    actions: tuple[Action, ...]
    revision: str | None  # the revision tag the track stands on afterwards
    digest: str | None
    status: str  # "new revision", "up to date", "conflict", "problem"
    problems: tuple[str, ...] = ()
    static_present: Mapping[str, str] = field(default_factory=dict)  # static tag -> digest, there already


def plan_image(spec: SyncSpec, seen: Observed) -> ImagePlan:
    """What sync does for one image; every problem or conflict is listed in ``problems``."""
    if seen.error:
        return ImagePlan(seen.image, (), None, None, "problem", (seen.error,))
    problems: list[str] = []
    actions: list[Action] = []
    present: dict[str, str] = {}
    for tag, digest in sorted(seen.source_static.items()):
        there = seen.destination_static.get(tag)
        if there is None:
            actions.append(Action("copy-static", tag, digest, tag))
        elif there == digest:
            present[tag] = digest
        else:
            problems.append(f"conflict: static tag {tag} is {there} in the destination, {digest} in the source")
    if seen.source_digest is None:
        problems.append(f"the source has no tag {spec.track}")
    elif seen.source_label is None:
        problems.append(f"the source's {spec.track} ({seen.source_digest}) has no label {spec.label}")
    if problems:
        status = "conflict" if any(p.startswith("conflict") for p in problems) else "problem"
        return ImagePlan(seen.image, (), None, None, status, tuple(problems))
    assert seen.source_digest is not None
    highest = max(seen.revisions, default=0)
    if highest and seen.highest_label == seen.source_label:
        revision, digest, status = spec.revision_tag(highest), seen.revisions[highest], "up to date"
    else:
        revision, digest, status = spec.revision_tag(highest + 1), seen.source_digest, "new revision"
        actions.append(Action("revise", revision, digest, spec.track))
    if seen.track_digest != digest:  # also repairs a run that stopped between the revision and the move
        actions.append(Action("move-track", spec.track, digest, revision))
    return ImagePlan(seen.image, tuple(actions), revision, digest, status, static_present=present)


def env_name(image: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in image.upper()) + "_IMAGE"


def output_document(spec: SyncSpec, plans: list[ImagePlan]) -> dict[str, dict[str, Any]]:
    """What deployment tools read: image -> destination reference with its revision tag and digest."""
    doc: dict[str, dict[str, Any]] = {}
    for plan in plans:
        if plan.revision is None or plan.digest is None:
            continue
        name = f"{spec.destination.registry}/{spec.destination_repository(plan.image)}"
        doc[plan.image] = {"image": name, "tag": plan.revision, "digest": plan.digest,
                           "reference": f"{name}:{plan.revision}@{plan.digest}"}
    return doc


def render_output(doc: Mapping[str, Mapping[str, Any]], fmt: str) -> str:
    if fmt == "json":
        import json

        return json.dumps(doc, indent=2, sort_keys=True) + "\n"
    if fmt == "env":
        return "".join(f"{env_name(image)}={entry['reference']}\n" for image, entry in sorted(doc.items()))
    import yaml

    return str(yaml.safe_dump({k: dict(v) for k, v in doc.items()}, sort_keys=True))
