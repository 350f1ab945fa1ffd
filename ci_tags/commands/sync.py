"""``ci-tags sync FILE``: revisioned tags by label (Kolla): a new ``<track>-<N+1>`` only when the source's label
changed; static release tags copied once and never overwritten."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ci_tags.context import Context
from ci_tags.core.revisions import ImagePlan, output_document, render_output
from ci_tags.errors import BadInput, OperationFailed
from ci_tags.project.release_files import load_sync_file
from ci_tags.services.release.sync import SyncReport, sync

# shown under "examples:" by --help
EXAMPLES = """\
  ci-tags sync sync.yml --dry-run
  ci-tags sync sync.yml --output images.env --output-format env
"""


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="the sync file (source, destination, images, track, label, static)")
    p.add_argument("--dry-run", action="store_true", help="check everything and print what would be copied")
    p.add_argument("--output", metavar="FILE", help="write image -> destination reference, revision tag and digest")
    p.add_argument("--output-format", choices=["yaml", "json", "env"], default="yaml",
                   help="format of --output (default yaml; env: <IMAGE>_IMAGE=<reference> lines)")


def run(ctx: Context) -> int:
    spec = load_sync_file(Path(ctx.args.file), ctx.env)
    output = Path(ctx.args.output) if ctx.args.output else None
    if output is not None and not output.parent.is_dir():
        raise BadInput(f"--output {output}: no folder {output.parent}")
    ctx.aim(spec.destination.api_host)  # --username/--password are for the destination; the source uses its own
    report = sync(ctx.registries, spec, dry_run=ctx.args.dry_run, concurrency=ctx.concurrency)
    if not report.plans:
        raise BadInput(f"{spec.path}: no image of {spec.source.name} is selected")
    for plan in report.plans:
        for line in _lines(report, plan):
            ctx.out.line(line)
    doc = output_document(spec, report.plans)
    if ctx.out.json_mode:
        ctx.out.json(_document(report, doc))
    if report.blocked:
        bad = [p for p in report.plans if p.problems]
        raise OperationFailed(f"{spec.path}: {len(bad)} of {len(report.plans)} images have problems: "
                              "nothing was written")
    if report.failures:
        for image, why in report.failures.items():
            ctx.out.warn(f"{image}: {why}")
        raise OperationFailed(f"{len(report.failures)} images failed; the others are done, re-running is safe")
    if output is not None:
        if report.dry_run:
            ctx.out.info(f"would write {output}")
        else:
            output.write_text(render_output(doc, ctx.args.output_format))
            ctx.out.info(f"wrote {output}")
    return 0


def _lines(report: SyncReport, plan: ImagePlan) -> list[str]:
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
    if plan.status == "up to date":
        lines.insert(0, f"up to date: {dst}:{plan.revision} {plan.digest} ({spec.label} unchanged)")
    return lines


def _document(report: SyncReport, doc: dict[str, dict[str, Any]]) -> dict[str, Any]:
    images = []
    for plan in report.plans:
        item: dict[str, Any] = {
            "image": plan.image, "status": plan.status, "revision": plan.revision, "digest": plan.digest,
            "actions": [{"step": a.step, "tag": a.tag, "digest": a.digest, "from": a.source_tag}
                        for a in plan.actions],
        }
        if plan.problems:
            item["problems"] = list(plan.problems)
        if plan.image in report.failures:
            item["error"] = report.failures[plan.image]
        done = report.done.get(plan.image, [])
        item["bytes_streamed"] = sum(r.bytes_streamed for _, r in done)
        images.append(item)
    return {"file": str(report.spec.path), "dry_run": report.dry_run, "blocked": report.blocked,
            "images": images, "output": doc}
