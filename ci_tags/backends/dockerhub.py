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

Rate limiting answers 429; the HTTP path waits and retries for ``Retry-After`` or the reference's
``X-Retry-After`` (a Unix time), else with its exponential backoff. Status codes become errors, pages are followed
and the token is sent by the shared service-API helper (ci_tags/backends/api.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ci_tags.backends.api import RenewedToken, ServiceApi, body_of, by_field, items
from ci_tags.backends.base import TagRecord, name_after, parse_time
from ci_tags.core.hosts import DOCKER_HUB, DOCKER_HUB_API_URL, is_docker_hub
from ci_tags.errors import AuthError, BadInput, RegistryError
from ci_tags.oci.http import Http

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ci_tags.backends import Where

PAGE_SIZE = 100
NEEDS = "the access token needs read, write and delete scope on the repository"


class DockerHubBackend:
    name = "dockerhub"

    def __init__(self, http: Http, username: str, secret: str, base_url: str = DOCKER_HUB_API_URL) -> None:
        self.base = base_url.rstrip("/")
        self._username = username
        self._secret = secret
        self._login_api = ServiceApi(http, self.base, "Docker Hub", None, token_needs=NEEDS)
        self.api = ServiceApi(http, self.base, "Docker Hub", RenewedToken(self._login), token_needs=NEEDS)

    def __repr__(self) -> str:  # never the secret or the JWT
        return f"DockerHubBackend({self.base!r}, user={self._username!r})"

    def _login(self) -> str:
        """A bearer JWT for the Hub API: ``/v2/auth/token``, else the deprecated ``/v2/users/login``."""
        attempts = (
            ("/v2/auth/token", {"identifier": self._username, "secret": self._secret}, "access_token"),
            ("/v2/users/login", {"username": self._username, "password": self._secret}, "token"),
        )
        for path, body, key in attempts:
            try:
                resp = self._login_api.call("POST", path, f"logging in as {self._username}", ok=(200, 404, 405),
                                            json_body=body)
            except AuthError:
                raise AuthError(f"Docker Hub refused the credentials of {self._username}",
                                hint="use the account name and a personal access token (required where SSO is "
                                "enforced)") from None
            if resp.status_code in (404, 405):  # this deployment lacks the route: try the older one
                resp.close()
                continue
            answer = body_of(resp, "Docker Hub")
            token = answer.get(key) if isinstance(answer, dict) else None
            if not isinstance(token, str) or not token:
                raise RegistryError("Docker Hub login answered without a token")
            return token
        raise RegistryError(f"{self.base} has no Docker Hub login route (/v2/auth/token, /v2/users/login)")

    def _results(self, path: str, what: str) -> Iterator[dict[str, Any]]:
        for page in self.api.pages(path, what, by_field("next")):
            yield from items(page, "results")

# -- the backend -----------------------------------------------------------------------------------------

    def repositories(self, namespace: str, prefix: str) -> list[str]:
        ns = namespace.strip("/")
        if not ns or "/" in ns:
            raise BadInput(f"{namespace!r} is not a Docker Hub namespace (a user or organization name)")
        url = f"/v2/namespaces/{quote(ns, safe='')}/repositories?page_size={PAGE_SIZE}&ordering=name"
        if prefix:
            url += f"&name={quote(prefix, safe='')}"
        found = []
        for item in self._results(url, f"listing the repositories of {ns}"):
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
        url = f"/v2/namespaces/{ns}/repositories/{name}/tags?page_size={PAGE_SIZE}"
        records = []
        for item in self._results(url, f"listing the tags of {repository}"):
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
        url = f"/v2/repositories/{ns}/{name}/tags/{quote(tag, safe='')}/"
        self.api.call("DELETE", url, f"removing {DOCKER_HUB}/{ns}/{name}:{tag}", ok=(200, 202, 204)).close()


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

