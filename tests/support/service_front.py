"""What the fakes of Quay, Harbor and GitHub's packages API share: a front (tests/support/proxy.py) on the real
distribution registry that answers the service's API itself and passes the registry API through, so the tags a
service lists are the registry's real tags, and a tag it removes is really gone from the registry.

The service's own records (when each tag was pushed, when each image was created there) are kept here: a tag
pushed through the front is recorded at that moment; a test sets any other time in ``pushed``/``created``. Every
API request is recorded in ``api_requests`` as (method, raw path with query); every registry API request the
client sent through the front in ``front.seen``.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote, urlencode, urljoin

import requests

from tests.support.proxy import RegistryFront

ACCEPT = ", ".join([
    "application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json"])
_MANIFEST = re.compile(r"/v2/(?P<repo>.+)/manifests/(?P<ref>[^/]+)")
Answer = tuple[int, dict[str, str], bytes]


def answer(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Answer:
    data = b"" if body is None else json.dumps(body).encode()
    return status, {"Content-Type": "application/json", **(headers or {})}, data


class Upstream:
    """The real registry, reached directly (the fake's own requests never pass the front)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def tags(self, repo: str) -> list[str]:
        resp = requests.get(f"{self.url}/v2/{repo}/tags/list", timeout=10)
        return sorted(resp.json().get("tags") or []) if resp.status_code == 200 else []

    def catalog(self, prefix: str = "") -> list[str]:
        """The repositories starting with ``prefix`` that hold a tag (every page of the catalog)."""
        found: list[str] = []
        url: str | None = f"{self.url}/v2/_catalog?n=1000"
        while url:
            resp = requests.get(url, timeout=10)
            resp.raise_for_status()
            found += resp.json().get("repositories") or []
            nxt = resp.links.get("next", {}).get("url")
            url = urljoin(self.url, nxt) if nxt else None
        return [r for r in found if r.startswith(prefix) and self.tags(r)]

    def digest(self, repo: str, ref: str) -> str | None:
        resp = requests.head(f"{self.url}/v2/{repo}/manifests/{ref}", headers={"Accept": ACCEPT}, timeout=10)
        return resp.headers.get("Docker-Content-Digest") if resp.status_code == 200 else None

    def delete(self, repo: str, digest: str) -> None:
        requests.delete(f"{self.url}/v2/{repo}/manifests/{digest}", timeout=10).raise_for_status()

    def untag(self, repo: str, tag: str) -> None:
        """Remove ``tag`` only, as the service does: the registry's tag DELETE (distribution 3), else a throwaway
        index over it deleted by its digest (distribution 2.8 refuses a tag DELETE)."""
        if requests.delete(f"{self.url}/v2/{repo}/manifests/{tag}", timeout=10).status_code == 202:
            return
        body = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                           "manifests": [], "annotations": {"fake.service.untag": uuid.uuid4().hex}}).encode()
        put = requests.put(f"{self.url}/v2/{repo}/manifests/{tag}", data=body, timeout=10,
                           headers={"Content-Type": "application/vnd.oci.image.index.v1+json"})
        put.raise_for_status()
        self.delete(repo, "sha256:" + hashlib.sha256(body).hexdigest())


class ServiceFront:
    """Subclasses answer their API in :meth:`api`; everything else goes to the registry."""

    service = "service"

    def __init__(self, upstream_url: str) -> None:
        self.upstream = Upstream(upstream_url)
        self.pushed: dict[tuple[str, str], datetime] = {}  # (repository, tag) -> when the tag was pushed
        self.created: dict[str, datetime] = {}  # digest -> when the service first saw the image
        self.api_requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.front = RegistryFront(upstream_url, api=self._route)
        self.host = self.front.host
        self.url = f"http://{self.host}"

    def close(self) -> None:
        self.front.close()

    def count(self, method: str, pattern: str = "") -> int:
        return sum(1 for m, p in self.api_requests if m == method and re.search(pattern, p))

    def registry_writes(self) -> list[tuple[str, str]]:
        """Manifest PUTs and DELETEs the client sent through the registry API."""
        return [(m, p) for m, p in self.front.seen if m in ("PUT", "DELETE") and "/manifests/" in p]

    def _route(self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str],
               body: bytes | None) -> Answer | None:
        if path.startswith("/v2/"):
            one = _MANIFEST.fullmatch(path)
            if one and method == "PUT":
                now = datetime.now(timezone.utc)
                digest = "sha256:" + hashlib.sha256(body or b"").hexdigest()
                with self.lock:
                    self.created.setdefault(digest, now)
                    if not one["ref"].startswith("sha256:"):
                        self.pushed[(one["repo"], one["ref"])] = now
            return self.registry(method, path, query)
        self.api_requests.append((method, path + ("?" + urlencode(query, doseq=True) if query else "")))
        return self.api(method, path, {k: v[-1] for k, v in query.items()}, headers, body)

    def registry(self, method: str, path: str, query: dict[str, list[str]]) -> Answer | None:
        """The registry API as the service serves it: None passes the request to the registry."""
        return None

    def api(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
            body: bytes | None) -> Answer:
        raise NotImplementedError

    # -- what the service knows of a repository -----------------------------------------------------------------

    def tag_time(self, repo: str, tag: str) -> datetime:
        with self.lock:
            return self.pushed.setdefault((repo, tag), datetime.now(timezone.utc))

    def image_time(self, digest: str) -> datetime:
        with self.lock:
            return self.created.setdefault(digest, datetime.now(timezone.utc))

    def tagged(self, repo: str) -> dict[str, str]:
        """tag -> digest of every tag of ``repo`` in the registry."""
        found = {}
        for tag in self.upstream.tags(repo):
            digest = self.upstream.digest(repo, tag)
            if digest:
                found[tag] = digest
        return found


def segments(path: str) -> list[str]:
    """A raw path's segments, each URL-decoded once (``a%2Fb`` stays one segment: ``a/b``)."""
    return [unquote(s) for s in path.strip("/").split("/")]


def paged(rows: list[Any], query: dict[str, str], url: str, *, size_key: str, default: int,
          most: int = 100) -> tuple[list[Any], dict[str, str]]:
    """``page``/``size_key`` offset paging with a ``Link: <...>; rel="next"`` header while more follow."""
    page, size = int(query.get("page", "1")), min(int(query.get(size_key, str(default))), most)
    chunk = rows[(page - 1) * size: page * size]
    headers = {"X-Total-Count": str(len(rows))}
    if page * size < len(rows):
        headers["Link"] = f'<{url}?{urlencode({**query, "page": str(page + 1)})}>; rel="next"'
    return chunk, headers


def iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
