"""Pure retention rules of ``ci-tags janitor``: tags, digests and ages in; one decision per tag out. No I/O.

The janitor only ever removes tags that ci-tags itself makes: content tags and pipeline tags, recognised by their
templates (:func:`template_regex`). The first rule that applies decides; its code is the decision's ``reason``:

====  ============  ===============================================================================================
 1.   protected     a publish tag (``latest``...) or a branch-slug tag: kept
 2.   keep-regex    matches a ``--keep`` pattern (``re.search``, so anchor it with ``^`` to match a prefix): kept
 3.   signature     an OCI referrers-fallback tag (``sha256-<hex>``, with any suffix such as ``.sig``) or a
                    signature, attestation or SBOM tag (``*.sig``, ``*.att``, ``*.sbom``): kept by these rules;
                    it goes with its image in the janitor's graph phase (ci_tags/core/graph_expiry.py)
 4.   foreign       not a content or pipeline tag of ci-tags; tags ci-tags does not own are never removed: kept
 5.   current       a content tag of this checkout (any image x arch) or of a ``--keep-current-of`` ref (every
                    content tag when such a ref could not be read): kept
 6.   age-unknown   no trustworthy time (or a time without a time zone), its manifest could not be read, or a
                    pipeline tag numbered after one that could not be read: kept, since its age cannot be shown
 7.   in-use        a content tag that a kept tag's stamp names (its content tag, or its target image's digest),
                    e.g. the content tag ``latest`` was published from; and every content tag while a kept tag
                    that may carry a stamp (any but a content tag) could not be read, since it might name it: kept
 8.   keep-last     among the ``--keep-last`` N newest tags of its kind that rules 1-7 left to age: kept
 9.   young         tagged at most ``--max-age`` ago (also a time in the future, e.g. clock skew), or a pipeline
                    tag numbered after such a tag of its series (tagged after it, whatever its own stamp): kept
10.   expired       tagged strictly more than ``--max-age`` ago: **deleted**
====  ============  ===============================================================================================

Rule 7 is why a branch pipeline's janitor never removes what the default branch still uses: main's content tag
may be a month old and not current on the branch, but ``latest`` (and main's young pipeline tags) point at it.

Decisions are taken on complete reads only: a tag whose manifest could not be read (``TagInfo.unread``) has no
age, so it is kept (rule 6), and what its stamp would have protected is kept with it (rule 7). A listed tag whose
manifest is gone (``dangling``) and a tag left on an untag placeholder are no images anybody can pull: the janitor
finishes their removal without a rule, whatever their age (reasons ``dangling`` and ``placeholder``).

Boundary: "older than --max-age" means strictly older; a tag exactly ``max_age`` old is kept (``young``).
keep-last counts tags, not builds (a multi-arch build has a tag per arch plus its index), and only those that
age alone would decide, so a current or protected tag never uses up one of the N places.

The decisions name tags only. A tag removed here may share its digest with a kept tag, and a per-arch image may be
a child of a kept multi-arch index; the janitor untags without deleting what those still need:
:func:`must_still_resolve` lists the kept tags each removal must leave resolving, and :func:`deletable_by_digest`
is the one case where a tag may go by deleting its manifest's digest (one request instead of an untag).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Final, Literal

from ci_tags.core.arches import ARCHES
from ci_tags.core.pipeline_numbers import by_number
from ci_tags.core.pipeline_numbers import pipeline_series as pipeline_series  # re-exported: dating's shortcut
from ci_tags.core.reference import validate_tag
from ci_tags.core.times import format_duration
from ci_tags.errors import BadInput

# The kinds of tags ci-tags makes (and so may remove); a template makes the first two
TemplateKind = Literal["content", "pipeline"]
Kind = Literal["content", "pipeline", "intent"]
CONTENT: Final = "content"
PIPELINE: Final = "pipeline"
INTENT: Final = "intent"  # ``ci-tags-intent-<pipeline id>``: a publisher's recorded intent (ci_tags/core/publishing.py)
KINDS: tuple[TemplateKind, ...] = (CONTENT, PIPELINE)

# The rule that decided, in the order the rules apply (the module docstring's table)
# (and "placeholder": no rule, the janitor finishing a removal an interrupted run left on an untag placeholder;
# "dangling": no rule, a listed tag whose manifest is gone, left by an interrupted removal)
Reason = Literal["protected", "keep-regex", "signature", "foreign", "current", "age-unknown", "in-use", "keep-last",
                 "young", "expired", "placeholder", "dangling"]
PROTECTED: Final = "protected"
KEEP_REGEX: Final = "keep-regex"
SIGNATURE: Final = "signature"
FOREIGN: Final = "foreign"
CURRENT: Final = "current"
AGE_UNKNOWN: Final = "age-unknown"
IN_USE: Final = "in-use"
KEEP_LAST: Final = "keep-last"
YOUNG: Final = "young"
EXPIRED: Final = "expired"
LEFTOVER: Final = "placeholder"
DANGLING: Final = "dangling"
REASONS: tuple[Reason, ...] = (PROTECTED, KEEP_REGEX, SIGNATURE, FOREIGN, CURRENT, AGE_UNKNOWN, IN_USE, KEEP_LAST,
                               YOUNG, EXPIRED)
ORDER_SOURCE = "order:"  # time_source prefix of a pipeline tag dated by its number: "order:<older tag read>"

SIGNATURE_RE = re.compile(r"sha(?:256|512)-[0-9a-f]{64}.*|.*\.(?:sig|att|sbom)")
DEFAULT_HASH_LENGTH = 64  # a sha256 hex digest, as hashing.py and imageset.py make them
MIN_HASH_LENGTH = 12
# GitLab: CI_PIPELINE_IID; Jenkins: <branch slug>-<BUILD_NUMBER> (a slug as reference.slugify makes it)
PIPELINE_ID_RE = r"(?:[0-9]+|[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?-[0-9]+)"
INTENT_RE = re.compile(r"ci-tags-intent-" + PIPELINE_ID_RE)
_PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")


def template_regex(
    template: str,
    kind: TemplateKind,
    *,
    hash_length: int = DEFAULT_HASH_LENGTH,
    arches: Sequence[str] = ARCHES,
) -> re.Pattern[str]:
    """A strict pattern (use ``fullmatch``) for the tags that a content or pipeline tag template makes.

    Literals are escaped. A content template holds ``{hash}`` (``hash_length`` lowercase hex digits) and its tags
    may end in ``-<arch>`` for a known arch (per-arch images of a multi-arch set); a pipeline template holds
    ``{pipeline_id}`` (digits, or ``<branch-slug>-<digits>`` as on Jenkins). A placeholder used twice must hold the
    same value both times. Raises :class:`BadInput` for a template that cannot make valid tags of that kind."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind}")
    name = "hash" if kind == CONTENT else "pipeline_id"
    if kind == CONTENT and not MIN_HASH_LENGTH <= hash_length <= 64:
        raise BadInput(f"hash length {hash_length} is outside {MIN_HASH_LENGTH}..64")
    value = f"[0-9a-f]{{{hash_length}}}" if kind == CONTENT else PIPELINE_ID_RE
    where = f"{kind} tag template {template!r}"
    pieces: list[str | None] = []  # literals, and None where the placeholder stands
    pos, seen = 0, False
    for m in _PLACEHOLDER_RE.finditer(template):
        pieces.append(template[pos : m.start()])
        if m.group(1) != name:
            raise BadInput(f"{where}: unknown placeholder {m.group(0)}", hint=f"a {kind} template uses {{{name}}}")
        pieces.append(None)
        pos, seen = m.end(), True
    pieces.append(template[pos:])
    literals = [p for p in pieces if p is not None]
    if not seen:
        raise BadInput(f"{where}: must contain {{{name}}}")
    if any("{" in p or "}" in p for p in literals):
        raise BadInput(f"{where}: unbalanced brace")
    example = "0" * hash_length if kind == CONTENT else "1"
    try:
        validate_tag(template.replace(f"{{{name}}}", example))
    except BadInput as exc:
        raise BadInput(f"{where}: does not make valid tags: {exc.message}") from None
    regex, first = "", True
    for piece in pieces:
        if piece is not None:
            regex += re.escape(piece)
        else:  # the first placeholder captures, the others must repeat it
            regex += f"(?P<{name}>{value})" if first else f"(?P={name})"
            first = False
    if kind == CONTENT:
        regex += "(?:-(?P<arch>" + "|".join(re.escape(a) for a in arches) + "))?"
    return re.compile(regex)


@dataclass(frozen=True)
class TagInfo:
    """One tag as the janitor found it."""

    tag: str
    digest: str | None
    time: datetime | None  # when the tag was made or pushed (tz-aware); None when unknown
    time_source: str = "unknown"  # where ``time`` came from: "stamp", "push", "image-created", "unknown", or
    # ORDER_SOURCE + an older pipeline tag of the same series whose stamp was read: a pipeline tag with a later
    # number was tagged later, so ``time`` (that older tag's) is an upper bound of its age
    refers_to: frozenset[str] = frozenset()  # what its ci-tags stamp names: a content tag and the target's digest
    unread: str = ""  # why its manifest (its stamp, or its image's config) could not be read; "" when it was


@dataclass(frozen=True)
class Policy:
    """What to keep. ``content``/``pipeline`` come from :func:`template_regex`."""

    max_age: timedelta
    content: re.Pattern[str]
    pipeline: re.Pattern[str]
    protected: frozenset[str] = frozenset({"latest"})  # publish tags and branch-slug tags
    keep_patterns: tuple[re.Pattern[str], ...] = ()
    current: frozenset[str] = frozenset()  # content tags of every image x arch of this checkout (and refs)
    keep_last: int = 0  # per kind
    keep_all_content: str = ""  # why every content tag is kept (a --keep-current-of ref that cannot be read)

    def __post_init__(self) -> None:
        if self.max_age <= timedelta(0):
            raise BadInput(f"max age must be more than zero, not {self.max_age}")
        if self.keep_last < 0:
            raise BadInput(f"keep-last must be 0 or more, not {self.keep_last}")


@dataclass(frozen=True)
class Decision:
    tag: str
    delete: bool
    reason: Reason
    detail: str = ""  # for people: why this rule applies
    kind: Kind | None = None  # None: not a tag of ci-tags

    @property
    def action(self) -> str:
        return "delete" if self.delete else "keep"

    def __str__(self) -> str:
        return f"{self.action} {self.tag}: {self.reason}" + (f": {self.detail}" if self.detail else "")


def kind_of(tag: str, policy: Policy) -> Kind | None:
    """CONTENT or PIPELINE when a template of ``policy`` makes ``tag`` (content wins if both do), INTENT for a
    publish intent (ci-tags' own, never foreign: an intent older than max-age goes, the newest one stays), else
    None."""
    if policy.content.fullmatch(tag):
        return CONTENT
    if policy.pipeline.fullmatch(tag):
        return PIPELINE
    if INTENT_RE.fullmatch(tag):
        return INTENT
    return None


def _known_time(info: TagInfo) -> datetime | None:
    """The tag's time if it can be compared: a naive time is not trusted (its zone is a guess)."""
    t = info.time
    return t if t is not None and t.utcoffset() is not None else None


def _kept_at_any_age(info: TagInfo, kind: Kind | None, policy: Policy) -> tuple[Reason, str] | None:
    """Rules 1-6 of the module docstring: (reason, detail) when the tag is kept whatever its age."""
    tag = info.tag
    if tag in policy.protected:
        return PROTECTED, "a publish or branch-slug tag"
    hit = next((p for p in policy.keep_patterns if p.search(tag)), None)
    if hit is not None:
        return KEEP_REGEX, f"matches {hit.pattern}"
    if SIGNATURE_RE.fullmatch(tag):
        return SIGNATURE, "a signature, attestation or referrers tag"
    if kind is None:
        return FOREIGN, "not a content or pipeline tag of ci-tags"
    if tag in policy.current:
        return CURRENT, "a content tag of the current checkout"
    if kind == CONTENT and policy.keep_all_content:
        return CURRENT, policy.keep_all_content
    if info.unread:
        return AGE_UNKNOWN, f"could not be read: {info.unread}"
    if _known_time(info) is None:
        if info.time is not None:
            return AGE_UNKNOWN, f"its time ({info.time_source}) has no time zone"
        if info.time_source == "unknown":
            return AGE_UNKNOWN, "no pipeline stamp, push time or image creation time"
        return AGE_UNKNOWN, f"no time from {info.time_source}"
    return None


def age_matters(tag: str, policy: Policy) -> bool:
    """Whether the tag's age can decide it: False when rules 1-5 keep it at any age, so the janitor need not
    look its age up (no image config is read for a current content tag, for instance)."""
    probe = TagInfo(tag, None, datetime(2000, 1, 1, tzinfo=timezone.utc), "probe")
    return _kept_at_any_age(probe, kind_of(tag, policy), policy) is None


def _one_per_tag(tags: Iterable[TagInfo]) -> list[TagInfo]:
    """Sorted by tag. Should a tag come twice, the entry least likely to expire wins (unknown, else newest)."""
    def caution(i: TagInfo) -> tuple[bool, float, str, str]:
        t = _known_time(i)
        return t is not None, -t.timestamp() if t else 0.0, i.digest or "", i.time_source

    chosen: dict[str, TagInfo] = {}
    for info in tags:
        if info.tag not in chosen or caution(info) < caution(chosen[info.tag]):
            chosen[info.tag] = info
    return [chosen[t] for t in sorted(chosen)]


def _ago(info: TagInfo, now: datetime, time: datetime) -> str:
    age = now - time
    if info.time_source.startswith(ORDER_SOURCE):
        older = info.time_source[len(ORDER_SOURCE):]
        return f"tagged at most {format_duration(age)} ago (numbered after {older}, stamped then)"
    if age < timedelta(0):
        return f"tagged {format_duration(-age)} in the future ({info.time_source}): clock skew?"
    return f"tagged {format_duration(age)} ago ({info.time_source})"


def _in_use(info: TagInfo, policy: Policy, named: Mapping[str, str]) -> str | None:
    """Rule 7: the kept tag whose stamp names this content tag or its image's digest; else None."""
    keys = [info.tag, info.digest or ""]
    return next((named[k] for k in keys if k and k in named), None)


def decide(tags: Iterable[TagInfo], policy: Policy, now: datetime) -> list[Decision]:
    """One decision per distinct tag, sorted by tag; independent of the input order. ``now`` is tz-aware.

    Content tags are decided after the others, since a kept tag's stamp can keep one (rule 7)."""
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    infos = _one_per_tag(tags)
    decisions: dict[str, Decision] = {}
    aging: dict[Kind, list[tuple[datetime, TagInfo]]] = {CONTENT: [], PIPELINE: [], INTENT: []}
    for info in infos:
        kind = kind_of(info.tag, policy)
        kept = _kept_at_any_age(info, kind, policy)
        time = _known_time(info)
        if kept is not None:
            decisions[info.tag] = Decision(info.tag, False, *kept, kind)
        else:
            assert kind is not None and time is not None  # else "foreign" or "age-unknown" kept it
            aging[kind].append((time, info))
    # rule 9 over pipeline numbers: a tag numbered after a young (or unread) one is dated by it
    by_order, after_unread = by_number({i.tag: t for t, i in aging[PIPELINE]}, {i.tag for i in infos if i.unread},
                                       policy, now)
    pipelines = []
    for time, info in aging[PIPELINE]:
        if info.tag in after_unread:
            decisions[info.tag] = Decision(info.tag, False, AGE_UNKNOWN, f"numbered after {after_unread[info.tag]},"
                                           " which could not be read (it may be young)", PIPELINE)
        elif info.tag in by_order:
            when, young = by_order[info.tag]
            pipelines.append((when, replace(info, time=when, time_source=ORDER_SOURCE + young)))
        else:
            pipelines.append((time, info))
    _decide_by_age(pipelines, PIPELINE, policy, now, decisions)
    _decide_by_age(aging[INTENT], INTENT, policy, now, decisions)
    # what the kept tags' stamps name -> the tag that names it (for the detail)
    named: dict[str, str] = {}
    unread: TagInfo | None = None  # a kept tag whose stamp could not be read: it might name any content tag
    for info in infos:
        if not decisions.get(info.tag, Decision(info.tag, True, EXPIRED)).delete:
            for ref in sorted(info.refers_to):
                named.setdefault(ref, info.tag)
            if info.unread and unread is None and kind_of(info.tag, policy) != CONTENT:
                unread = info
    still_aging = []
    for time, info in aging[CONTENT]:
        by = _in_use(info, policy, named)
        if by is not None:
            decisions[info.tag] = Decision(info.tag, False, IN_USE, f"{by} points at it", CONTENT)
        elif unread is not None:
            decisions[info.tag] = Decision(info.tag, False, IN_USE, f"{unread.tag} could not be read, so might point "
                                           f"at it ({unread.unread})", CONTENT)
        else:
            still_aging.append((time, info))
    _decide_by_age(still_aging, CONTENT, policy, now, decisions)
    return [decisions[i.tag] for i in infos]


def _decide_by_age(dated: list[tuple[datetime, TagInfo]], kind: Kind, policy: Policy, now: datetime,
                   decisions: dict[str, Decision]) -> None:
    """Rules 8-10 over the tags of one kind that only their age decides."""
    limit = format_duration(policy.max_age)
    keep_n = max(policy.keep_last, 1) if kind == INTENT else policy.keep_last  # the newest intent stays
    for rank, (time, info) in enumerate(sorted(dated, key=lambda d: (d[0], d[1].tag), reverse=True)):
        age = now - time
        ago = _ago(info, now, time)
        if rank < keep_n:
            decision = Decision(info.tag, False, KEEP_LAST, f"among the {keep_n} newest {kind} tags; {ago}", kind)
        elif age > policy.max_age:
            decision = Decision(info.tag, True, EXPIRED, f"{ago} > {limit}", kind)
        else:
            decision = Decision(info.tag, False, YOUNG, f"{ago} <= {limit}", kind)
        decisions[info.tag] = decision


def must_still_resolve(tags: Mapping[str, str | None], decisions: Iterable[Decision]) -> dict[str, str]:
    """Digest safety: each kept tag that shares a digest with a deleted one, and the digest it must still resolve
    to after the run (the janitor checks these). ``tags`` maps every tag of the repository to its digest."""
    decided = list(decisions)
    deleted = {d.tag for d in decided if d.delete}
    shared = {digest for tag in deleted if (digest := tags.get(tag)) is not None}
    return {t: d for t, d in sorted(tags.items()) if t not in deleted and d is not None and d in shared}


def deletable_by_digest(tag: str, digests: Mapping[str, str], *, stamped: bool, referenced: Collection[str],
                        all_read: bool) -> bool:
    """Whether a doomed tag may be removed by deleting its manifest by digest rather than untagged: only ci-tags'
    own stamped index (``stamped``), whose digest is unique to it, so no tag made after the inventory can need it
    (another pipeline's stamp points at an image, never at a stamp); and only when no other tag of ``digests``
    (every tag read -> its digest) shares it, no kept index refers to it (``referenced``), and every tag's
    manifest could be read (``all_read``: an unreadable one might be such an index). An image's digest may gain
    a tag or an index entry meanwhile (a concurrent plan): those go by the untag that keeps siblings."""
    digest = digests[tag]
    shared = any(d == digest and t != tag for t, d in digests.items())
    return stamped and not shared and digest not in referenced and all_read


@dataclass
class Summary:
    """Counts for the report: tags deleted (per kind), and tags kept per reason code."""

    removed: int = 0
    removed_by_kind: Counter[str] = field(default_factory=Counter)
    kept: Counter[str] = field(default_factory=Counter)

    @classmethod
    def of(cls, decisions: Iterable[Decision]) -> Summary:
        summary = cls()
        for d in decisions:
            if d.delete:
                summary.removed += 1
                summary.removed_by_kind[d.kind or "?"] += 1
            else:
                summary.kept[d.reason] += 1
        return summary
