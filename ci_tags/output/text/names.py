"""Human lines of the commands that compute names: slug."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ci_tags.commands.slug import Slug
    from ci_tags.output import Output


def slug(result: Slug, out: Output) -> None:
    out.line(result.slug)
