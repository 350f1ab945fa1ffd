"""Times and durations as ci-tags reads and writes them, parsed in one place: durations like ``7d`` or ``1d12h``
(``max_age``, ``--max-age``) and RFC 3339 times (image configs, stamps' annotations, registry APIs)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from ci_tags.errors import BadInput

_DURATION_RE = re.compile(r"(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?")
_FRACTION_RE = re.compile(r"\.(\d+)")
DURATION_HINT = "use e.g. 7d, 36h, 90m, 2w or 1d12h: units w, d, h, m, largest first"


def parse_duration(text: str) -> timedelta:
    """``7d``, ``36h``, ``90m``, ``2w``, ``1d12h`` -> timedelta. Units in the order w, d, h, m, each at most once.

    Raises :class:`BadInput` for anything else, and for a duration of zero."""
    match = _DURATION_RE.fullmatch(text.strip())
    if not text.strip() or match is None:
        raise BadInput(f"invalid duration {text!r}", hint=DURATION_HINT)
    try:
        weeks, days, hours, minutes = (int(n) if n else 0 for n in match.groups())
        total = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes)
    except (OverflowError, ValueError):  # ValueError: more digits than int() takes
        raise BadInput(f"invalid duration {text!r}: too long", hint=DURATION_HINT) from None
    if total <= timedelta(0):
        raise BadInput(f"invalid duration {text!r}: it must be more than zero")
    return total


def format_duration(delta: timedelta) -> str:
    """Compact and exact to the second: ``7d``, ``1d12h``, ``9d3h2m5s``; ``0s`` for nothing."""
    seconds = int(abs(delta).total_seconds())
    parts = [(seconds // 86400, "d"), (seconds // 3600 % 24, "h"), (seconds // 60 % 60, "m"), (seconds % 60, "s")]
    text = "".join(f"{n}{unit}" for n, unit in parts if n) or "0s"
    return f"-{text}" if delta < timedelta(0) else text


def parse_time(value: object) -> datetime | None:
    """An RFC 3339 time (``2021-01-05T21:06:53.506400Z``, ``2019-01-06T16:49:51.272+00:00``) as an aware
    datetime; None when absent, not a string, unreadable, or without a zone (an unknown zone is no time at all)."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # fromisoformat takes at most microseconds (and, before Python 3.11, 3 or 6 digits); Go writes nanoseconds
    text = _FRACTION_RE.sub(lambda m: "." + (m.group(1) + "000000")[:6], text, count=1)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def format_rfc3339(when: datetime) -> str:
    """``2026-01-02T03:04:05Z``: UTC to the second, as stamps and image labels carry it."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_rfc3339() -> str:
    return format_rfc3339(datetime.now(timezone.utc))
