"""Prune: remove one tag from every repository of a namespace whose name starts with a prefix, through a backend
that lists namespaces (Docker Hub's API, GitLab's registry API, a Quay organization, a Harbor project, a GitHub
organization's or user's container packages, any OCI registry's catalog)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ci_tags.concurrency import run_all
from ci_tags.errors import CiTagsError, NotFound, OperationFailed

if TYPE_CHECKING:
    from ci_tags.backends.base import Backend


class Live(Protocol):
    """What prune reports as it goes (the command wires it to the output)."""

    def progress(self, total: int) -> AbstractContextManager[Callable[[], None]]:
        """A progress over ``total`` repositories; the callable advances it by one."""
        ...

    def failed(self, repository: str, why: str) -> None:
        """The tag could not be removed from ``repository`` (reported once the run is over)."""


@dataclass
class Pruned:
    tag: str
    dry_run: bool
    repositories: list[str]
    removed: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def failure(self) -> CiTagsError | None:
        if not self.failed:
            return None
        return OperationFailed(f"{len(self.failed)} of {len(self.repositories)} repositories failed; "
                               "a re-run retries them")

    def document(self) -> Mapping[str, Any]:
        return {"tag": self.tag, "dry_run": self.dry_run, "removed": self.removed, "absent": self.absent,
                "failed": self.failed,
                "counts": {"repositories": len(self.repositories), "removed": len(self.removed),
                           "absent": len(self.absent), "failed": len(self.failed)}}


def prune(backend: Backend, namespace: str, prefix: str, tag: str, live: Live, *, dry_run: bool,
          concurrency: int, where: str) -> Pruned:
    """Remove ``tag`` from every repository of ``namespace`` (named ``where`` in messages) starting with
    ``prefix``; a repository without it is "absent". NotFound when no repository matches: a typo in the
    namespace or prefix must not pass for "nothing to prune"."""
    repositories = backend.repositories(namespace, prefix)
    if not repositories:
        starts = f" whose name starts with {prefix!r}" if prefix else ""
        raise NotFound(f"no repository under {where}{starts}", hint="check the namespace and prefix")

    def one(repository: str) -> Literal["removed", "absent"]:
        if dry_run:
            if tag not in backend.tag_names(repository):
                return "absent"
        else:
            try:
                backend.delete_tag(repository, tag)
            except NotFound:
                return "absent"
        return "removed"

    with live.progress(len(repositories)) as advance:
        def step(repository: str) -> Literal["removed", "absent"]:
            result = one(repository)
            advance()
            return result

        outcomes = run_all(step, repositories, concurrency)
    pruned = Pruned(tag, dry_run, repositories)
    # sorted by repository: the same lines in the same order whatever order the concurrent removals took
    pruned.removed = sorted(r for r, how, _ in outcomes if how == "removed")
    pruned.absent = sorted(r for r, how, _ in outcomes if how == "absent")
    pruned.failed = {r: str(err) for r, _, err in sorted(outcomes, key=lambda o: o[0]) if err}
    for repository, why in pruned.failed.items():
        live.failed(repository, why)
    return pruned
