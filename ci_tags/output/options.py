"""The output options every command takes (also before the command's name): --json and --debug."""

from __future__ import annotations

from dataclasses import dataclass

from ci_tags.flags import flag


@dataclass(frozen=True, kw_only=True)
class OutputOptions:
    json: bool = flag("--json", default=False, help="print one JSON object on stdout (shapes: schemas/<command>.json)")
    debug: bool = flag("--debug", default=False, env="CI_TAGS_DEBUG",
                       help="trace requests (secrets masked), show tracebacks; env CI_TAGS_DEBUG=1")
