"""The janitor's one flow for a repository, whatever the backend: date the tags, decide (ci_tags/core/policy.py),
remove the doomed ones concurrently, check the outcome with one more listing.

What differs per backend is a :class:`Tags` source: through the registry API (registry_api.py: stamps, image
creation times, the safe untag) for a backend that cannot remove single tags by its own API, else through the
backend's API (service_api.py: the service's dates, its single-tag removal). ``Janitor.clean_one``
(run.py) picks it from the backend's capabilities (ci_tags/backends/__init__.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ci_tags.concurrency import run_all
from ci_tags.core.policy import DANGLING, LEFTOVER, Decision, TagInfo
from ci_tags.errors import CiTagsError, NotFound

LISTING = "(tag listing)"  # key in Outcome.failed when a listing itself failed; never a valid tag
PLACEHOLDER_DETAIL = "left on an untag placeholder by an interrupted removal"
DANGLING_DETAIL = "listed, but its manifest is gone (an interrupted removal): nobody can pull it"


@dataclass
class Outcome:
    repository: str
    decisions: list[Decision]
    removed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    restored: list[str] = field(default_factory=list)
    vanished: list[str] = field(default_factory=list)  # kept tags someone else removed during the run
    unreadable: dict[str, str] = field(default_factory=dict)  # tags whose manifest could not be read: kept
    moved: list[str] = field(default_factory=list)  # doomed tags someone re-tagged since the inventory: left
    not_started: list[str] = field(default_factory=list)  # doomed tags left alone after a stop (SIGTERM/SIGINT)

    @property
    def partial(self) -> bool:
        """Decided on incomplete reads: what could not be read was kept, with all it might protect."""
        return bool(self.unreadable)


@dataclass
class Dated:
    """A repository's tags as a source found them: dated tags to decide, the tags whose manifest (or stamp, or
    image config) could not be read (kept, the run partial), and tags left by an interrupted removal on untag
    placeholders or dangling (listed without a manifest): finished, never decided."""

    infos: list[TagInfo] = field(default_factory=list)
    unreadable: dict[str, str] = field(default_factory=dict)
    leftovers: list[str] = field(default_factory=list)
    dangling: list[str] = field(default_factory=list)


class Tags(Protocol):
    """One repository's tags as the engine needs them from a backend."""

    name: str  # host/path, for messages

    def date(self) -> Dated:
        """List and date the tags; NotFound when the repository does not exist."""
        ...

    def finish(self, leftovers: list[str], outcome: Outcome) -> None:
        """Finish the interrupted removals of ``leftovers`` (placeholders, dangling tags), recording each as
        removed, failed or moved."""
        ...

    def remover(self, outcome: Outcome) -> Callable[[Decision], bool]:
        """What removes one doomed tag (after the decisions are in ``outcome``): True when removed, False when
        the tag changed since it was read (the decision no longer holds); raises CiTagsError when it failed."""
        ...

    def check(self, outcome: Outcome) -> None:
        """One listing after the removals: a removed tag still there fails, a kept tag gone is reported."""
        ...


class _NotStarted(CiTagsError):
    """A removal not started because the run was asked to stop."""


def carry_out(outcome: Outcome, doomed: list[Decision], remove: Callable[[Decision], bool], concurrency: int,
              stop: threading.Event | None = None) -> None:
    """Run ``remove`` over the doomed tags concurrently; record each as removed, failed with the reason, or
    moved (``remove`` returned False). Once ``stop`` is set no removal starts; those in flight finish."""
    def guarded(decision: Decision) -> bool:
        if stop is not None and stop.is_set():
            raise _NotStarted("not started: the run was asked to stop")
        return remove(decision)

    for decision, result, err in run_all(guarded, doomed, concurrency):
        if isinstance(err, _NotStarted):
            outcome.not_started.append(decision.tag)
        elif err is not None:
            outcome.failed[decision.tag] = str(err)
        elif result is False:
            outcome.moved.append(decision.tag)
        else:
            outcome.removed.append(decision.tag)


def clean(
    tags: Tags,
    decide: Callable[[list[TagInfo]], list[Decision]],
    *,
    dry_run: bool,
    concurrency: int,
    on_removed: Callable[[Decision], None] = lambda d: None,
    missing_ok: bool = True,
    stop: threading.Event | None = None,
) -> Outcome:
    """Date, decide, remove and check one repository. A repository that does not exist has nothing to clean
    when ``missing_ok`` (an image of the set not pushed yet: a project's first pipeline), else NotFound."""
    try:
        dated = tags.date()
    except NotFound:
        if not missing_ok:
            raise NotFound(f"{tags.name}: no such repository") from None
        dated = Dated()
    decisions = decide(dated.infos)
    outcome = Outcome(tags.name, decisions, unreadable=dated.unreadable)
    finishing = [*(Decision(t, True, LEFTOVER, PLACEHOLDER_DETAIL, None) for t in dated.leftovers),
                 *(Decision(t, True, DANGLING, DANGLING_DETAIL, None) for t in dated.dangling)]
    if finishing:
        outcome.decisions = sorted([*decisions, *finishing], key=lambda d: d.tag)
        if not dry_run:
            tags.finish([d.tag for d in finishing], outcome)
    doomed = [d for d in decisions if d.delete]
    if dry_run or not doomed:
        return outcome
    remove = tags.remover(outcome)

    def removing(decision: Decision) -> bool:
        removed = remove(decision)
        if removed:
            on_removed(decision)  # as it happens: a job killed by its timeout still shows every removal made
        return removed

    carry_out(outcome, doomed, removing, concurrency, stop)
    tags.check(outcome)
    return outcome
