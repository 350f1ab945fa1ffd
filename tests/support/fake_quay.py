"""A fake Quay API alone (https://docs.quay.io/api/swagger/) on a free loopback port, without a registry behind
it, for the backend table's test (tests/test_backend_table.py); with the registry behind it:
tests/support/fake_quay_front.py. The shapes of Quay's API v1:

- ``GET /api/v1/repository?namespace=NS[&next_page=TOKEN]`` -> ``{"repositories": [{"namespace", "name", ...}],
  "next_page": TOKEN}`` (``next_page`` only while more follow);
- ``GET /api/v1/repository/NS/NAME/tag/?onlyActiveTags=true&limit=N&page=P`` -> ``{"tags": [{"name",
  "manifest_digest", "start_ts", "last_modified", "is_manifest_list"}], "page": P, "has_additional": bool}``;
- ``DELETE /api/v1/repository/NS/NAME/tag/TAG`` -> 204, 404 when absent.

Every call needs ``Authorization: Bearer TOKEN`` (an OAuth application token), else 401. With ``broken`` a
repository's tag listing answers 500, as a Quay whose database is down for that repository.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from email.utils import format_datetime
from urllib.parse import parse_qs, unquote, urlsplit

from tests.support.fake_http import JsonHandler
from tests.support.serving import serve, stop

_TAGS = re.compile(r"/api/v1/repository/(?P<ns>[^/]+)/(?P<name>[^/]+)/tag/?")
_TAG = re.compile(r"/api/v1/repository/(?P<ns>[^/]+)/(?P<name>[^/]+)/tag/(?P<tag>[^/]+)")
PAGE = 2  # small pages, so the backend must follow them


def digest_of(*parts: str) -> str:
    return "sha256:" + hashlib.sha256("/".join(parts).encode()).hexdigest()


class FakeQuay:
    """``repos`` maps ``namespace/name`` to ``{tag: push time}``."""

    def __init__(self, token: str, repos: dict[str, dict[str, datetime]], broken: frozenset[str] = frozenset()):
        self.token, self.repos, self.broken = token, repos, broken
        self.requests: list[tuple[str, str]] = []
        fake = self

        class Handler(JsonHandler):
            def _authorized(self) -> bool:
                fake.requests.append((self.command, self.path))
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    self._send(401, {"error": "unauthorized"})
                    return False
                return True

            def do_GET(self) -> None:
                if not self._authorized():
                    return
                parts = urlsplit(self.path)
                q = parse_qs(parts.query)
                tags_of = _TAGS.fullmatch(parts.path)
                if parts.path == "/api/v1/repository":
                    names = sorted(n for n in fake.repos if n.split("/")[0] == q["namespace"][0])
                    start = int(q.get("next_page", ["0"])[0])
                    body: dict[str, object] = {"repositories": [
                        {"namespace": n.split("/")[0], "name": n.split("/", 1)[1]} for n in names[start:start + PAGE]]}
                    if start + PAGE < len(names):
                        body["next_page"] = str(start + PAGE)
                    return self._send(200, body)
                if tags_of:
                    repo = f"{unquote(tags_of['ns'])}/{unquote(tags_of['name'])}"
                    if repo not in fake.repos:
                        return self._send(404, {"error": "not found"})
                    if repo in fake.broken:
                        return self._send(500, {"error": "internal"})
                    page, limit = int(q.get("page", ["1"])[0]), int(q.get("limit", ["50"])[0])
                    tags = sorted(fake.repos[repo].items())
                    chunk = tags[(page - 1) * limit : page * limit]
                    return self._send(200, {"page": page, "has_additional": page * limit < len(tags), "tags": [
                        {"name": t, "manifest_digest": digest_of(repo, t), "start_ts": int(when.timestamp()),
                         "last_modified": format_datetime(when), "is_manifest_list": False} for t, when in chunk]})
                self._send(404, {"error": "not found"})

            def do_DELETE(self) -> None:
                if not self._authorized():
                    return
                one = _TAG.fullmatch(urlsplit(self.path).path)
                repo = f"{unquote(one['ns'])}/{unquote(one['name'])}" if one else ""
                tag = unquote(one["tag"]) if one else ""
                if tag not in fake.repos.get(repo, {}):
                    return self._send(404, {"error": "not found"})
                del fake.repos[repo][tag]
                self._send(204)

        self.server, self.url = serve(Handler)

    def close(self) -> None:
        stop(self.server)
