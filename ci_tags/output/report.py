"""The per-pipeline report: a Markdown summary of what plan, publish and janitor did, appended to the file that
``CI_TAGS_REPORT`` names (the GitLab component exposes it on merge requests; the Jenkins library makes it the
build's description). Plan: reused, assembled and built, and that reuse moved no blob; publish: each publish
tag's move and why; janitor: what it removed and why. Each section says how long its command took.

Each function here is the ``markdown`` of a command's ``Renderer`` (found by the result's type, as ``text/`` is)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ci_tags.services.janitor.run import Cleaned
    from ci_tags.services.pipeline.planning import Planned
    from ci_tags.services.publish import NotPublished, PipelineTagsUnread, Published

MAX_LISTED = 50  # tags listed per repository; a first janitor run on an old registry can remove thousands


def planned(result: Planned) -> list[str]:
    from ci_tags.core.plan import ASSEMBLE, BUILD, REUSE

    images = result.plan.images
    count = {act: sum(1 for p in images if p.action == act) for act in (REUSE, ASSEMBLE, BUILD)}
    title = f"## ci-tags plan: pipeline {result.pipeline_id}" + (" (dry run: nothing written)" if result.dry_run
                                                                   else "")
    lines = [title, "", "| image | arch | content tag | action |", "|---|---|---|---|"]
    lines += [f"| {r.image} | {r.arch} | `{r.content_tag}` | {r.action} |" for r in result.rows]
    lines += ["", f"- reused: {count[REUSE]} image(s), tagged `{result.pipeline_tag}` by a metadata-only copy",
              f"- assembled: {count[ASSEMBLE]} multi-arch index(es) from arches already built",
              f"- to build: {result.build_jobs} image x arch build(s) ({count[BUILD]} image(s))",
              "- blobs moved for reused and assembled images: none (manifests only; no layer read or written)"]
    lines += [f"- not tagged: {name}: {err}" for name, err in result.errors]
    return lines


def published(result: Published) -> list[str]:
    from ci_tags.core.publishing import KEEP, MOVE, UNCHANGED

    word = {MOVE: "would move" if result.dry_run else "moved", UNCHANGED: "unchanged", KEEP: "kept"}
    lines = ["## ci-tags publish" + (" (dry run)" if result.dry_run else ""), "", f"{result.reason}", ""]
    for move in result.moves:
        where = f"`{move.repository}:{move.tag}`"
        lines.append(f"- failed {where}: {move.error}" if move.error is not None
                     else f"- {word[move.status]} {where}: {move.reason}")
    lines += [f"- {name}: {why}" for name, why in result.errors.items()
              if not any(m.image == name and m.error for m in result.moves)]
    return lines


def not_published(result: NotPublished) -> list[str]:
    return ["## ci-tags publish", "", f"Not published: {result.reason}"]


def pipeline_tags_unread(result: PipelineTagsUnread) -> list[str]:
    lines = ["## ci-tags publish", "", f"Not published: the pipeline tag {result.pipeline_tag} could not be read:"]
    return lines + [f"- {name}: {err}" for name, err in result.errors.items()]


def cleaned(result: Cleaned) -> list[str]:
    from ci_tags.output.text.janitor import kept_summary

    verb = "would remove" if result.dry_run else "removed"
    lines = ["## ci-tags janitor" + (" (dry run: nothing removed)" if result.dry_run else ""), "",
             f"| repository | {verb} | failed | kept (why) |", "|---|---|---|---|"]
    lines += [f"| {name} | {len(result.removed(o))} | {len(o.failed)} | {kept_summary(o)} |"
              for name, o in result.outcomes]
    for name, outcome in result.outcomes:
        removed = set(result.removed(outcome))
        doomed = [d for d in outcome.decisions if d.tag in removed]
        if not doomed:
            continue
        lines += ["", f"{verb.capitalize()} from {name}:"]
        lines += [f"- `{d.tag}`: {d.reason}" + (f" ({d.detail})" if d.detail else "") for d in doomed[:MAX_LISTED]]
        if len(doomed) > MAX_LISTED:
            lines.append(f"- and {len(doomed) - MAX_LISTED} more")
        lines += [f"- failed `{tag}`: {why}" for tag, why in sorted(outcome.failed.items())[:MAX_LISTED]]
    lines += [f"- {name} could not be cleaned: {why}" for name, why in result.broken.items()]
    return lines


def append_section(path: str, lines: list[str], seconds: float) -> None:
    """Append a command's section (its time last) to the report at ``path`` (several commands of one pipeline add
    theirs)."""
    with Path(path).open("a", encoding="utf-8") as report:
        report.write("\n".join([*lines, f"- time: {seconds:.1f} s"]) + "\n\n")
