"""A fake GitLab container registry REST API (``/api/v4``) on a free loopback port. No GitLab server can run
here, so this replays the routes, status codes and response shapes of GitLab's "Container registry API" page
(https://docs.gitlab.com/api/container_registry/, doc/api/container_registry.md) and of the code behind it
(lib/api/project_container_repositories.rb, lib/api/entities/container_registry.rb):

- ``GET /groups/:id/registry/repositories`` and ``GET /projects/:id/registry/repositories`` -> ``[{"id", "name",
  "path", "project_id", "location", "created_at", "cleanup_policy_started_at", "status"}]`` (group: its projects
  and its subgroups' projects);
- ``GET /projects/:id/registry/repositories/:repository_id/tags`` -> ``[{"name", "path", "location"}]`` (with
  ``rich_list=True`` also ``digest``/``created_at``/``published_at``, as a registry with a metadata database
  could list them);
- ``GET .../tags/:tag_name`` -> ``{"name", "path", "location", "revision", "short_revision", "digest",
  "created_at", "total_size"}``, plus ``published_at`` for tags that have one; 404 ``{"message": "404 Tag Not
  Found"}``;
- ``DELETE .../tags/:tag_name`` -> 200 (``status :ok``), 404 when absent, 403 for protected tags; the bulk
  ``DELETE .../tags`` answers 202 and is recorded so tests can see it was never used.

``:id`` is a number or a URL-encoded path (``group%2Fproject``). Lists use GitLab's offset pagination
(REST API docs, "Pagination"): ``page`` and ``per_page`` (default 20, at most 100), ``X-Page``, ``X-Per-Page``,
``X-Total``, ``X-Total-Pages``, ``X-Next-Page``, ``X-Prev-Page`` and a ``Link`` header with ``prev``/``next``/
``first``/``last``. Auth: ``PRIVATE-TOKEN`` (any path) or ``JOB-TOKEN`` (only its own project's registry);
a wrong token gets 401 ``{"message": "401 Unauthorized"}``, a job token elsewhere 403. State is kept: a deleted
tag is gone from later listings. Every request is recorded in ``requests`` as (method, path with query).

``created_at`` may be None: GitLab without the registry metadata database reads it from the image config, and
an index has none, so the API answers null for it. With ``rate_limit_once_on=(METHOD, path regex)`` the first
matching request gets GitLab's throttle answer (docs "Rate limits on ... API": 429, body ``Retry later``,
``Retry-After`` and ``RateLimit-*`` headers), or ``throttle=(status, headers)`` instead (a 503 of a proxy in
front of GitLab, say). ``hook(method, path)`` runs in each request's thread first, outside the fake's lock.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from tests.support.fake_http import JsonHandler

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100


@dataclass
class FakeTag:
    digest: str
    created_at: str | None
    published_at: str | None = None  # only GitLab versions that record push times send it
    protected: bool = False


@dataclass
class FakeRepository:
    id: int
    project: str  # the project's path
    name: str  # "" for the project's root image
    tags: dict[str, FakeTag] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return f"{self.project}/{self.name}" if self.name else self.project


def digest_of(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


class FakeGitLabRegistry:
    def __init__(
        self,
        token: str,
        *,
        registry_host: str = "registry.gitlab.example.com",
        job_token: str | None = None,
        job_project: str | None = None,
        rich_list: bool = False,
        rate_limit_once_on: tuple[str, str] | None = None,
        throttle: tuple[int, dict[str, str]] | None = None,
        hook: Callable[[str, str], None] | None = None,
    ) -> None:
        self.token = token
        self.job_token, self.job_project = job_token, job_project
        self.registry_host = registry_host
        self.rich_list = rich_list
        self.rate_limit_once_on = rate_limit_once_on
        self.throttle = throttle
        self.hook = hook
        self.projects: dict[str, int] = {}  # path -> id
        self.groups: dict[str, int] = {}  # path -> id
        self.repositories: list[FakeRepository] = []
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(JsonHandler):

            def _throttled(self) -> None:
                data = b"Retry later\n"
                if fake.throttle:
                    self.send_response(fake.throttle[0])
                    for k, v in {**fake.throttle[1], "Content-Length": str(len(data))}.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                    return
                self.send_response(429)
                headers = {"Content-Type": "text/plain", "Retry-After": "1",
                           "RateLimit-Name": "throttle_authenticated_api", "RateLimit-Limit": "60",
                           "RateLimit-Observed": "67", "RateLimit-Remaining": "0",
                           "RateLimit-Reset": str(int(time.time()) + 1), "Content-Length": str(len(data))}
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _paged(self, items: list[Any], parts: Any) -> None:
                q = parse_qs(parts.query)
                per_page = max(1, min(MAX_PER_PAGE, int(q.get("per_page", [str(DEFAULT_PER_PAGE)])[0])))
                page = max(1, int(q.get("page", ["1"])[0]))
                total_pages = max(1, math.ceil(len(items) / per_page))
                chunk = items[(page - 1) * per_page : page * per_page]

                def url(n: int) -> str:
                    query = {k: v[0] for k, v in q.items()}
                    query.update(page=str(n), per_page=str(per_page))
                    return f"http://{self.headers['Host']}{parts.path}?{urlencode(query)}"

                links = []
                if page > 1:
                    links.append(f'<{url(page - 1)}>; rel="prev"')
                if page < total_pages:
                    links.append(f'<{url(page + 1)}>; rel="next"')
                links += [f'<{url(1)}>; rel="first"', f'<{url(total_pages)}>; rel="last"']
                self._send(200, chunk, {
                    "X-Page": str(page), "X-Per-Page": str(per_page), "X-Total": str(len(items)),
                    "X-Total-Pages": str(total_pages), "X-Next-Page": str(page + 1) if page < total_pages else "",
                    "X-Prev-Page": str(page - 1) if page > 1 else "", "Link": ", ".join(links),
                })

            def _project(self, ident: str) -> str | None:
                ident = unquote(ident)
                if ident.isdigit():
                    return next((p for p, i in fake.projects.items() if i == int(ident)), None)
                return ident if ident in fake.projects else None

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                fake.requests.append((self.command, self.path))
                if fake.hook:
                    fake.hook(self.command, parts.path)
                once = fake.rate_limit_once_on
                if once and self.command == once[0] and re.search(once[1], self.path):
                    fake.rate_limit_once_on = None
                    return self._throttled()
                raw = [unquote(s) for s in parts.path.split("/")]
                if raw[:3] != ["", "api", "v4"]:
                    return self._send(404, {"error": "404 Not Found"})
                segs = raw[3:]
                private = self.headers.get("PRIVATE-TOKEN")
                job = self.headers.get("JOB-TOKEN")
                if private is not None and private == fake.token:
                    job_project = None
                elif job is not None and fake.job_token is not None and job == fake.job_token:
                    job_project = fake.job_project
                else:
                    return self._send(401, {"message": "401 Unauthorized"})
                with fake.lock:
                    return self._route(segs, parts, job_project)

            def _route(self, segs: list[str], parts: Any, job_project: str | None) -> None:
                if len(segs) == 4 and segs[0] == "groups" and segs[2:] == ["registry", "repositories"]:
                    if job_project is not None:
                        return self._send(403, {"message": "403 Forbidden"})
                    group = segs[1]
                    if group.isdigit():
                        group = next((g for g, i in fake.groups.items() if i == int(group)), "")
                    if group not in fake.groups or self.command != "GET":
                        return self._send(404, {"message": "404 Group Not Found"})
                    repos = [r for r in fake.repositories if r.project.startswith(group + "/")]
                    return self._paged([fake.repository_json(r) for r in repos], parts)
                if len(segs) < 4 or segs[0] != "projects" or segs[2:4] != ["registry", "repositories"]:
                    return self._send(404, {"error": "404 Not Found"})
                project = self._project(segs[1])
                if project is None:
                    return self._send(404, {"message": "404 Project Not Found"})
                if job_project is not None and project != job_project:
                    return self._send(403, {"message": "403 Forbidden"})
                if len(segs) == 4 and self.command == "GET":
                    repos = [r for r in fake.repositories if r.project == project]
                    return self._paged([fake.repository_json(r) for r in repos], parts)
                repo = next((r for r in fake.repositories if r.project == project and segs[4] == str(r.id)), None)
                if repo is None:
                    return self._send(404, {"message": "404 Repository Not Found"})
                if len(segs) == 6 and segs[5] == "tags":
                    if self.command == "GET":
                        rows = [fake.tag_json(repo, t, detail=fake.rich_list) for t in sorted(repo.tags)]
                        return self._paged(rows, parts)
                    if self.command == "DELETE":  # bulk removal: asynchronous in GitLab; recorded, not done
                        return self._send(202, None)
                if len(segs) == 7 and segs[5] == "tags":
                    tag = segs[6]
                    if tag not in repo.tags:
                        return self._send(404, {"message": "404 Tag Not Found"})
                    if self.command == "GET":
                        return self._send(200, fake.tag_json(repo, tag, detail=True))
                    if self.command == "DELETE":
                        if repo.tags[tag].protected:
                            return self._send(403, {"message": "403 Forbidden - protected tag"})
                        del repo.tags[tag]
                        return self._send(200, None)
                return self._send(404, {"error": "404 Not Found"})

            do_GET = do_DELETE = do_POST = do_PUT = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    # -- state -------------------------------------------------------------------------------------------------

    def add_group(self, path: str) -> None:
        self.groups.setdefault(path, 100 + len(self.groups))

    def add_repository(self, project: str, name: str = "", tags: dict[str, FakeTag] | None = None) -> FakeRepository:
        """A registry repository of ``project`` (created with its groups); ``name`` "" is the project's root."""
        self.projects.setdefault(project, 1000 + len(self.projects))
        group_parts = project.split("/")[:-1]
        for n in range(1, len(group_parts) + 1):
            self.add_group("/".join(group_parts[:n]))
        repo = FakeRepository(1 + len(self.repositories), project, name, dict(tags or {}))
        self.repositories.append(repo)
        return repo

    def location(self, repo: FakeRepository) -> str:
        return f"{self.registry_host}/{repo.path}"

    def repository_json(self, repo: FakeRepository) -> dict[str, Any]:
        return {
            "id": repo.id, "name": repo.name, "path": repo.path, "project_id": self.projects[repo.project],
            "location": self.location(repo), "created_at": "2019-01-10T13:38:57.391Z",
            "cleanup_policy_started_at": "2020-08-17T03:12:35.489Z", "status": None,
        }

    def tag_json(self, repo: FakeRepository, tag: str, *, detail: bool) -> dict[str, Any]:
        row: dict[str, Any] = {"name": tag, "path": f"{repo.path}:{tag}", "location": f"{self.location(repo)}:{tag}"}
        if detail:
            t = repo.tags[tag]
            row.update(revision=t.digest.split(":", 1)[1], short_revision=t.digest.split(":", 1)[1][:9],
                       digest=t.digest, created_at=t.created_at, total_size=350224384)
            if t.published_at is not None:
                row["published_at"] = t.published_at
        return row

    def count(self, method: str, pattern: str) -> int:
        """How many recorded requests had this method and a path matching the regular expression."""
        return sum(1 for m, p in self.requests if m == method and re.search(pattern, p))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
