"""A fake Docker Hub API on a free loopback port. No Docker Hub can be reached here, so this replays the
request and response shapes of the Docker Hub API reference (https://docs.docker.com/reference/api/hub/latest/):

- ``POST /v2/auth/token`` ``{"identifier", "secret"}`` -> 200 ``{"access_token"}`` (operation
  AuthCreateAccessToken; schema AuthCreateTokenResponse), 401 on wrong credentials;
- ``POST /v2/users/login`` ``{"username", "password"}`` -> 200 ``{"token"}``, 401 ``{"detail": "Incorrect
  authentication credentials"}`` (operation PostUsersLogin, deprecated; schemas PostUsersLogin*Response);
- ``GET /v2/namespaces/{namespace}/repositories`` with ``page``, ``page_size`` (at most 100), ``name`` (partial
  match) and ``ordering`` -> ``{"count", "next", "previous", "results": [{"name", "namespace",
  "repository_type", "status", "status_description", "is_private", "last_updated", ...}]}`` (operation
  listNamespaceRepositories);
- ``GET /v2/namespaces/{namespace}/repositories/{repository}/tags`` with ``page``, ``page_size`` (at most 100)
  -> the ``paginated_tags`` schema: ``{"count", "next", "previous", "results": [tag]}`` where a tag has ``id``,
  ``name``, ``digest``, ``images``, ``last_updated``, ``status``, ``tag_last_pulled``, ``tag_last_pushed``...
  (``digest`` and ``images`` as a list are what the live Hub sends; the reference's schema lists ``images`` as an
  object and omits ``digest``);
- ``DELETE /v2/repositories/{namespace}/{repository}/tags/{tag}/`` -> 204: not in the reference; the route
  docker/hub-tool uses (internal/hub/tags.go, ``DeleteTagURL``), 404 when the tag is absent.

API calls need ``Authorization: Bearer <access token>`` of a login still valid (:meth:`FakeDockerHub.expire_tokens`
ends them, as the 10-minute expiry does), else 401. ``next`` links are absolute URLs, as the Hub sends them.
With ``rate_limit_first`` the first request of any kind gets 429 with ``Retry-After: 1`` (and the reference's
``X-Retry-After``, a Unix time); with ``rate_limit_once_on=(METHOD, path prefix)`` the first matching request does.
A ``namespace/name:tag`` in ``immutable`` answers 403 to DELETE (Hub's immutable tags refuse removal; the status
code is this fake's assumption, the body the API's error shape). State is kept: a deleted tag is gone from later
listings. Every request is recorded in ``requests`` as (method, path with query).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from tests.support.fake_http import JsonHandler

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 10


def fake_digest(*parts: str) -> str:
    return "sha256:" + hashlib.sha256("/".join(parts).encode()).hexdigest()


class FakeDockerHub:
    """``repos`` maps ``namespace/name`` to ``{tag: tag_last_pushed}``; a value may instead be a dict of tag
    fields that override the defaults (``{"digest": ..., "tag_last_pushed": None, "last_updated": ...}``)."""

    def __init__(
        self,
        user: str,
        secret: str,
        repos: dict[str, dict[str, Any]],
        rate_limit_first: bool = False,
        *,
        legacy_login_only: bool = False,
        rate_limit_once_on: tuple[str, str] | None = None,
        immutable: frozenset[str] = frozenset(),
    ) -> None:
        self.user, self.secret = user, secret
        self.repos = repos
        self.requests: list[tuple[str, str]] = []
        self.rate_limit = rate_limit_first
        self.legacy_login_only = legacy_login_only  # a deployment without /v2/auth/token
        self.rate_limit_once_on = rate_limit_once_on
        self.immutable = immutable
        self.valid_tokens: set[str] = set()
        self.logins = 0
        self.lock = threading.Lock()
        fake = self

        class Handler(JsonHandler):

            def _page(self, items: list[dict[str, Any]], parts: Any) -> None:
                q = parse_qs(parts.query)
                size = max(1, min(MAX_PAGE_SIZE, int(q.get("page_size", [str(DEFAULT_PAGE_SIZE)])[0])))
                page = max(1, int(q.get("page", ["1"])[0]))
                chunk = items[(page - 1) * size : page * size]

                def link(n: int) -> str:
                    query = {k: v[0] for k, v in q.items()}
                    query.update(page=str(n), page_size=str(size))
                    return f"http://{self.headers['Host']}{parts.path}?{urlencode(query)}"

                nxt = link(page + 1) if page * size < len(items) else None
                prev = link(page - 1) if page > 1 else None
                self._send(200, {"count": len(items), "next": nxt, "previous": prev, "results": chunk})

            def _body(self) -> dict[str, Any]:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    data = json.loads(raw or b"{}")
                except ValueError:
                    return {}
                return data if isinstance(data, dict) else {}

            def _login(self, ok: bool, key: str) -> None:
                if not ok:
                    return self._send(401, {"detail": "Incorrect authentication credentials",
                                            "message": "Incorrect authentication credentials"})
                with fake.lock:
                    fake.logins += 1
                    token = f"eyJhbGciOiJIUzI1NiJ9.fake-{fake.logins}.sig"
                    fake.valid_tokens.add(token)
                return self._send(200, {key: token})

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                fake.requests.append((self.command, self.path))
                body = self._body() if self.command == "POST" else {}
                once = fake.rate_limit_once_on
                if once and self.command == once[0] and parts.path.startswith(once[1]):
                    fake.rate_limit_once_on = None
                    fake.rate_limit = True
                if fake.rate_limit:
                    fake.rate_limit = False
                    return self._send(429, {"message": "Too Many Requests"},
                                      {"Retry-After": "1", "X-Retry-After": str(int(time.time()) + 1)})
                if self.command == "POST" and parts.path == "/v2/auth/token":
                    if fake.legacy_login_only:
                        return self._send(404, {"message": "page not found"})
                    ok = body.get("identifier") == fake.user and body.get("secret") == fake.secret
                    return self._login(ok, "access_token")
                if self.command == "POST" and parts.path.rstrip("/") == "/v2/users/login":
                    ok = body.get("username") == fake.user and body.get("password") == fake.secret
                    return self._login(ok, "token")
                auth = self.headers.get("Authorization", "")
                if not auth.startswith("Bearer ") or auth[len("Bearer "):] not in fake.valid_tokens:
                    return self._send(401, {"detail": "Authentication credentials were not provided."})
                m = re.fullmatch(r"/v2/namespaces/([^/]+)/repositories/?", parts.path)
                if self.command == "GET" and m:
                    return self._repositories(unquote(m.group(1)), parts)
                m = re.fullmatch(r"/v2/namespaces/([^/]+)/repositories/([^/]+)/tags/?", parts.path)
                if self.command == "GET" and m:
                    key = f"{unquote(m.group(1))}/{unquote(m.group(2))}"
                    with fake.lock:
                        if key not in fake.repos:
                            return self._send(404, {"message": "object not found", "errinfo": {}})
                        tags = [fake.tag_json(key, t, v) for t, v in sorted(fake.repos[key].items())]
                    return self._page(tags, parts)
                m = re.fullmatch(r"/v2/repositories/([^/]+)/([^/]+)/tags/([^/]+)/", parts.path)
                if self.command == "DELETE" and m:
                    key, tag = f"{unquote(m.group(1))}/{unquote(m.group(2))}", unquote(m.group(3))
                    with fake.lock:
                        if tag not in fake.repos.get(key, {}):
                            return self._send(404, {"message": "Tag not found", "errinfo": {}})
                        if f"{key}:{tag}" in fake.immutable:
                            return self._send(403, {"message": "tag is immutable", "errinfo": {}})
                        del fake.repos[key][tag]
                    return self._send(204)
                return self._send(404, {"message": "page not found"})

            def _repositories(self, ns: str, parts: Any) -> None:
                q = parse_qs(parts.query)
                name_filter = q.get("name", [""])[0]
                with fake.lock:
                    names = [r.split("/", 1)[1] for r in fake.repos if r.split("/", 1)[0] == ns]
                if not names:
                    return self._send(404, {"message": "object not found", "errinfo": {}})
                descending = q.get("ordering", ["name"])[0] == "-name"
                names = sorted((n for n in names if name_filter in n), reverse=descending)
                rows = [{"name": n, "namespace": ns, "repository_type": "image", "status": 1,
                         "status_description": "active", "description": "", "is_private": False,
                         "star_count": 0, "pull_count": 0, "last_updated": "2026-01-01T00:00:00.000000Z",
                         "date_registered": "2025-01-01T00:00:00.000000Z", "affiliation": "",
                         "media_types": ["application/vnd.oci.image.index.v1+json"], "content_types": ["image"],
                         "categories": [], "storage_size": 0} for n in names]
                return self._page(rows, parts)

            do_GET = do_POST = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @staticmethod
    def tag_json(repo: str, tag: str, value: Any) -> dict[str, Any]:
        """A tag as the Hub lists it; ``value`` is tag_last_pushed, or a dict of fields overriding the defaults."""
        pushed = value if isinstance(value, str) or value is None else "2026-01-01T00:00:00.000000Z"
        digest = fake_digest(repo, tag)
        row = {
            "id": int(hashlib.sha256(f"{repo}:{tag}".encode()).hexdigest()[:8], 16),
            "name": tag,
            "creator": 7, "last_updater": 7, "last_updater_username": "ci-bot", "repository": 11,
            "full_size": 1234, "v2": True, "status": "active", "tag_status": "active",
            "media_type": "application/vnd.oci.image.index.v1+json", "content_type": "image",
            "digest": digest,
            "images": [{"architecture": "amd64", "os": "linux", "variant": None, "features": "", "digest":
                        fake_digest(repo, tag, "amd64"), "size": 1234, "status": "active",
                        "last_pulled": None, "last_pushed": pushed}],
            "last_updated": pushed,
            "tag_last_pulled": None,
            "tag_last_pushed": pushed,
        }
        if isinstance(value, dict):
            row.update(value)
        return row

    def expire_tokens(self) -> None:
        """End every access token handed out so far, as their 10-minute lifetime does."""
        with self.lock:
            self.valid_tokens.clear()

    def count(self, method: str, path_start: str) -> int:
        return sum(1 for m, p in self.requests if m == method and p.startswith(path_start))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
