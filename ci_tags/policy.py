"""Pure retention rules of ``ci-tags janitor``: tags, digests and ages in; one decision per tag out.

The janitor only ever removes tags that ci-tags itself makes (content and pipeline tags, by their templates).
In order, a tag is kept when it is:
1. a publish tag (``latest``...) or a branch-slug tag;           reason ``protected``
2. matched by a ``--keep`` pattern;                               reason ``keep-regex``
3. a signature, attestation or referrers tag (``sha256-<hex>``, ``.sig``, ``.att``, ``.sbom``); ``signature``
4. not a content or pipeline tag of ci-tags;                      reason ``foreign``
5. a current content tag (this checkout, or --keep-current-of);  reason ``current``
6. of unknown age;                                                reason ``age-unknown``
7. among the ``--keep-last`` newest of its kind;                  reason ``keep-last``
8. not older than ``--max-age`` (older means strictly more);      reason ``young``
and removed otherwise (reason ``expired``). Digests are never removed by policy: only tags.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ci_tags.config import ARCHES
from ci_tags.errors import BadInput

CONTENT = "content"
PIPELINE = "pipeline"
SIGNATURE_RE = re.compile(r"(sha256-[0-9a-f]{64}(\..*)?|.*\.(sig|att|sbom))")
_DURATION_RE = re.compile(r"(\d+)([wdhm])")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}


def parse_duration(text: str) -> timedelta:
    """``7d``, ``36h``, ``90m``, ``2w``, ``1d12h`` -> timedelta; anything else, or zero, is bad input."""
    parts = _DURATION_RE.findall(text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise BadInput(f"invalid duration {text!r}", hint="use e.g. 7d, 36h, 90m, 2w or 1d12h")
    total = sum((timedelta(**{_UNITS[u]: int(n)}) for n, u in parts), timedelta())
    if total <= timedelta(0):
        raise BadInput(f"invalid duration {text!r}: it must be more than zero")
    return total


def template_regex(template: str, kind: str) -> re.Pattern[str]:
    """A strict pattern for the tags a template makes; content tags may end in ``-<arch>``."""
    pieces = re.split(r"(\{hash\}|\{pipeline_id\})", template)
    out = []
    for piece in pieces:
        if piece == "{hash}":
            out.append("[0-9a-f]{12,64}")
        elif piece == "{pipeline_id}":
            out.append("(?:[0-9]+|[a-z0-9][a-z0-9-]*-[0-9]+)")
        else:
            out.append(re.escape(piece))
    suffix = "(?:-(?:" + "|".join(re.escape(a) for a in ARCHES) + "))?" if kind == CONTENT else ""
    return re.compile("".join(out) + suffix)


@dataclass(frozen=True)
class TagInfo:
    tag: str
    digest: str | None
    time: datetime | None  # when the tag was made or pushed (tz-aware); None when unknown
    time_source: str = "unknown"  # "stamp", "push", "image-created", "unknown"


@dataclass(frozen=True)
class Policy:
    max_age: timedelta
    content: re.Pattern[str]
    pipeline: re.Pattern[str]
    protected: frozenset[str] = frozenset({"latest"})
    keep_patterns: tuple[re.Pattern[str], ...] = ()
    current: frozenset[str] = frozenset()
    keep_last: int = 0


@dataclass(frozen=True)
class Decision:
    tag: str
    delete: bool
    reason: str  # a code from the module docstring
    detail: str = ""
    kind: str | None = None  # CONTENT, PIPELINE or None


def kind_of(tag: str, policy: Policy) -> str | None:
    if policy.content.fullmatch(tag):
        return CONTENT
    if policy.pipeline.fullmatch(tag):
        return PIPELINE
    return None


def _age(delta: timedelta) -> str:
    if delta >= timedelta(days=2):
        return f"{delta.days}d"
    return f"{int(delta.total_seconds() // 3600)}h"


def decide(tags: Iterable[TagInfo], policy: Policy, now: datetime) -> list[Decision]:
    """One decision per tag, sorted by tag; independent of the input order."""
    infos = sorted({t.tag: t for t in tags}.values(), key=lambda t: t.tag)
    decisions: dict[str, Decision] = {}
    candidates: dict[str, list[TagInfo]] = {CONTENT: [], PIPELINE: []}
    for info in infos:
        tag = info.tag
        kind = kind_of(tag, policy)
        if tag in policy.protected:
            decisions[tag] = Decision(tag, False, "protected", "a publish or branch tag", kind)
        elif any(p.search(tag) for p in policy.keep_patterns):
            decisions[tag] = Decision(tag, False, "keep-regex", "matches --keep", kind)
        elif SIGNATURE_RE.fullmatch(tag):
            decisions[tag] = Decision(tag, False, "signature", "a signature, attestation or referrers tag", kind)
        elif kind is None:
            decisions[tag] = Decision(tag, False, "foreign", "not a tag ci-tags makes", None)
        elif kind == CONTENT and tag in policy.current:
            decisions[tag] = Decision(tag, False, "current", "the content tag of a current image", kind)
        elif info.time is None:
            decisions[tag] = Decision(tag, False, "age-unknown", "no trustworthy time for this tag", kind)
        else:
            candidates[kind].append(info)
    for kind, infos_of_kind in candidates.items():
        newest = sorted(infos_of_kind, key=lambda t: (t.time, t.tag), reverse=True)
        for rank, info in enumerate(newest):
            assert info.time is not None
            age = now - info.time
            if rank < policy.keep_last:
                decisions[info.tag] = Decision(info.tag, False, "keep-last", f"among the {policy.keep_last} newest "
                                               f"{kind} tags", kind)
            elif age > policy.max_age:
                decisions[info.tag] = Decision(info.tag, True, "expired", f"{_age(age)} old ({info.time_source})",
                                               kind)
            else:
                decisions[info.tag] = Decision(info.tag, False, "young", f"{_age(age)} old", kind)
    return [decisions[t.tag] for t in infos]


def must_still_resolve(tags: Mapping[str, str | None], decisions: Iterable[Decision]) -> dict[str, str]:
    """Kept tags that share a digest with a removed one, and the digest each must still resolve to after."""
    doomed = {d.tag for d in decisions if d.delete}
    doomed_digests = {tags[t] for t in doomed if tags.get(t)}
    return {t: d for t, d in tags.items() if t not in doomed and d is not None and d in doomed_digests}


@dataclass
class Summary:
    removed: int = 0
    kept: Counter[str] = field(default_factory=Counter)

    @classmethod
    def of(cls, decisions: Iterable[Decision]) -> Summary:
        s = cls()
        for d in decisions:
            if d.delete:
                s.removed += 1
            else:
                s.kept[d.reason] += 1
        return s
