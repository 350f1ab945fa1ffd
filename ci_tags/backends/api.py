"""What every service backend shares to speak a service's HTTP API (Docker Hub, GitLab, Quay, Harbor, GitHub):
one status-to-error rule, the paging styles of those APIs, what their rate-limit headers say, and the auth header.

Retries, backoff and waits for ``Retry-After`` (and Docker Hub's ``X-Retry-After``) stay in the one HTTP path
(ci_tags/oci/http.py): an answer reaching this module is final, and is either the one expected or an error here.

Paging styles (each a :data:`NextPage`, given the answer and its JSON body, giving the next URL or None):

- :func:`by_link`: the ``Link: <url>; rel="next"`` header (GitHub, Harbor, GitLab);
- :func:`by_field`: a ``next`` URL in the body (Docker Hub);
- :func:`by_page_flag`: ``page=N`` while the body says ``has_additional`` (Quay's tag list);
- :func:`by_token`: a ``next_page`` token passed back as a query parameter (Quay's repository list).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from ci_tags.errors import AuthError, CiTagsError, NotFound, RegistryError

if TYPE_CHECKING:
    import requests

    from ci_tags.oci.http import Http
    from ci_tags.oci.registries import Registries

NextPage = Callable[["requests.Response", Any], "str | None"]


# -- status to error: the one rule ---------------------------------------------------------------------------


def rate_limit_note(headers: Mapping[str, str], now: datetime | None = None) -> str | None:
    """What a service's rate-limit headers say about when to come back, for a message; None when they say
    nothing. ``X-RateLimit-Reset`` (GitHub, Docker Hub: a Unix time) or ``RateLimit-Reset`` (GitLab: a Unix time
    too), ``X-Retry-After`` (Docker Hub: a Unix time), ``Retry-After`` (seconds or an HTTP date)."""
    from ci_tags.oci.http import retry_after

    now = now or datetime.now(timezone.utc)
    wait = retry_after(headers, now)
    if wait is None:
        for key in ("X-RateLimit-Reset", "RateLimit-Reset"):
            value = (headers.get(key) or "").strip()
            if value.isascii() and value.isdigit():
                wait = max(0.0, int(value) - now.timestamp())
                break
    if wait is None:
        return None
    return f"the limit lifts in about {int(wait + 59) // 60} min"


def rate_limited(status: int, headers: Mapping[str, str]) -> bool:
    """429, or a 403 that says the quota is spent (GitHub answers its rate limits with 403 and
    ``X-RateLimit-Remaining: 0``; its secondary limits with 403 and ``Retry-After``)."""
    if status == 429:
        return True
    return status == 403 and (headers.get("X-RateLimit-Remaining") == "0" or "Retry-After" in headers)


def error_for(service: str, status: int, what: str, *, token_needs: str, denied: str | None = None,
              headers: Mapping[str, str] | None = None) -> CiTagsError:
    """The ci-tags error for a service's final answer ``status`` to ``what`` (the only place that decides it):
    401 -> AuthError naming what the token needs (exit 3); 403 -> AuthError (``denied`` says why, else the token's
    needs), unless it is a rate limit; 404 -> NotFound; 429 (after the HTTP path's waits) -> RegistryError with
    when the limit lifts; anything else -> RegistryError with the status. Never any credential in the text."""
    headers = headers or {}
    if rate_limited(status, headers):
        return RegistryError(f"{service} kept rate-limiting {what}", hint=rate_limit_note(headers) or "try again later")
    if status == 401:
        return AuthError(f"{service} refused the token while {what}", hint=token_needs)
    if status == 403:
        return AuthError(f"{service} denied {what}", hint=denied or token_needs)
    if status == 404:
        return NotFound(f"{what}: not found on {service}")
    return RegistryError(f"{service} answered {status} to {what}")


# -- paging ----------------------------------------------------------------------------------------------------


def by_link(resp: requests.Response, body: Any) -> str | None:
    nxt = resp.links.get("next", {}).get("url")
    return urljoin(resp.url, nxt) if nxt else None


def by_field(key: str = "next") -> NextPage:
    def following(resp: requests.Response, body: Any) -> str | None:
        nxt = body.get(key) if isinstance(body, dict) else None
        return urljoin(resp.url, nxt) if isinstance(nxt, str) and nxt else None

    return following


def with_query(url: str, **params: str) -> str:
    """``url`` with these query parameters set (replacing any of the same name)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunsplit(parts._replace(query=urlencode([*query, *params.items()])))


def by_page_flag(flag: str = "has_additional") -> NextPage:
    def following(resp: requests.Response, body: Any) -> str | None:
        if not (isinstance(body, dict) and body.get(flag)):
            return None
        page = dict(parse_qsl(urlsplit(resp.url).query)).get("page", "1")
        return with_query(resp.url, page=str(int(page) + 1)) if page.isdigit() else None

    return following


def by_token(key: str = "next_page") -> NextPage:
    def following(resp: requests.Response, body: Any) -> str | None:
        token = body.get(key) if isinstance(body, dict) else None
        return with_query(resp.url, **{key: token}) if isinstance(token, str) and token else None

    return following


# -- the client ------------------------------------------------------------------------------------------------


class Token:
    """A fixed credential sent as one header (``Bearer``, ``Basic``, GitLab's ``PRIVATE-TOKEN``...). ``renew``
    is asked once when the service refuses it; a fixed one cannot be renewed (Docker Hub's JWT can)."""

    def __init__(self, header: str, value: str) -> None:
        self._header, self._value = header, value

    def __repr__(self) -> str:  # never the secret
        return f"Token({self._header!r})"

    def headers(self) -> dict[str, str]:
        return {self._header: self._value}

    def renew(self, refused: Mapping[str, str]) -> bool:
        return False


class RenewedToken(Token):
    """A bearer token obtained by ``login()`` and obtained again, once per refusal, when the service refuses it
    (Docker Hub's JWTs last 10 minutes). Thread-safe: concurrent workers log in once."""

    def __init__(self, login: Callable[[], str]) -> None:
        super().__init__("Authorization", "")
        self._login = login
        self._token: str | None = None
        self._lock = threading.Lock()

    def headers(self) -> dict[str, str]:
        with self._lock:
            if self._token is None:
                self._token = self._login()
            return {"Authorization": f"Bearer {self._token}"}

    def renew(self, refused: Mapping[str, str]) -> bool:
        with self._lock:
            if refused.get("Authorization") == f"Bearer {self._token}":
                self._token = self._login()
            return True


class ServiceApi:
    """One service's API at ``base`` (``https://quay.io``), over ci-tags' HTTP path, as ``service`` (its name in
    messages) with ``token`` (None: anonymous); ``token_needs`` says, for a refusal, what the token needs."""

    def __init__(self, http: Http, base: str, service: str, token: Token | None, *, token_needs: str,
                 denied: str | None = None, accept: str = "application/json",
                 headers: Mapping[str, str] | None = None) -> None:
        """``headers``: sent with every request (GitHub's ``X-GitHub-Api-Version``)."""
        self.http, self.base, self.service = http, base.rstrip("/"), service
        self.token, self.token_needs, self.denied, self.accept = token, token_needs, denied, accept
        self.headers = dict(headers or {})

    def __repr__(self) -> str:
        return f"ServiceApi({self.service!r}, {self.base!r})"

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base + path

    def error(self, status: int, what: str, headers: Mapping[str, str] | None = None) -> CiTagsError:
        return error_for(self.service, status, what, token_needs=self.token_needs, denied=self.denied,
                         headers=headers)

    def call(self, method: str, path: str, what: str, *, ok: tuple[int, ...] = (200,),
             json_body: Any = None) -> requests.Response:
        """One request; the answer when its status is in ``ok``, else the error :func:`error_for` gives. The
        token goes only to the API's own origin: a link elsewhere is refused."""
        import json

        url = self.url(path)
        if urlsplit(url)[:2] != urlsplit(self.base)[:2]:
            raise RegistryError(f"{self.service} sent a link to another host while {what}")
        headers = {"Accept": self.accept, **self.headers}
        data = None
        if json_body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(json_body).encode()
        sent = self.token.headers() if self.token else {}
        resp = self.http.request(method, url, headers={**headers, **sent}, data=data)
        if resp.status_code == 401 and self.token is not None and self.token.renew(sent):
            resp.close()
            resp = self.http.request(method, url, headers={**headers, **self.token.headers()}, data=data)
        if resp.status_code in ok:
            return resp
        resp.close()
        raise self.error(resp.status_code, what, resp.headers)

    def json(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        return body_of(self.call(method, path, what, **kwargs), self.service)

    def pages(self, path: str, what: str, following: NextPage) -> Iterator[Any]:
        """The JSON body of every page, from ``path`` on, as ``following`` finds the next one."""
        url: str | None = self.url(path)
        seen: set[str] = set()
        while url:
            if url in seen:
                raise RegistryError(f"{self.service} sent a pagination loop while {what}")
            seen.add(url)
            resp = self.call("GET", url, what)
            body = body_of(resp, self.service)
            yield body
            url = following(resp, body)


def body_of(resp: requests.Response, service: str) -> Any:
    """The JSON of an answer; RegistryError when it is not JSON (a proxy's HTML page)."""
    if not resp.content:
        return None
    try:
        return resp.json()
    except (ValueError, RecursionError):
        raise RegistryError(f"{service} answered {resp.status_code} with a body that is not JSON") from None


def items(body: Any, key: str | None = None) -> list[dict[str, Any]]:
    """The objects of a page: the body itself when it is a list, else its ``key`` list."""
    rows = body.get(key) if key and isinstance(body, dict) else body
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def same_host_base(registries: Registries, host: str) -> str:
    """The address of a service's API on the registry's own host (Quay, Harbor): the registry's scheme, learnt
    the way the registry client learns it (a loopback registry may speak plain HTTP)."""
    registry = registries.get(host)
    registry.speaks_plain_http()
    return registry.base
