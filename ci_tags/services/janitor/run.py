"""A janitor run over several repositories: each through the backend its host calls for, each on its own (a
repository that cannot be listed or cleaned is named in the summary; the others are still cleaned), stopped
between removals by SIGTERM (a job's timeout or cancel) or SIGINT with the summary of what was done."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Protocol

from ci_tags.backends import Capability, has, spec_of
from ci_tags.core.hosts import DOCKER_HUB, DOCKER_HUB_HOSTS
from ci_tags.core.policy import Decision, TagInfo, decide
from ci_tags.errors import AuthError, BadInput, CiTagsError, NotFound, OperationFailed
from ci_tags.services.janitor.engine import LISTING, Outcome, Tags
from ci_tags.services.janitor.targets import Target

if TYPE_CHECKING:
    from ci_tags.backends.base import Backend
    from ci_tags.oci.registries import Registries
    from ci_tags.services.janitor.graphs import GraphOutcome


class Live(Protocol):
    """What the janitor reports as it goes (the command wires it to the output)."""

    def through(self, host: str, api: str) -> None:
        """``host``'s tags are listed, dated and removed through that service's API."""

    def decided(self, name: str, doomed: int) -> None:
        """The decisions on a repository are made: ``doomed`` tags to remove."""

    def removed(self, name: str, decision: Decision) -> None:
        """One tag removed, as it happens (a job killed by its timeout still logs every removal made)."""

    def finished(self, name: str, outcome: Outcome | None, error: CiTagsError | None) -> None:
        """A repository is done: its outcome, or the error that stopped it (NotFound: no such repository)."""

    def stopped(self, signal_name: str, left: int) -> None:
        """A signal stopped the run: ``left`` tags and repositories are left for the next run."""


class Stopped(CiTagsError):
    """The run was stopped by a signal; the summary of what was done was shown."""

    label = "stopped"
    kind = "interrupted"

    def __init__(self, signum: int) -> None:
        super().__init__(f"{signal.Signals(signum).name}: stopped early")
        self.exit_code = 128 + signum


@dataclass
class Cleaned:
    """A janitor run: the outcome per repository cleaned, in order."""

    dry_run: bool
    outcomes: list[tuple[str, Outcome]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # repositories that do not exist
    broken: dict[str, str] = field(default_factory=dict)  # repositories that could not be cleaned -> why
    refused: set[str] = field(default_factory=set)  # those of them whose service refused the credentials
    signal: int | None = None  # the signal that stopped the run
    left: int = 0  # tags and repositories a stopped run left for the next one
    graphs: dict[str, GraphOutcome] = field(default_factory=dict)  # the graph phase per repository (graphs.py)

    def removed(self, outcome: Outcome) -> list[str]:
        """The tags a real run removed, or the ones a dry run would remove."""
        return [d.tag for d in outcome.decisions if d.delete] if self.dry_run else outcome.removed

    @property
    def failures(self) -> int:
        return sum(len(o.failed) for _, o in self.outcomes) + sum(len(g.failed) for g in self.graphs.values())

    @property
    def unread(self) -> int:
        """Tags that could not be read: the run is partial (they were kept, with all they might protect)."""
        return sum(len(o.unreadable) for _, o in self.outcomes)

    @property
    def failure(self) -> CiTagsError | None:
        if self.signal is not None:
            return Stopped(self.signal)
        tags = self.failures - len(self.broken)
        if self.broken and set(self.broken) <= self.refused and not tags:  # a refused token: exit 3, not 1
            return AuthError(f"{len(self.broken)} of {len(self.outcomes)} repositories could not be cleaned: the "
                             f"credentials were refused ({', '.join(self.broken)})")
        partial = (f"partial run: {self.unread} tags could not be read and were kept, with every tag their stamps "
                   "might protect" if self.unread else "")
        if self.broken:
            names = ", ".join(self.broken)
            also = f"; {tags} tags could not be removed or checked" if tags else ""
            return OperationFailed(f"{len(self.broken)} of {len(self.outcomes)} repositories could not be "
                                   f"cleaned ({names}){also}{'; ' + partial if partial else ''}; a re-run retries "
                                   "them")
        if tags:
            return OperationFailed(f"{tags} tags could not be removed or checked{'; ' + partial if partial else ''}; "
                                   "a re-run retries them")
        if partial:
            return OperationFailed(f"{partial}; a re-run decides them")
        if self.missing:
            return NotFound(f"no such repository: {', '.join(self.missing)}",
                            hint="a repository is created by its first push; check the name")
        return None

    def document(self) -> Mapping[str, Any]:
        report: list[dict[str, Any]] = [{
            "repository": name,
            "removed": self.removed(outcome),
            "failed": outcome.failed,
            "restored": outcome.restored,
            "vanished": outcome.vanished,
            "moved": outcome.moved,
            "kept": {d.tag: d.reason for d in outcome.decisions if not d.delete},
            "unreadable": outcome.unreadable,
            "not_started": outcome.not_started,
            "graph": self.graphs[name].document(self.dry_run) if name in self.graphs else None,
            "partial": outcome.partial,
        } for name, outcome in self.outcomes]
        graph_removed = sum(len(g.document(self.dry_run)["removed"]) for g in self.graphs.values())
        return {"dry_run": self.dry_run, "repositories": report, "partial": self.unread > 0,
                "counts": {"removed": sum(len(r["removed"]) for r in report), "failed": self.failures,
                           "graph_removed": graph_removed, "unreadable": self.unread}}


@contextlib.contextmanager
def stop_on_signals() -> Iterator[tuple[threading.Event, list[int]]]:
    """SIGTERM (a job's timeout or cancel) and SIGINT set the event: no removal starts after it, those in flight
    finish, and the summary is printed. Signal handlers can only be set from the main thread; elsewhere (an
    embedding program) the signals keep their own handling."""
    stop, received = threading.Event(), []

    def handler(signum: int, frame: object) -> None:
        received.append(signum)
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        yield stop, received
        return
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop, received
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class Janitor:
    """Cleans targets one after the other; ``backend_for(host)`` builds the backend a host calls for."""

    def __init__(self, registries: Registries, backend_for: Callable[[str], Backend], live: Live, *,
                 dry_run: bool, concurrency: int, use_registry_api: bool = False) -> None:
        self.registries, self.backend_for, self.live = registries, backend_for, live
        self.dry_run, self.concurrency = dry_run, concurrency
        self.use_registry_api = use_registry_api  # --backend oci: no other backend is even built
        self._chosen: dict[str, Backend | None] = {}
        self.graphs: dict[str, GraphOutcome] = {}
        self.now = datetime.now(timezone.utc)

    def _backend(self, registry_host: str) -> Backend | None:
        """The API to clean through, once per host; None for the registry API (stamps, safe untag), which is
        for every backend that cannot date tags and remove single tags by its own API."""
        host = DOCKER_HUB if registry_host in DOCKER_HUB_HOSTS else registry_host
        if host not in self._chosen:
            backend = None if self.use_registry_api else self.backend_for(host)
            if backend is not None and not has(backend, Capability.DELETES_BY_TAG | Capability.DATES_TAGS):
                backend = None
            if backend is not None:
                self.live.through(host, spec_of(backend).api)
            self._chosen[host] = backend
        return self._chosen[host]

    def clean_one(self, target: Target, stop: threading.Event) -> Outcome:
        from ci_tags.services.janitor.engine import clean

        ref, policy, name = target.ref, target.policy, target.ref.name
        backend = self._backend(ref.registry)

        def decided(infos: list[TagInfo]) -> list[Decision]:
            decisions = decide(infos, policy, self.now)
            self.live.decided(name, sum(1 for d in decisions if d.delete))
            return decisions

        if backend is None:
            from ci_tags.services.janitor.registry_api import RegistryTags

            tags: Tags = RegistryTags(self.registries.get(ref.api_host), ref.repository, policy, self.now,
                                     self.concurrency)
        else:
            from ci_tags.services.janitor.service_api import ServiceTags

            tags = ServiceTags(backend, name, policy, self.now, self.concurrency,
                               lambda: (self.registries.get(ref.api_host), ref.repository))
        outcome = clean(tags, decided, dry_run=self.dry_run, concurrency=self.concurrency,
                        on_removed=lambda d: self.live.removed(name, d), missing_ok=target.missing_ok, stop=stop)
        if not stop.is_set():  # the graph phase, after the removals (graphs.py)
            from ci_tags.services.janitor.graphs import graph_phase

            graph = graph_phase(tags, outcome, now=self.now, dry_run=self.dry_run, concurrency=self.concurrency,
                                stop=stop)
            if graph is not None:
                self.graphs[name] = graph
        return outcome

    def run(self, targets: list[Target]) -> Cleaned:
        cleaned = Cleaned(self.dry_run, graphs=self.graphs)
        with stop_on_signals() as (stop, received):
            for target in targets:
                if stop.is_set():
                    break
                name = target.ref.name
                try:
                    outcome = self.clean_one(target, stop)
                except NotFound as exc:  # a typo must not pass for a clean repository
                    self.live.finished(name, None, exc)
                    cleaned.missing.append(name)
                    continue
                except BadInput:  # a backend that cannot be built, a bad name: the whole run is wrong
                    raise
                except CiTagsError as exc:  # this repository only: the others are still cleaned
                    self.live.finished(name, None, exc)
                    cleaned.broken[name] = str(exc)
                    if isinstance(exc, AuthError):
                        cleaned.refused.add(name)
                    outcome = Outcome(name, [], failed={LISTING: f"could not clean the repository: {exc}"})
                    cleaned.outcomes.append((name, outcome))
                    continue
                self.live.finished(name, outcome, None)
                cleaned.outcomes.append((name, outcome))
        if received:
            cleaned.signal = received[0]
            done = len(cleaned.outcomes) + len(cleaned.missing)
            cleaned.left = sum(len(o.not_started) for _, o in cleaned.outcomes) + len(targets) - done
            self.live.stopped(signal.Signals(cleaned.signal).name, cleaned.left)
        return cleaned
