"""``promote``'s I/O: read every source and target the file names, decide (``ci_tags.core.promotion``), and only when
no entry has a problem, copy the missing tags by metadata (mount or stream across registries)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ci_tags.concurrency import run_all
from ci_tags.core.promotion import Decision, Observed, PromotionEntry, decide
from ci_tags.core.reference import Reference
from ci_tags.errors import CiTagsError
from ci_tags.oci.client import Registries
from ci_tags.oci.copy import CopyResult
from ci_tags.services.release.copying import copy_verified


@dataclass
class PromotionReport:
    decisions: list[Decision]
    dry_run: bool
    copies: dict[int, CopyResult] = field(default_factory=dict)  # entry index -> what its copy moved
    failures: dict[int, str] = field(default_factory=dict)  # entry index -> why its copy failed

    @property
    def problems(self) -> list[Decision]:
        return [d for d in self.decisions if d.is_problem]

    @property
    def written(self) -> bool:
        return bool(self.copies)


def read_digests(
    registries: Registries, refs: list[Reference], concurrency: int
) -> tuple[dict[Reference, str | None], dict[Reference, CiTagsError]]:
    """Each distinct reference's digest (None when absent), one HEAD each, concurrently; and the read errors."""
    digests: dict[Reference, str | None] = {}
    errors: dict[Reference, CiTagsError] = {}
    unique = list(dict.fromkeys(refs))
    for ref, digest, err in run_all(
        lambda r: registries.get(r.api_host).head_manifest(r.repository, r.identifier), unique, concurrency
    ):
        if err is not None:
            errors[ref] = err
        else:
            digests[ref] = digest
    return digests, errors


def observe(registries: Registries, entries: list[PromotionEntry], concurrency: int) -> dict[int, Observed]:
    """Every entry's source and target digest: one HEAD per distinct reference."""
    digests, errors = read_digests(registries, [e.source for e in entries] + [e.target for e in entries],
                                   concurrency)
    observed = {}
    for e in entries:
        src_err, dst_err = errors.get(e.source), errors.get(e.target)
        observed[e.index] = Observed(
            digests.get(e.source),
            digests.get(e.target),
            f"{e.source}: {src_err}" if src_err else None,
            f"{e.target}: {dst_err}" if dst_err else None,
        )
    return observed


def promote(
    registries: Registries, entries: list[PromotionEntry], *, dry_run: bool, concurrency: int
) -> PromotionReport:
    """Check the whole file, then (not in a dry run, and only when no entry has a problem) write its copies."""
    report = PromotionReport(decide(entries, observe(registries, entries, concurrency)), dry_run)
    copies = [d for d in report.decisions if d.action == "copy"]
    if dry_run or report.problems or not copies:
        return report

    def copy(decision: Decision) -> CopyResult:
        assert decision.source_digest
        entry = decision.entry
        # the source pinned by the digest that was checked: a build tag moved meanwhile changes nothing here
        return copy_verified(registries, entry.source.with_digest(decision.source_digest), entry.target)

    for decision, result, err in run_all(copy, copies, concurrency):
        if err is not None:
            report.failures[decision.entry.index] = str(err)
        elif result is not None:
            report.copies[decision.entry.index] = result
    return report
