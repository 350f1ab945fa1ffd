"""Human lines of the release commands: promote, sync, prepare. One line per entry or image, then the copies
that failed, then what was (or would be) written."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ci_tags.output.text.registry import carried_line

if TYPE_CHECKING:
    from ci_tags.core.promotion import Decision
    from ci_tags.core.revisions import ImagePlan
    from ci_tags.output import Output
    from ci_tags.services.release.prepare import PreparedImage, PrepareReport
    from ci_tags.services.release.promote import PromotionReport
    from ci_tags.services.release.sync import SyncReport


def promoted(report: PromotionReport, out: Output) -> None:
    blocked = bool(report.problems)
    for decision in report.decisions:
        out.line(_promotion_line(decision, report, blocked))
        copied = report.copies.get(decision.entry.index)
        if copied is not None and copied.carried is not None and copied.carried.parts:
            out.line(carried_line(copied.carried))
    if blocked or report.failures:
        return
    verb = "would copy" if report.dry_run else "copied"
    out.info(f"{verb} {report.copy_count}, nothing to do for {len(report.decisions) - report.copy_count}")


def promotion_problems(report: PromotionReport) -> list[str]:
    """The copies that failed (none when the file's problems blocked every copy)."""
    if report.problems:
        return []
    targets = {d.entry.index: d.entry.target for d in report.decisions}
    return [f"{targets[index]}: {why}" for index, why in report.failures.items()]


def _promotion_line(d: Decision, report: PromotionReport, blocked: bool) -> str:
    e = d.entry
    tail = f"(src_ref {e.src_ref})" if e.src_ref is not None else "(no src_ref)"
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


def synced(report: SyncReport, out: Output) -> None:
    for plan in report.plans:
        for line in _sync_lines(report, plan):
            out.line(line)
    if report.blocked or report.failures or report.output is None:
        return
    out.info(f"would write {report.output}" if report.dry_run else f"wrote {report.output}")


def sync_problems(report: SyncReport) -> list[str]:
    return [] if report.blocked else [f"{image}: {why}" for image, why in report.failures.items()]


def _sync_lines(report: SyncReport, plan: ImagePlan) -> list[str]:
    spec = report.spec
    src = f"{spec.source.name}/{plan.image}"
    dst = f"{spec.destination.name}/{plan.image}"
    if plan.problems:
        return [f"{plan.image}: {p}" for p in plan.problems]
    if report.blocked:
        return [f"{plan.image}: blocked, not written: {a.step} {dst}:{a.tag}" for a in plan.actions]
    lines = []
    failed = plan.image in report.failures
    for a in plan.actions:
        if a.step == "move-track":
            verb = "would move" if report.dry_run else "failed to move" if failed else "moved"
            lines.append(f"{verb} {dst}:{a.tag} -> {a.source_tag} {a.digest}")
        else:
            verb = "would copy" if report.dry_run else "failed to copy" if failed else "copied"
            lines.append(f"{verb} {src}:{a.source_tag} -> {dst}:{a.tag} {a.digest}")
        done = dict((id(act), r) for act, r in report.done.get(plan.image, []))
        copied = done.get(id(a))
        if copied is not None and copied.carried is not None and copied.carried.parts:
            lines.append(carried_line(copied.carried))
    if plan.status == "up to date":
        lines.insert(0, f"up to date: {dst}:{plan.revision} {plan.digest} ({spec.label} unchanged)")
    lines += [f"up to date: {dst}:{tag} {digest} (static tag)" for tag, digest in plan.static_present.items()]
    return lines


def prepared(report: PrepareReport, out: Output) -> None:
    for item in report.images:
        out.line(_prepare_line(item, report))
        copied = report.copies.get(str(item.target)) if item.action == "copy" else None
        if copied is not None and copied.carried is not None and copied.carried.parts:
            out.line(carried_line(copied.carried))
    if not report.blocked and not report.failures:
        out.info(f"would write {report.output}" if report.dry_run else f"wrote {report.output}")


def prepare_problems(report: PrepareReport) -> list[str]:
    return [] if report.blocked else [f"{target}: {why}" for target, why in report.failures.items()]


def _prepare_line(item: PreparedImage, report: PrepareReport) -> str:
    params = f"({', '.join(item.request.params)})"
    if item.problem:
        return f"{item.request.image}: {item.problem}"
    if item.action == "copy":
        if report.blocked:
            verb = "blocked, not copied:"
        elif report.dry_run:
            verb = "would copy"
        elif str(item.target) in report.failures:
            verb = "failed to copy"
        else:
            verb = "copied"
        return f"{verb} {item.source} -> {item.target} {item.digest} {params}"
    if item.action == "nothing":
        return f"nothing to do: {item.target} is {item.digest} {params}"
    return f"not pushed: {item.reference} {item.digest} {params}"
