"""The shared service-API helper (ci_tags/backends/api.py): one status-to-error rule for every service, the
paging styles of their APIs, and the rate-limit headers, Docker Hub's ``X-Retry-After`` included, honoured by the
one HTTP path."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from ci_tags.backends.api import ServiceApi, Token, by_field, by_link, by_page_flag, by_token, error_for, items
from ci_tags.errors import AuthError, NotFound, RegistryError
from ci_tags.oci.http import Http, retry_after
from tests.support.fake_http import JsonHandler
from tests.support.serving import serve, stop

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)
SECRET = "svc-s3cr3t-token"


@pytest.mark.parametrize(
    ("status", "headers", "kind", "says"),
    [
        (401, {}, AuthError, "Quay refused the token while listing"),
        (403, {}, AuthError, "Quay denied listing"),
        (403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW.timestamp()) + 600)},
         RegistryError, "kept rate-limiting"),
        (429, {"X-Retry-After": str(int(NOW.timestamp()) + 120)}, RegistryError, "kept rate-limiting"),
        (404, {}, NotFound, "not found on Quay"),
        (500, {}, RegistryError, "Quay answered 500 to listing"),
    ],
)
def test_one_rule_turns_a_service_status_into_an_error(status, headers, kind, says):
    err = error_for("Quay", status, "listing", token_needs="the token needs repo:read", headers=headers)
    assert type(err) is kind
    assert says in str(err)
    if status == 401:
        assert err.exit_code == 3 and "repo:read" in str(err)


def test_docker_hubs_x_retry_after_is_a_unix_time_the_http_path_waits_for():
    assert retry_after({"X-Retry-After": str(int(NOW.timestamp()) + 30)}, NOW) == 30
    assert retry_after({"Retry-After": "5", "X-Retry-After": str(int(NOW.timestamp()) + 30)}, NOW) == 5
    assert retry_after({"X-Retry-After": "soon"}, NOW) is None
    assert retry_after({}, NOW) is None


@pytest.fixture
def paged(closing):
    """A service with 5 items served 2 a page in each paging style; a 429 first, with X-Retry-After."""
    seen: list[str] = []
    throttled = [False]

    class Handler(JsonHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            if self.headers.get("Authorization") != f"Bearer {SECRET}":
                return self._send(401, {"error": "unauthorized"})
            if not throttled[0]:
                throttled[0] = True
                return self._send(429, {"error": "slow down"}, {"X-Retry-After": str(int(time.time()) + 300)})
            style, _, query = self.path.partition("?")
            params = dict(p.split("=") for p in query.split("&") if p)
            page = int(params.get("page", params.get("next_page", "1")))
            chunk = [{"n": i} for i in range((page - 1) * 2, min(page * 2, 5))]
            more = page * 2 < 5
            nxt = f"{style}?page={page + 1}"
            if style == "/link":
                return self._send(200, chunk, {"Link": f'<{nxt}>; rel="next"'} if more else {})
            if style == "/field":
                return self._send(200, {"results": chunk, "next": nxt if more else None})
            if style == "/flag":
                return self._send(200, {"tags": chunk, "has_additional": more, "page": page})
            return self._send(200, {"repositories": chunk, **({"next_page": str(page + 1)} if more else {})})

    server, url = serve(Handler)
    yield url, seen
    stop(server)


@pytest.mark.parametrize(("path", "following", "key"), [
    ("/link", by_link, None), ("/field", by_field("next"), "results"), ("/flag", by_page_flag(), "tags"),
    ("/token", by_token("next_page"), "repositories")])
def test_every_paging_style_reads_every_page(paged, path, following, key):
    url, seen = paged
    sleeps: list[float] = []
    http = Http(sleep=sleeps.append, max_wait=600)
    api = ServiceApi(http, url, "Svc", Token("Authorization", f"Bearer {SECRET}"), token_needs="x")
    rows = [r["n"] for page in api.pages(path, "listing", following) for r in items(page, key)]
    assert rows == [0, 1, 2, 3, 4]
    assert seen[0] == seen[1]  # the 429, then the same page again
    assert len(sleeps) == 1 and 240 <= sleeps[0] <= 300  # after the wait X-Retry-After (a Unix time) asked for
    assert SECRET not in repr(api)


def test_a_refused_token_is_an_auth_error_without_the_token(paged):
    url, _ = paged
    api = ServiceApi(Http(sleep=lambda s: None), url, "Svc", Token("Authorization", "Bearer wrong-" + SECRET),
                     token_needs="a token with read scope")
    with pytest.raises(AuthError) as info:
        list(api.pages("/link", "listing", by_link))
    assert info.value.exit_code == 3 and SECRET not in str(info.value) and "read scope" in str(info.value)
