"""Docker Hub through its HTTP API (https://hub.docker.com), over ci-tags' one HTTP choke point.

The registry API cannot do this on Docker Hub: it has no ``_catalog`` and refuses manifest DELETE. So:

- login (:meth:`DockerHubBackend._login`): ``POST /v2/auth/token`` with ``{"identifier", "secret"}`` (the secret
  is a password, a personal access token or an organization access token) answers ``{"access_token"}``, a JWT
  that expires after 10 minutes. Where that route is missing, the deprecated ``POST /v2/users/login`` with
  ``{"username", "password"}`` answers ``{"token"}``. A 401 on a later call means the JWT expired: log in
  again once. (docs.docker.com/reference/api/hub/latest/, operations AuthCreateAccessToken and PostUsersLogin)
- repositories: ``GET /v2/namespaces/{namespace}/repositories?page_size=100&ordering=name&name=PREFIX``,
  ``{"count", "next", "previous", "results": [{"name", "namespace", ...}]}``; ``name`` is a partial match, so
  the prefix is checked here too. An organization access token without ``scope-repository-list`` silently
  sees public repositories only. (operation listNamespaceRepositories; replaces ``GET /v2/repositories/{ns}/``)
- tags: ``GET /v2/namespaces/{namespace}/repositories/{repository}/tags?page_size=100`` (at most 100 a page,
  ``next`` links), each with ``tag_last_pushed`` and the tag's ``digest``. (operation "List repository tags")
- removal: ``DELETE /v2/repositories/{namespace}/{repository}/tags/{tag}/`` answers 204. It is not in the API
  reference; docker/hub-tool uses it (internal/hub/tags.go, ``DeleteTagURL``). It removes the tag only.

Rate limiting answers 429; the HTTP choke point waits and retries: for ``Retry-After`` where sent, else with its
exponential backoff (the reference documents ``X-Retry-After``, a Unix time, which the choke point does not read).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from ci_tags.backends.base import TagRecord, name_after, parse_time
from ci_tags.core.hosts import DOCKER_HUB, DOCKER_HUB_API_URL, is_docker_hub
from ci_tags.errors import AuthError, BadInput, NotFound, RegistryError
from ci_tags.oci.http import Http

if TYPE_CHECKING:
    import requests

    from ci_tags.backends import Where

PAGE_SIZE = 100


class DockerHubBackend:
    name = "dockerhub"

    def __init__(self, http: Http, username: str, secret: str, base_url: str = DOCKER_HUB_API_URL) -> None:
        self.http = http
        self.base = base_url.rstrip("/")
        self._username = username
        self._secret = secret
        self._token: str | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never the secret or the JWT
        return f"DockerHubBackend({self.base!r}, user={self._username!r})"

    # -- authentication --------------------------------------------------------------------------------------

    def _login(self) -> str:
        """A bearer JWT for the Hub API: ``/v2/auth/token``, else the deprecated ``/v2/users/login``."""
        attempts = (
            ("/v2/auth/token", {"identifier": self._username, "secret": self._secret}, "access_token"),
            ("/v2/users/login", {"username": self._username, "password": self._secret}, "token"),
        )
        for path, body, key in attempts:
            resp = self.http.request(
                "POST",
                self.base + path,
                headers={"Content-Type": "application/json", "Accept": "application/json"},
                data=json.dumps(body).encode(),
            )
            if resp.status_code in (404, 405):  # this deployment lacks the route: try the older one
                continue
            if resp.status_code in (401, 403):
                raise AuthError(
                    f"Docker Hub refused the credentials of {self._username}",
                    hint="use the account name and a personal access token (required where SSO is enforced)",
                )
            if resp.status_code != 200:
                raise RegistryError(f"Docker Hub login answered {resp.status_code}")
            token = _json(resp).get(key)
            if not isinstance(token, str) or not token:
                raise RegistryError("Docker Hub login answered without a token")
            return token
        raise RegistryError(f"{self.base} has no Docker Hub login route (/v2/auth/token, /v2/users/login)")

    def _bearer(self, stale: str | None = None) -> str:
        """The current JWT; a new one when there is none or when ``stale`` (a refused one) is still current."""
        with self._lock:  # one login for every thread of a concurrent prune
            if self._token is None or self._token == stale:
                self._token = self._login()
            return self._token

    def _send(self, method: str, url: str, token: str) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        return self.http.request(method, url, headers=headers)

    def _call(self, method: str, url: str, what: str, ok: tuple[int, ...] = (200,)) -> requests.Response:
        if urlsplit(url)[:2] != urlsplit(self.base)[:2]:  # a next link elsewhere must not get our JWT
            raise RegistryError(f"Docker Hub sent a link to another host while {what}")
        token = self._bearer()
        resp = self._send(method, url, token)
        if resp.status_code == 401:  # the JWT expired (they last 10 minutes): log in again, once
            resp.close()
            resp = self._send(method, url, self._bearer(stale=token))
        if resp.status_code in ok:
            return resp
        if resp.status_code in (401, 403):
            raise AuthError(
                f"Docker Hub refused {what} to {self._username}",
                hint="the access token needs read, write and delete scope on the repository",
            )
        if resp.status_code == 404:
            raise NotFound(f"{what}: not found on Docker Hub")
        if resp.status_code == 429:
            raise RegistryError(f"Docker Hub kept rate-limiting {what}", hint="try again later")
        raise RegistryError(f"Docker Hub answered {resp.status_code} to {what}")

    def _pages(self, url: str, what: str) -> Iterator[dict[str, Any]]:
        """Every result of a paged listing, following ``next`` links."""
        next_url: str | None = url
        seen: set[str] = set()
        while next_url:
            if next_url in seen:
                raise RegistryError(f"Docker Hub sent a pagination loop while {what}")
            seen.add(next_url)
            page = _json(self._call("GET", next_url, what))
            for item in page.get("results") or []:
                if isinstance(item, dict):
                    yield item
            nxt = page.get("next")
            next_url = nxt if isinstance(nxt, str) and nxt else None

    # -- the backend -----------------------------------------------------------------------------------------

    def repositories(self, namespace: str, prefix: str) -> list[str]:
        ns = namespace.strip("/")
        if not ns or "/" in ns:
            raise BadInput(f"{namespace!r} is not a Docker Hub namespace (a user or organization name)")
        url = f"{self.base}/v2/namespaces/{quote(ns, safe='')}/repositories?page_size={PAGE_SIZE}&ordering=name"
        if prefix:
            url += f"&name={quote(prefix, safe='')}"
        found = []
        for item in self._pages(url, f"listing the repositories of {ns}"):
            name = item.get("name")
            if not isinstance(name, str) or not name:
                continue
            rest = name_after(f"{item.get('namespace') or ns}/{name}", ns)
            if rest is not None and rest.startswith(prefix):
                found.append(f"{DOCKER_HUB}/{ns}/{name}")
        return sorted(set(found))

    def tag_names(self, repository: str) -> set[str]:
        return {r.tag for r in self.tags(repository)}  # the listing carries everything: no cheaper way

    def tags(self, repository: str) -> list[TagRecord]:
        ns, name = _split(repository)
        url = f"{self.base}/v2/namespaces/{ns}/repositories/{name}/tags?page_size={PAGE_SIZE}"
        records = []
        for item in self._pages(url, f"listing the tags of {repository}"):
            tag = item.get("name")
            if not isinstance(tag, str) or not tag:
                continue
            digest = item.get("digest")
            # tag_last_pushed is the push time; last_updated also moves on push, for records that lack it
            pushed = parse_time(item.get("tag_last_pushed")) or parse_time(item.get("last_updated"))
            records.append(TagRecord(tag, digest if isinstance(digest, str) and digest else None, pushed))
        return records

    def delete_tag(self, repository: str, tag: str) -> None:
        ns, name = _split(repository)
        url = f"{self.base}/v2/repositories/{ns}/{name}/tags/{quote(tag, safe='')}/"
        self._call("DELETE", url, f"removing {DOCKER_HUB}/{ns}/{name}:{tag}", ok=(200, 202, 204)).close()


def build(where: Where) -> DockerHubBackend:
    """The table's hook (ci_tags/backends/__init__.py): the Hub API with the credentials found for docker.io
    (flags, CI_TAGS_REGISTRY_*, the Docker/Podman auth files); without any, BadInput: the registry API can
    neither list nor untag there."""
    from ci_tags.oci.credentials import find_credentials

    creds = find_credentials(DOCKER_HUB, where.env, username=where.username, password=where.password)
    if creds is None:
        raise BadInput(
            "Docker Hub's API needs credentials to list and remove tags",
            hint="--username and --password (a personal access token), CI_TAGS_REGISTRY_USER/_PASSWORD, "
            "or a docker login",
        )
    return DockerHubBackend(where.registries.http, creds.username, creds.password, where.hub_url)


def _split(repository: str) -> tuple[str, str]:
    """``docker.io/ns/name`` (or ``ns/name``) -> URL-quoted (ns, name)."""
    host, _, rest = repository.partition("/")
    path = rest if is_docker_hub(host) else repository
    ns, _, name = path.partition("/")
    if not ns or not name or "/" in name:
        raise BadInput(f"{repository!r} is not a Docker Hub repository (docker.io/namespace/name)")
    return quote(ns, safe=""), quote(name, safe="")


def _json(resp: requests.Response) -> dict[str, Any]:
    try:
        data = resp.json()
    except (ValueError, RecursionError):
        raise RegistryError(f"Docker Hub answered {resp.status_code} with a body that is not JSON") from None
    return data if isinstance(data, dict) else {}
