"""``promote``'s I/O: read every source and target the file names, decide (``ci_tags.core.promotion``), and only when
no entry has a problem, copy the missing tags by metadata (mount or stream across registries)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ci_tags.concurrency import run_all
from ci_tags.core.promotion import Decision, Observed, PromotionEntry, decide
from ci_tags.core.reference import Reference
from ci_tags.errors import CiTagsError, OperationFailed
from ci_tags.oci.copy import CopyResult
from ci_tags.oci.registries import Registries
from ci_tags.project.yamlfile import MalformedFile
from ci_tags.services.release.copying import copy_verified


@dataclass(frozen=True)
class MalformedPromotion:
    """A promotion file with malformed entries: nothing was read or written; each problem is listed."""

    path: Path
    dry_run: bool
    failure: MalformedFile

    def document(self) -> Mapping[str, Any]:
        return {"file": str(self.path), "dry_run": self.dry_run, "written": False,
                "problems": list(self.failure.problems), "entries": []}


@dataclass
class PromotionReport:
    path: Path
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

    @property
    def copy_count(self) -> int:
        return sum(d.action == "copy" for d in self.decisions)

    @property
    def failure(self) -> CiTagsError | None:
        if self.problems:
            counts: dict[str, int] = {}
            for d in self.problems:
                counts[d.action] = counts.get(d.action, 0) + 1
            summary = ", ".join(f"{n} {action}" for action, n in counts.items())
            return OperationFailed(f"{self.path}: {len(self.problems)} of {len(self.decisions)} entries have "
                                   f"problems ({summary}): nothing was written")
        if self.failures:
            return OperationFailed(f"{len(self.failures)} of {self.copy_count} copies failed; the others are done, "
                                   "re-running is safe")
        return None

    def document(self) -> Mapping[str, Any]:
        return {"file": str(self.path), "dry_run": self.dry_run, "written": self.written,
                "problems": [_problem(d) for d in self.problems],
                "entries": [self._entry(d) for d in self.decisions]}

    def _entry(self, d: Decision) -> dict[str, Any]:
        e = d.entry
        item: dict[str, Any] = {"line": e.line, "name": e.target.name, "tag": e.target.tag, "target": str(e.target),
                                "source": str(e.source), "src_ref": e.src_ref, "action": d.action,
                                "source_digest": d.source_digest, "target_digest": d.target_digest}
        if d.reason:
            item["reason"] = d.reason
        copy = self.copies.get(e.index)
        if copy is not None:
            item["copied"] = {"mode": copy.mode, "blobs_mounted": copy.blobs_mounted,
                              "blobs_streamed": copy.blobs_streamed, "blobs_present": copy.blobs_present,
                              "bytes_streamed": copy.bytes_streamed,
                              "carried": copy.carried.document() if copy.carried is not None else None}
        if e.index in self.failures:
            item["error"] = self.failures[e.index]
        return item


def _problem(d: Decision) -> str:
    return f"line {d.entry.line}: {d.entry.target}: {d.action}" + (f" ({d.reason})" if d.reason else "")


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
    registries: Registries, path: Path, entries: list[PromotionEntry], *, dry_run: bool, concurrency: int,
    referrers: bool = True,
) -> PromotionReport:
    """Check the whole file, then (not in a dry run, and only when no entry has a problem) write its copies."""
    report = PromotionReport(path, decide(entries, observe(registries, entries, concurrency)), dry_run)
    copies = [d for d in report.decisions if d.action == "copy"]
    if dry_run or report.problems or not copies:
        return report

    def copy(decision: Decision) -> CopyResult:
        assert decision.source_digest
        entry = decision.entry
        # the source pinned by the digest that was checked: a build tag moved meanwhile changes nothing here
        return copy_verified(registries, entry.source.with_digest(decision.source_digest), entry.target,
                             referrers=referrers)

    for decision, result, err in run_all(copy, copies, concurrency):
        if err is not None:
            report.failures[decision.entry.index] = str(err)
        elif result is not None:
            report.copies[decision.entry.index] = result
    return report
