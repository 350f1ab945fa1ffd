"""A fake ghcr.io on the real registry (tests/support/service_front.py), with GitHub's REST API for packages
(docs.github.com/rest/packages/packages) served on the same front. No GitHub can run here.

Registry API: passed through, except a manifest DELETE, which ghcr.io answers 405 (``UNSUPPORTED``).
GitHub API (``Authorization: Bearer TOKEN``, else 401 ``{"message": "Bad credentials"}``):

- ``GET /users/{owner}`` -> ``{"login", "type": "Organization" | "User"}`` (orgs are those in ``orgs``);
- ``GET /{orgs|users}/{owner}/packages?package_type=container&per_page=&page=`` -> ``[{"id", "name",
  "package_type": "container", "visibility"}]``; a user's path for an org (or the reverse) is a 404;
- ``GET .../packages/container/{package_name}/versions?per_page=&page=`` (``{package_name}`` URL-encoded) ->
  ``[{"id", "name": DIGEST, "url", "created_at", "updated_at", "metadata": {"package_type": "container",
  "container": {"tags": [...]}}}]``, newest first; ``GET .../versions/{id}`` -> one of them;
- ``DELETE .../versions/{id}`` -> 204: the version goes, with every tag on it.

Lists page by ``page``/``per_page`` (default 30, at most 100) with a ``Link`` header. A version is every digest
tagged in the repository and every digest pushed through the front that still exists; its ``created_at`` is when
the front first saw it (or ``created``), its ``updated_at`` the latest push time of its tags (GitHub moves it
when a tag is added).
"""

from __future__ import annotations

import re
from urllib.parse import quote

from tests.support.service_front import Answer, ServiceFront, answer, iso, paged, segments

_VERSIONS = re.compile(
    r"/(?P<kind>orgs|users)/(?P<owner>[^/]+)/packages/container/(?P<pkg>[^/]+)/versions(?:/(?P<id>\d+))?")


class FakeGhcrFront(ServiceFront):
    service = "GitHub"

    def __init__(self, upstream_url: str, token: str, *, page_cap: int = 100) -> None:
        super().__init__(upstream_url)
        self.token, self.page_cap = token, page_cap
        self.orgs: set[str] = set()
        self.ids: dict[str, int] = {}  # digest -> version id

    def registry(self, method: str, path: str, query: dict[str, list[str]]) -> Answer | None:
        if method == "DELETE" and "/manifests/" in path:
            return answer(405, {"errors": [{"code": "UNSUPPORTED", "message": "The operation is unsupported."}]})
        return None

    def _id(self, digest: str) -> int:
        with self.lock:
            return self.ids.setdefault(digest, len(self.ids) + 1)

    def api(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
            body: bytes | None) -> Answer:
        if headers.get("Authorization") != f"Bearer {self.token}":
            return answer(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
        parts = segments(path)
        if method == "GET" and len(parts) == 2 and parts[0] == "users":
            kind = "Organization" if parts[1] in self.orgs else "User"
            return answer(200, {"login": parts[1], "type": kind})
        if method == "GET" and len(parts) == 3 and parts[2] == "packages":
            if not self._owner_ok(parts[0], parts[1]):
                return answer(404, {"message": "Not Found"})
            names = sorted(r[len(parts[1]) + 1:] for r in self.upstream.catalog(parts[1] + "/"))
            rows = [{"id": i + 1, "name": n, "package_type": "container", "visibility": "private"}
                    for i, n in enumerate(names)]
            return self._page(rows, query, path)
        one = _VERSIONS.fullmatch("/" + "/".join(quote(p, safe="") for p in parts))
        if not one or not self._owner_ok(one["kind"], one["owner"]):
            return answer(404, {"message": "Not Found"})
        repo = f"{one['owner']}/{parts[4]}"
        versions = self._versions(repo)
        if not versions:
            return answer(404, {"message": "Package not found."})
        if one["id"] is None and method == "GET":
            return self._page(versions, query, path)
        version = next((v for v in versions if str(v["id"]) == one["id"]), None)
        if version is None:
            return answer(404, {"message": "Not Found"})
        if method == "GET":
            return answer(200, version)
        if method == "DELETE":
            self.upstream.delete(repo, str(version["name"]))
            return answer(204)
        return answer(405, {"message": "Method Not Allowed"})

    def _owner_ok(self, kind: str, owner: str) -> bool:
        return (kind == "orgs") == (owner in self.orgs)

    def _page(self, rows: list[dict[str, object]], query: dict[str, str], path: str) -> Answer:
        chunk, headers = paged(rows, query, path, size_key="per_page", default=30, most=min(100, self.page_cap))
        return answer(200, chunk, headers)

    def _versions(self, repo: str) -> list[dict[str, object]]:
        tags: dict[str, list[str]] = {}
        for tag, digest in self.tagged(repo).items():
            tags.setdefault(digest, []).append(tag)
        with self.lock:
            seen = list(self.created)
        for digest in seen:  # untagged versions pushed through the front, while they exist
            if digest not in tags and self.upstream.digest(repo, digest):
                tags[digest] = []
        rows = []
        for digest, names in tags.items():
            created = self.image_time(digest)
            updated = max([created, *(self.tag_time(repo, t) for t in names)])
            rows.append({"id": self._id(digest), "name": digest, "url": "", "created_at": iso(created),
                         "updated_at": iso(updated), "metadata": {"package_type": "container",
                                                                  "container": {"tags": sorted(names)}}})
        return sorted(rows, key=lambda r: (str(r["updated_at"]), int(str(r["id"]))), reverse=True)
