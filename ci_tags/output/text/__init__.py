"""The human renderer: for each result type, its lines for people and its problems. Each command module names the
renderers of the results it returns (``RENDERERS``, a tuple of :class:`Renderer`), so that only the renderer module
of the command being run is imported and mypy checks that each function takes the result it is paired with."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from ci_tags.output import Output

R = TypeVar("R")


@dataclass(frozen=True)
class Renderer(Generic[R]):
    """How results of type ``result`` show: ``lines`` for people (stdout and notes; none under --json, or when
    a result is nothing but its problems);
    ``problems`` the per-item problems warned on stderr after them, in every format; ``markdown`` its section of
    the pipeline's report (``CI_TAGS_REPORT``, ci_tags/output/report.py), for the commands the report covers."""

    result: type[R]
    lines: Callable[[R, Output], None] | None = None
    problems: Callable[[R], Iterable[str]] | None = None
    markdown: Callable[[R], list[str]] | None = None


def renderer_of(result: object, renderers: Sequence[Renderer[Any]]) -> Renderer[Any]:
    """The renderer of ``result``'s own type."""
    for renderer in renderers:
        if type(result) is renderer.result:
            return renderer
    raise LookupError(f"no renderer for {type(result).__name__}")
