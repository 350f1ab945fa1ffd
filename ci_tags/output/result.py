"""What a command hands back to be shown: a result object. The command decides nothing about looks; the renderer
of the chosen format does (ci_tags/output/text/ for people, :func:`ci_tags.output.render` for --json)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from ci_tags.errors import CiTagsError


class Result(Protocol):
    """A command's outcome. ``document()`` is the data of its JSON shape (schemas/<command>.json, without
    ``schema_version``/``command``/``error``, which the output adds); ``failure`` is a partial failure reported
    after the results are shown (its exit code is the run's), or None. Its per-item problems (e.g. each item
    that failed) are worded by its renderer (ci_tags/output/text/) and warned on stderr after the results in every
    format, before the failure."""

    @property
    def failure(self) -> CiTagsError | None: ...

    def document(self) -> Mapping[str, Any]: ...
