"""Human lines of ``publish``: one line per publish tag of each image (moved, unchanged, kept, and why)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ci_tags.output import Output
    from ci_tags.services.publish import NotPublished, PipelineTagsUnread, Published


def published(result: Published, out: Output) -> None:
    from ci_tags.core.publishing import KEEP, MOVE, UNCHANGED

    word = {MOVE: "would move" if result.dry_run else "moved", UNCHANGED: "unchanged", KEEP: "kept"}
    for name, repository in result.repositories.items():
        moves = [m for m in result.moves if m.image == name]
        if name in result.errors and all(m.error is not None for m in moves):
            continue  # nothing of this image settled: a problem says why
        for move in moves:
            if move.error is None:
                out.line(f"{word[move.status]} {repository}:{move.tag}: {move.reason}")


def published_problems(result: Published) -> list[str]:
    problems = []
    for name, repository in result.repositories.items():
        moves = [m for m in result.moves if m.image == name]
        failed = [m for m in moves if m.error is not None]
        if name in result.errors and len(failed) == len(moves):  # nothing of this image settled: one line says why
            problems.append(f"{repository}: {result.errors[name]}")
            continue
        problems += [f"{repository}:{move.tag}: {move.error}" for move in failed]
        if name in result.errors and not failed:  # a later re-read failed after these tags settled
            problems.append(f"{repository}: {result.errors[name]}")
    return problems


def not_published(result: NotPublished, out: Output) -> None:
    out.line(f"not publishing: {result.reason}")


def pipeline_tags_unread_problems(result: PipelineTagsUnread) -> list[str]:
    return [f"{name}: could not read {result.pipeline_tag}: {err}" for name, err in result.errors.items()]
