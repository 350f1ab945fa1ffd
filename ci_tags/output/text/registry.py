"""Human lines of the commands that work on single images and tags: retag, tags, inspect, untag."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ci_tags.output import Output
    from ci_tags.services.retag import Retagged


def retagged(result: Retagged, out: Output) -> None:
    copied = result.copied
    out.line(f"{result.source} -> {result.destination} {copied.digest}")
    if copied.mode != "same-repository":
        out.info(
            f"blobs: {copied.blobs_mounted} mounted, {copied.blobs_present} already present, "
            f"{copied.blobs_streamed} streamed ({copied.bytes_streamed} bytes)"
        )
