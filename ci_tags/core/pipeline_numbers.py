"""Pipeline numbers order pipeline tags by age within their series: GitLab's CI_PIPELINE_IID per project, Jenkins'
BUILD_NUMBER per branch (``<slug>-<number>``). Pure; the janitor's policy (ci_tags/core/policy.py, rule 9) and its
steady-state dating shortcut (ci_tags/services/janitor/dating.py) both read ages through this order."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ci_tags.core.policy import Policy


def pipeline_series(tags: Iterable[str], policy: Policy) -> list[list[str]]:
    """The pipeline tags among ``tags`` in series, each oldest first: pipeline numbers grow with time, so a tag's
    number orders it by age within its series without reading its stamp."""
    series: dict[str, list[tuple[int, str]]] = {}
    for tag in tags:
        match = policy.pipeline.fullmatch(tag)
        if match is None or policy.content.fullmatch(tag):
            continue
        name, _, number = match["pipeline_id"].rpartition("-")
        series.setdefault(name, []).append((int(number), tag))
    return [[tag for _, tag in sorted(found)] for _, found in sorted(series.items())]


def by_number(dated: Mapping[str, datetime], unread: Collection[str], policy: Policy, now: datetime,
              ) -> tuple[dict[str, tuple[datetime, str]], dict[str, str]]:
    """Ages read through the order: a tag numbered after a young tag of its series was tagged after it, so it is
    young too, whatever its own older stamp says (a re-run job re-stamping an old number); a tag numbered after
    one that could not be read (``unread``) may be young. Returns, of the ``dated`` tags (tag -> time), those
    dated by an earlier young tag (-> (its time, its tag)) and those after an unread tag (-> that tag).

    So a run that read a whole series decides as the steady state does (it reads up to the first young tag):
    whatever one run removes, and may leave behind when interrupted, the next run reads."""
    by_order: dict[str, tuple[datetime, str]] = {}
    after_unread: dict[str, str] = {}
    for series in pipeline_series([*dated, *(t for t in unread if t not in dated)], policy):
        young: tuple[datetime, str] | None = None
        blocked = ""
        for tag in series:
            if tag not in dated:
                blocked = blocked or tag
            elif blocked:
                after_unread[tag] = blocked
            elif young is not None and dated[tag] < young[0]:
                by_order[tag] = young
            elif young is None and now - dated[tag] <= policy.max_age:
                young = (dated[tag], tag)
    return by_order, after_unread
