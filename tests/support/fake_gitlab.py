"""A fake GitLab REST API on loopback for the pipeline-status check. No GitLab server can run here, so this
replays the response shapes documented in GitLab's Jobs API ("List pipeline jobs", "List pipeline trigger jobs"
(bridges): GET /projects/:id/pipelines/:pipeline_id/jobs and /bridges) with its offset pagination (page,
per_page; X-Page, X-Next-Page, X-Total-Pages and Link headers). Requests without the right PRIVATE-TOKEN get
401 {"message": "401 Unauthorized"}, as GitLab answers."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.fake_http import JsonHandler
from tests.support.serving import serve, stop


class FakeGitLab:
    def __init__(self, token: str, jobs: list[dict[str, Any]], bridges: list[dict[str, Any]] | None = None) -> None:
        self.token = token
        self.jobs = jobs
        self.bridges = bridges or []
        self.requests: list[str] = []
        fake = self

        class Handler(JsonHandler):

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                fake.requests.append(self.path)
                if self.headers.get("PRIVATE-TOKEN") != fake.token:
                    return self._send(401, {"message": "401 Unauthorized"})
                m = re.fullmatch(r"/api/v4/projects/([^/]+)/pipelines/(\d+)/(jobs|bridges)", parts.path)
                if not m:
                    return self._send(404, {"message": "404 Not Found"})
                if m.group(2) != "77":
                    return self._send(404, {"message": "404 Not found"})
                items = fake.jobs if m.group(3) == "jobs" else fake.bridges
                query = parse_qs(parts.query)
                per_page = int(query.get("per_page", ["20"])[0])
                page = int(query.get("page", ["1"])[0])
                pages = max(1, -(-len(items) // per_page))
                headers = {"X-Page": str(page), "X-Total-Pages": str(pages), "X-Per-Page": str(per_page),
                           "X-Total": str(len(items))}
                if page < pages:
                    headers["X-Next-Page"] = str(page + 1)
                    base = f"http://{self.headers['Host']}{parts.path}"
                    headers["Link"] = f'<{base}?page={page + 1}&per_page={per_page}>; rel="next"'
                return self._send(200, items[(page - 1) * per_page : page * per_page], headers)

        self.server, self.url = serve(Handler)

    def close(self) -> None:
        stop(self.server)


def job(job_id: int, name: str, stage: str, status: str, allow_failure: bool = False) -> dict[str, Any]:
    """A job record with the fields GitLab documents (a subset: what the check reads, plus a few more)."""
    return {"id": job_id, "name": name, "stage": stage, "status": status, "allow_failure": allow_failure,
            "ref": "main", "tag": False, "created_at": "2026-11-22T10:00:00.000Z", "web_url": f"https://g/j/{job_id}"}
