"""Human lines of the commands that remove tags by policy or by name: janitor and prune. Both report as they go
(a removal line as it happens, a progress bar on a terminal), through the live objects here, then a summary."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from ci_tags.core.policy import Summary

if TYPE_CHECKING:
    from ci_tags.core.policy import Decision
    from ci_tags.errors import CiTagsError
    from ci_tags.output import Output
    from ci_tags.services.janitor.engine import Outcome
    from ci_tags.services.janitor.run import Cleaned
    from ci_tags.services.prune import Pruned


KEPT_ORPHAN_LINES = 10


class JanitorLive:
    """The janitor's lines as it goes (ci_tags.services.janitor.run.Live)."""

    def __init__(self, out: Output, *, dry_run: bool) -> None:
        self.out, self.dry_run = out, dry_run
        self._stack = contextlib.ExitStack()
        self._advance: Callable[[], None] = lambda: None

    def unreadable_ref(self, error: CiTagsError) -> None:
        self.out.warn(f"{error}; every content tag is kept")

    def through(self, host: str, api: str) -> None:
        self.out.info(f"{host}: tags listed, dated and removed through the {api}")

    def decided(self, name: str, doomed: int) -> None:
        """A progress bar over the repository's removals, once the decisions say how many there are."""
        if doomed and not self.dry_run:
            self._advance = self._stack.enter_context(self.out.progress(f"removing tags of {name}", doomed))

    def removed(self, name: str, decision: Decision) -> None:
        """Printed as it happens, so a CI log (and a job killed by its timeout) shows every removal made."""
        self.out.line(f"removed {name}:{decision.tag} ({decision.reason}: {decision.detail})")
        self._advance()

    def finished(self, name: str, outcome: Outcome | None, error: CiTagsError | None) -> None:
        self._stack.close()
        self._advance = lambda: None
        if error is not None:
            self.out.warn(str(error) if error.kind == "not_found" else f"{name}: {error}")
        if outcome is not None:
            _outcome(self.out, name, outcome, self.dry_run)


    def stopped(self, signal_name: str, left: int) -> None:
        self.out.warn(f"{signal_name}: stopped starting removals; the summary below is what was done "
                      f"({left} tags or repositories left for the next run)")


def _cause(tag: str, why: str) -> str:
    """A failure's message with its tag taken out, so that one cause (a registry refusing deletes) reads as one
    line however many tags it hit."""
    return why.replace(f":{tag}", ":<tag>").replace(f"/{tag}", "/<tag>").replace(f" {tag}", " <tag>")


def _outcome(out: Output, name: str, outcome: Outcome, dry_run: bool) -> None:
    if dry_run:  # a real run printed each removal as it happened
        for d in outcome.decisions:
            if d.delete:
                out.line(f"would remove {name}:{d.tag} ({d.reason}: {d.detail})")
    causes: dict[str, list[str]] = {}
    for tag, why in sorted(outcome.failed.items()):
        causes.setdefault(_cause(tag, why), []).append(tag)
    for cause, tags in causes.items():
        few = ", ".join(tags[:3]) + (f" and {len(tags) - 3} more" if len(tags) > 3 else "")
        out.warn(f"{name}: {len(tags)} tag(s) not removed ({few}): {cause}" if len(tags) > 1
                 else f"{name}:{tags[0]}: {outcome.failed[tags[0]]}")
    if outcome.unreadable:
        tags = sorted(outcome.unreadable)
        few = ", ".join(tags[:3]) + (f" and {len(tags) - 3} more" if len(tags) > 3 else "")
        out.warn(f"{name}: partial: {len(tags)} tag(s) could not be read ({few}): kept, with every tag they might "
                 f"protect; {outcome.unreadable[tags[0]]}")
    for tag in outcome.restored:
        out.warn(f"{name}:{tag} vanished with a removed tag and was put back")
    for tag in outcome.vanished:
        out.warn(f"{name}:{tag} was kept but is gone: removed by someone else during the run")
    for tag in outcome.moved:
        out.warn(f"{name}:{tag} was tagged again during the run (someone else's now): left as it is")


def kept_summary(outcome: Outcome) -> str:
    """"3 foreign, 1 protected": how many tags each rule kept."""
    summary = Summary.of(outcome.decisions)
    return ", ".join(f"{n} {reason}" for reason, n in sorted(summary.kept.items())) or "-"


def cleaned(result: Cleaned, out: Output) -> None:
    """The graph phase's removals, then the table of every repository, then the graph phase's counts."""
    graph_lines(result, out)
    rows = [[name, len(result.removed(o)), len(o.failed), kept_summary(o)] for name, o in result.outcomes]
    out.table("ci-tags janitor" + (" (dry run)" if result.dry_run else ""),
              ["repository", "removed" if not result.dry_run else "to remove", "failed", "kept (why)"], rows)
    if result.graphs:
        removed = sum(len(g.document(result.dry_run)["removed"]) for g in result.graphs.values())
        orphans = sum(1 for g in result.graphs.values() for r in g.expiry.removals if r.reason == "orphaned")
        kept = sum(len(g.expiry.kept) for g in result.graphs.values())
        verb = "to remove" if result.dry_run else "removed"
        out.info(f"signatures, attestations, SBOMs and referrers: {removed} {verb} ({orphans} orphaned), "
                 f"{kept} orphans kept")


def graph_lines(result: Cleaned, out: Output) -> None:
    """Each part of a graph removed (or that a dry run would remove) with its reason, each failure, each orphan
    kept."""
    from ci_tags.output.text.registry import graph_removals

    for name, graph in result.graphs.items():
        graph_removals(name, graph, out, dry_run=result.dry_run)
        for kept in graph.expiry.kept[:KEPT_ORPHAN_LINES]:  # a registry full of undated orphans: a few lines
            out.info(f"kept {name}:{kept.tag} ({kept.detail})")
        if len(graph.expiry.kept) > KEPT_ORPHAN_LINES:
            out.info(f"kept {len(graph.expiry.kept) - KEPT_ORPHAN_LINES} more orphans of {name} (--json lists them)")


class PruneLive:
    """prune's lines as it goes (ci_tags.services.prune.Live)."""

    def __init__(self, out: Output, tag: str, *, dry_run: bool) -> None:
        self.out, self.tag = out, tag

    @contextlib.contextmanager
    def progress(self, total: int) -> Iterator[Callable[[], None]]:
        with self.out.progress(f"pruning {self.tag}", total) as advance:
            yield advance

    def failed(self, repository: str, why: str) -> None:
        self.out.warn(f"{repository}:{self.tag}: {why}")


def pruned(result: Pruned, out: Output) -> None:
    verb = "would remove" if result.dry_run else "removed"
    for repository in result.removed:  # sorted: stable whatever order the concurrent removals took
        out.line(f"{repository}:{result.tag} {verb}")
    out.line(f"{len(result.removed)} {verb}, {len(result.absent)} without {result.tag}, {len(result.failed)} "
             f"failed, of {len(result.repositories)} repositories")
