"""Pure rules of ``ci-tags promote``: a reviewed file says which build becomes which release tag.

For each entry, from what the registries show now: the tag missing -> copy the source there; the tag on the same
image (digest) -> nothing to do; the tag on another image -> a conflict; the source missing -> a problem. Two
entries asking for one tag with different images conflict with each other. Any problem means nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal, TypeVar

from ci_tags.core.reference import Reference, parse_reference, validate_tag
from ci_tags.core.yamlnodes import Collector, Node, NodeReader, compose_document, line_of
from ci_tags.errors import BadInput

ENTRY_KEYS = ("name", "src_build_tag", "src_ref", "tag", "source")

Action = Literal["copy", "nothing", "conflict", "missing-source", "unreadable"]
T = TypeVar("T")
PROBLEMS: tuple[Action, ...] = ("conflict", "missing-source", "unreadable")


@dataclass(frozen=True)
class PromotionEntry:
    index: int
    line: int
    target: Reference  # name:tag, the release tag
    source: Reference  # source, else name:src_build_tag
    src_ref: str | None  # what the build was made from (a commit URL), named in every output line; optional

    @property
    def where(self) -> str:
        return f"images[{self.index}] (line {self.line})"


@dataclass(frozen=True)
class Observed:
    """What the registries show for one entry: digests, None when absent, or why they could not be read."""

    source_digest: str | None
    target_digest: str | None
    source_error: str | None = None
    target_error: str | None = None


@dataclass(frozen=True)
class Decision:
    entry: PromotionEntry
    action: Action
    source_digest: str | None
    target_digest: str | None
    reason: str = ""

    @property
    def is_problem(self) -> bool:
        return self.action in PROBLEMS


def parse_promotion_file(text: str, path: Path) -> list[PromotionEntry]:
    """Every entry of ``path`` (its ``text``); raise :class:`MalformedFile` listing every malformed one (file,
    line, key)."""
    loader, root = compose_document(text, path)
    problems = Collector()
    top = loader.mapping(root, "", ("images",))
    if "images" not in top:
        raise loader.fail(root, "images", "missing: list the release tags to promote")
    import yaml

    seq = top["images"][1]
    if not isinstance(seq, yaml.SequenceNode):
        raise loader.fail(seq, "images", "expected a list of entries")
    entries: list[PromotionEntry] = []
    for i, node in enumerate(seq.value):
        key = f"images[{i}]"
        entry = problems.check(partial(_entry, loader, node, key, i))
        if entry is not None:
            entries.append(entry)
    problems.raise_if_any(path)
    if not entries:
        raise loader.fail(seq, "images", "the list is empty")
    return entries


def _field(
    loader: NodeReader, fields: dict[str, tuple[Node, Node]], key: str, name: str, convert: Callable[[str], T]
) -> T:
    """``fields[name]`` as a non-empty string passed through ``convert``; its problem names the line and key."""
    node = fields[name][1]
    text = loader.scalar(node, f"{key}.{name}")
    if not text.strip():
        raise loader.fail(node, f"{key}.{name}", "empty")
    try:
        return convert(text)
    except BadInput as exc:
        raise loader.fail(node, f"{key}.{name}", exc.message) from None


def _repository(text: str) -> Reference:
    ref = parse_reference(text)
    if ref.tag or ref.digest:
        raise BadInput(f"{text!r} names a tag or digest; name is the repository alone")
    return ref


def _entry(loader: NodeReader, node: Node, key: str, index: int) -> PromotionEntry:
    fields = loader.mapping(node, key, ENTRY_KEYS)
    for required in ("name", "tag"):
        if required not in fields:
            raise loader.fail(node, f"{key}.{required}", "missing")
    repo = _field(loader, fields, key, "name", _repository)
    tag = _field(loader, fields, key, "tag", validate_tag)
    build_tag = _field(loader, fields, key, "src_build_tag", validate_tag) if "src_build_tag" in fields else None
    src_ref = _field(loader, fields, key, "src_ref", str) if "src_ref" in fields else None
    if "source" in fields:
        source = _field(loader, fields, key, "source", parse_reference)
        if not (source.tag or source.digest):
            if build_tag is None:
                raise loader.fail(fields["source"][1], f"{key}.source",
                                  "names no tag or digest, and there is no src_build_tag")
            source = source.with_tag(build_tag)
    elif build_tag is None:
        raise loader.fail(node, f"{key}.src_build_tag", "missing (or give source: with a tag or digest)")
    else:
        source = repo.with_tag(build_tag)
    return PromotionEntry(index, line_of(node), repo.with_tag(tag), source, src_ref)


def decide(entries: list[PromotionEntry], observed: Mapping[int, Observed]) -> list[Decision]:
    """One decision per entry, in the file's order, from the registries' state in ``observed`` (by entry index)."""
    # Entries asking for one tag must agree on the image; the first entry of a tag is the one that copies.
    asking: dict[Reference, list[PromotionEntry]] = {}
    for entry in entries:
        asking.setdefault(entry.target, []).append(entry)
    decisions: list[Decision] = []
    for entry in entries:
        seen = observed[entry.index]
        src, dst = seen.source_digest, seen.target_digest
        if seen.source_error or seen.target_error:
            why = "; ".join(e for e in (seen.source_error, seen.target_error) if e)
            decisions.append(Decision(entry, "unreadable", src, dst, why))
            continue
        if src is None:
            decisions.append(Decision(entry, "missing-source", None, dst, f"{entry.source} does not exist"))
            continue
        rival = next((o for o in asking[entry.target]
                      if observed[o.index].source_digest not in (None, src)), None)
        if rival is not None:
            decisions.append(Decision(entry, "conflict", src, dst, f"{rival.where} asks for the same tag with "
                                      f"another image ({observed[rival.index].source_digest})"))
        elif dst is not None and dst != src:
            decisions.append(Decision(entry, "conflict", src, dst, f"the tag is on another image ({dst})"))
        elif dst == src:
            decisions.append(Decision(entry, "nothing", src, dst))
        elif asking[entry.target][0] is not entry:
            decisions.append(Decision(entry, "nothing", src, dst, f"copied by {asking[entry.target][0].where}"))
        else:
            decisions.append(Decision(entry, "copy", src, dst))
    return decisions
