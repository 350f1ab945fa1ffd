"""``--backend auto``'s probes for self-hosted services on a registry's own host (Quay's ``/api/v1/discovery``,
Harbor's ``/api/v2.0/systeminfo``): one GET each, at most once per URL in a process, without credentials. Any
failure to answer (404 from a plain registry, a refused connection, HTML) means "not that service"."""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

from ci_tags.errors import CiTagsError

if TYPE_CHECKING:
    from ci_tags.oci.http import Http

_seen: weakref.WeakKeyDictionary[Http, dict[str, bool]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def answers_json(http: Http, url: str, key: str) -> bool:
    """Whether ``GET url`` answers 200 with a JSON object holding ``key``; asked once per ``http`` and URL."""
    with _lock:
        known = _seen.setdefault(http, {})
        if url in known:
            return known[url]
    try:
        resp = http.request("GET", url, headers={"Accept": "application/json"})
        body = resp.json() if resp.status_code == 200 else None
    except (CiTagsError, ValueError, RecursionError):
        body = None
    found = isinstance(body, dict) and key in body
    with _lock:
        known[url] = found
    return found
