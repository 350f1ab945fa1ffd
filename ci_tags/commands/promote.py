"""``ci-tags promote FILE``: a reviewed file says which build becomes which release tag; the whole file is
checked before anything is written, and a tag on another image is a conflict, never overwritten."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ci_tags.context import Context
from ci_tags.core.promotion import Decision
from ci_tags.errors import OperationFailed
from ci_tags.project.release_files import load_promotion_file
from ci_tags.project.yamlfile import MalformedFile
from ci_tags.services.release.promote import PromotionReport, promote

# shown under "examples:" by --help
EXAMPLES = """\
  ci-tags promote releases.yml --dry-run
  ci-tags promote releases.yml --json
"""


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="the promotion file (images: name, src_build_tag, src_ref, tag)")
    p.add_argument("--dry-run", action="store_true", help="check everything and print what would be copied")


def run(ctx: Context) -> int:
    path = Path(ctx.args.file)
    try:
        entries = load_promotion_file(path)
    except MalformedFile as exc:
        for problem in exc.problems:
            ctx.out.problem(problem)
        if ctx.out.json_mode:
            ctx.out.json({"file": str(path), "dry_run": ctx.args.dry_run, "written": False,
                          "problems": list(exc.problems), "entries": []})
        raise
    for entry in entries:  # --username/--password are for the registries written to; sources use their own
        ctx.aim(entry.target.api_host)
    report = promote(ctx.registries, entries, dry_run=ctx.args.dry_run, concurrency=ctx.concurrency)
    blocked = bool(report.problems)
    for decision in report.decisions:
        ctx.out.line(_line(decision, report, blocked))
    if ctx.out.json_mode:
        ctx.out.json(_document(path, report))
    if blocked:
        counts: dict[str, int] = {}
        for d in report.problems:
            counts[d.action] = counts.get(d.action, 0) + 1
        summary = ", ".join(f"{n} {action}" for action, n in counts.items())
        raise OperationFailed(f"{path}: {len(report.problems)} of {len(entries)} entries have problems "
                              f"({summary}): nothing was written")
    if report.failures:
        for index, why in report.failures.items():
            ctx.out.warn(f"{entries[index].target}: {why}")
        copies = sum(d.action == "copy" for d in report.decisions)
        raise OperationFailed(f"{len(report.failures)} of {copies} copies failed; the others are done, "
                              "re-running is safe")
    copies = sum(d.action == "copy" for d in report.decisions)
    verb = "would copy" if report.dry_run else "copied"
    ctx.out.info(f"{verb} {copies}, nothing to do for {len(entries) - copies}")
    return 0


def _line(d: Decision, report: PromotionReport, blocked: bool) -> str:
    e = d.entry
    tail = f"(src_ref {e.src_ref})"
    if d.action == "copy":
        if blocked:
            verb = "blocked, not copied:"
        elif report.dry_run:
            verb = "would copy"
        elif e.index in report.failures:
            verb = "failed to copy"
        else:
            verb = "copied"
        return f"{verb} {e.source} -> {e.target} {d.source_digest} {tail}"
    if d.action == "nothing":
        note = f", {d.reason}" if d.reason else ""
        return f"nothing to do: {e.target} is {d.source_digest}{note} {tail}"
    if d.action == "conflict":
        return f"conflict: {e.target} from {e.source} ({d.source_digest}): {d.reason} {tail}"
    if d.action == "missing-source":
        return f"missing source: {e.source} for {e.target} does not exist {tail}"
    return f"cannot read: {d.reason} {tail}"


def _document(path: Path, report: PromotionReport) -> dict[str, Any]:
    entries = []
    for d in report.decisions:
        e = d.entry
        item: dict[str, Any] = {
            "line": e.line,
            "name": e.target.name,
            "tag": e.target.tag,
            "target": str(e.target),
            "source": str(e.source),
            "src_ref": e.src_ref,
            "action": d.action,
            "source_digest": d.source_digest,
            "target_digest": d.target_digest,
        }
        if d.reason:
            item["reason"] = d.reason
        copy = report.copies.get(e.index)
        if copy is not None:
            item["copied"] = {"mode": copy.mode, "blobs_mounted": copy.blobs_mounted,
                              "blobs_streamed": copy.blobs_streamed, "blobs_present": copy.blobs_present,
                              "bytes_streamed": copy.bytes_streamed}
        if e.index in report.failures:
            item["error"] = report.failures[e.index]
        entries.append(item)
    return {"file": str(path), "dry_run": report.dry_run, "written": report.written,
            "problems": [f"line {d.entry.line}: {d.entry.target}: {d.action}" + (f" ({d.reason})" if d.reason else "")
                         for d in report.problems], "entries": entries}
