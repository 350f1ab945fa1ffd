"""A fake Quay on the real registry (tests/support/service_front.py): Quay's API v1 as its reference
(docs.quay.io/api/swagger/, quay/quay endpoints/api/tag.py, repository.py, discovery.py) describes it, the
registry API passed through. No Quay can run here.

- ``GET /api/v1/discovery`` -> a Swagger document (``{"swagger": "2.0", "paths": {...}}``), without a token;
- ``GET /api/v1/repository?namespace=NS[&next_page=T]`` -> ``{"repositories": [{"namespace", "name",
  "is_public"}], "next_page": T}`` (``next_page`` only while more follow);
- ``GET /api/v1/repository/NS/NAME/tag/?onlyActiveTags=true&limit=N&page=P`` -> ``{"tags": [{"name",
  "manifest_digest", "start_ts", "last_modified", "is_manifest_list", "expiration"?}], "page": P,
  "has_additional": bool}``; ``limit`` above 100 is a 400;
- ``DELETE /api/v1/repository/NS/NAME/tag/TAG`` -> 204 (that tag only), 404 when absent;
- ``PUT /api/v1/repository/NS/NAME/tag/TAG`` with ``{"expiration": UNIX_TIME}`` -> 201 ``"Updated"``.

Every other API call needs ``Authorization: Bearer TOKEN``, else 401 ``{"error": "Requires authentication"}``.
``page_cap`` makes pages smaller than asked (to see the paging followed).
"""

from __future__ import annotations

import json
import re
from email.utils import format_datetime

from tests.support.service_front import Answer, ServiceFront, answer

_TAG = re.compile(r"/api/v1/repository/(?P<repo>.+)/tag/(?P<tag>[^/]*)")


class FakeQuayFront(ServiceFront):
    service = "Quay"

    def __init__(self, upstream_url: str, token: str, *, page_cap: int = 100) -> None:
        super().__init__(upstream_url)
        self.token, self.page_cap = token, page_cap
        self.expirations: dict[tuple[str, str], int] = {}

    def api(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
            body: bytes | None) -> Answer:
        if path == "/api/v1/discovery":
            return answer(200, {"swagger": "2.0", "paths": {"/api/v1/repository/{repository}/tag/": {}}})
        if headers.get("Authorization") != f"Bearer {self.token}":
            return answer(401, {"error": "Requires authentication", "title": "unauthorized"})
        if path == "/api/v1/repository" and method == "GET":
            return self._repositories(query)
        one = _TAG.fullmatch(path)
        if not one:
            return answer(404, {"error": "Not Found"})
        repo, tag = one["repo"], one["tag"]
        if method == "GET" and not tag:
            return self._tags(repo, query)
        if tag not in self.upstream.tags(repo):
            return answer(404, {"error": "Not Found"})
        if method == "DELETE":
            self.upstream.untag(repo, tag)
            return answer(204)
        if method == "PUT":
            self.expirations[(repo, tag)] = int(json.loads(body or b"{}")["expiration"])
            return answer(201, "Updated")
        return answer(405, {"error": "Method Not Allowed"})

    def _repositories(self, query: dict[str, str]) -> Answer:
        ns = query.get("namespace", "")
        names = sorted(self.upstream.catalog(ns + "/"))
        start = int(query.get("next_page", "0"))
        chunk = names[start: start + self.page_cap]
        body: dict[str, object] = {"repositories": [
            {"namespace": ns, "name": n[len(ns) + 1:], "is_public": True} for n in chunk]}
        if start + self.page_cap < len(names):
            body["next_page"] = str(start + self.page_cap)
        return answer(200, body)

    def _tags(self, repo: str, query: dict[str, str]) -> Answer:
        if not self.upstream.tags(repo):
            return answer(404, {"error": "Not Found"})
        limit = int(query.get("limit", "50"))
        if limit > 100:
            return answer(400, {"error_message": "limit must be at most 100"})
        page, size = int(query.get("page", "1")), min(limit, self.page_cap)
        rows = sorted(self.tagged(repo).items(), key=lambda t: (-self.tag_time(repo, t[0]).timestamp(), t[0]))
        chunk = rows[(page - 1) * size: page * size]
        tags = []
        for tag, digest in chunk:
            when = self.tag_time(repo, tag)
            row: dict[str, object] = {"name": tag, "manifest_digest": digest, "start_ts": int(when.timestamp()),
                                      "last_modified": format_datetime(when), "is_manifest_list": False,
                                      "reversion": False}
            if (repo, tag) in self.expirations:
                row["end_ts"] = self.expirations[(repo, tag)]
            tags.append(row)
        return answer(200, {"tags": tags, "page": page, "has_additional": page * size < len(rows)})
