"""A fake Harbor on the real registry (tests/support/service_front.py): Harbor's API v2.0 as its reference
(goharbor/harbor api/v2.0/swagger.yaml) describes it, the registry API passed through. No Harbor can run here.

- ``GET /api/v2.0/systeminfo`` -> ``{"auth_mode", "harbor_version", ...}``, without credentials;
- ``GET /api/v2.0/projects/{project_name}/repositories?page=&page_size=`` -> ``[{"id", "name": "project/rest",
  "project_id", "artifact_count"}]``;
- ``GET /api/v2.0/projects/{p}/repositories/{repository_name}/artifacts?with_tag=true&page=&page_size=`` ->
  ``[{"id", "digest", "type": "IMAGE", "push_time", "tags": [{"id", "name", "push_time", "immutable"}],
  "accessories": null}]``;
- ``DELETE .../artifacts/{reference}/tags/{tag_name}`` -> 200 (that tag only); 404 when the artifact or tag is
  absent; 412 ``PRECONDITION`` for an immutable tag.

Lists page by ``page``/``page_size`` (default 10, at most 100) with ``X-Total-Count`` and a ``Link`` header.
``{repository_name}`` holding ``/`` must be URL-encoded twice (``a%252Fb``): the router decodes the path once,
so ``a%2Fb`` becomes ``a/b`` and no route matches (404). Every call but systeminfo needs HTTP Basic auth with
the robot account, else 401 ``{"errors": [{"code": "UNAUTHORIZED", "message": "unauthorized"}]}``.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import unquote

from tests.support.service_front import Answer, ServiceFront, answer, iso, paged

_ARTIFACTS = re.compile(r"/api/v2\.0/projects/(?P<p>[^/]+)/repositories/(?P<r>[^/]+)/artifacts(?P<rest>/.*)?")
_REPOSITORIES = re.compile(r"/api/v2\.0/projects/(?P<p>[^/]+)/repositories")


def _errors(status: int, code: str, message: str) -> Answer:
    return answer(status, {"errors": [{"code": code, "message": message}]})


class FakeHarborFront(ServiceFront):
    service = "Harbor"

    def __init__(self, upstream_url: str, username: str, password: str, *, page_cap: int = 100) -> None:
        super().__init__(upstream_url)
        self.basic = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        self.page_cap = page_cap
        self.immutable: set[tuple[str, str]] = set()

    def api(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
            body: bytes | None) -> Answer:
        decoded = unquote(path)  # the router's one decoding
        if decoded == "/api/v2.0/systeminfo":
            return answer(200, {"auth_mode": "db_auth", "harbor_version": "v2.11.0", "self_registration": False})
        if headers.get("Authorization") != self.basic:
            return _errors(401, "UNAUTHORIZED", "unauthorized")
        listing = _REPOSITORIES.fullmatch(decoded)
        if listing and method == "GET":
            project = listing["p"]
            rows = [{"id": i, "name": n, "artifact_count": 1} for i, n in enumerate(
                sorted(self.upstream.catalog(project + "/")))]
            return self._page(rows, query, path)
        one = _ARTIFACTS.fullmatch(decoded)
        if not one:
            return _errors(404, "NOT_FOUND", "route not found")
        repo = f"{one['p']}/{unquote(one['r'])}"
        rest = one["rest"] or ""
        if method == "GET" and not rest:
            return self._artifacts(repo, query, path)
        tag_route = re.fullmatch(r"/(?P<ref>[^/]+)/tags/(?P<tag>[^/]+)", rest)
        if method == "DELETE" and tag_route:
            tagged = self.tagged(repo)
            ref, tag = tag_route["ref"], tag_route["tag"]
            digest = ref if ref.startswith("sha256:") else tagged.get(ref)
            if tag not in tagged or tagged[tag] != digest:
                return _errors(404, "NOT_FOUND", f"tag {tag} not found")
            if (repo, tag) in self.immutable:
                return _errors(412, "PRECONDITION", "the tag is immutable, cannot be deleted")
            self.upstream.untag(repo, tag)
            return answer(200)
        return _errors(405, "METHOD_NOT_ALLOWED", "method not allowed")

    def _page(self, rows: list[dict[str, object]], query: dict[str, str], path: str) -> Answer:
        chunk, headers = paged(rows, query, path, size_key="page_size", default=10, most=min(100, self.page_cap))
        return answer(200, chunk, headers)

    def _artifacts(self, repo: str, query: dict[str, str], path: str) -> Answer:
        tagged = self.tagged(repo)
        if not tagged:
            return _errors(404, "NOT_FOUND", f"repository {repo} not found")
        by_digest: dict[str, list[str]] = {}
        for tag, digest in tagged.items():
            by_digest.setdefault(digest, []).append(tag)
        rows = []
        for n, (digest, tags) in enumerate(sorted(by_digest.items())):
            rows.append({"id": n + 1, "digest": digest, "type": "IMAGE", "push_time": iso(self.image_time(digest)),
                         "accessories": None,
                         "tags": [{"id": 100 * n + i, "name": t, "push_time": iso(self.tag_time(repo, t)),
                                   "immutable": (repo, t) in self.immutable} for i, t in enumerate(sorted(tags))]})
        return self._page(rows, query, path)
