"""Bodies of the distribution API besides manifests: a blob streamed with its length, a registry's error text."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ci_tags.core.secrets import scrub

if TYPE_CHECKING:
    import requests

CHUNK = 1 << 20  # the read size of a streamed blob


class SizedStream:
    """An iterable body with a known length, so requests streams it with a Content-Length, not chunked."""

    def __init__(self, chunks: Iterator[bytes], size: int) -> None:
        self._chunks = chunks
        self._size = size

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def __len__(self) -> int:
        return self._size


def _errors(resp: requests.Response) -> list[dict[str, Any]]:
    """The ``errors`` of a registry's error body (the distribution spec's shape); none when it has another."""
    try:
        errors = resp.json().get("errors") or []
    except (ValueError, AttributeError, RecursionError):
        return []
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def error_codes(resp: requests.Response) -> set[str]:
    """The registry's error codes (``MANIFEST_BLOB_UNKNOWN``...)."""
    return {str(e.get("code", "")) for e in _errors(resp)}


def error_text(resp: requests.Response) -> str:
    """The registry's error codes and messages, cut short and scrubbed of credentials a server may echo."""
    parts = [f"{e.get('code', '')}: {e.get('message', '')}".strip(": ") for e in _errors(resp)]
    return scrub("; ".join(parts)[:300] or (resp.reason or ""))
