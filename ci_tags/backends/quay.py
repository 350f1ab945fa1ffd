"""Quay (quay.io, or a self-hosted Red Hat Quay / Project Quay) through its API v1 (docs.quay.io/api/swagger/), over
the shared service-API helper (ci_tags/backends/api.py). The API lives on the registry's own host.

- repositories: ``GET /api/v1/repository?namespace=NS`` -> ``{"repositories": [{"namespace", "name", ...}],
  "next_page": TOKEN}`` (``next_page`` while more follow, passed back as ``next_page=TOKEN``);
- tags: ``GET /api/v1/repository/NS/NAME/tag/?onlyActiveTags=true&limit=100&page=P`` -> ``{"tags": [{"name",
  "manifest_digest", "start_ts", "end_ts", "expiration", "last_modified", "is_manifest_list"}], "page",
  "has_additional"}``. ``start_ts`` (a Unix time) is when the tag was pushed: a pipeline tag copied today onto a
  month-old image is a day old here, whatever the image's ``created``;
- removal: ``DELETE /api/v1/repository/NS/NAME/tag/TAG`` (204) removes that tag only; the image stays while other
  tags name it, and Quay keeps the removed tag restorable for the namespace's time machine window;
- expiry: ``PUT /api/v1/repository/NS/NAME/tag/TAG`` with ``{"expiration": UNIX_TIME}``: Quay removes the tag
  itself then (:meth:`QuayBackend.expire`); an image label ``quay.expires-after=7d`` does the same at push;
- discovery: ``GET /api/v1/discovery`` answers on any Quay, without a token (``--backend auto``'s probe).

Auth: ``Authorization: Bearer CI_TAGS_QUAY_TOKEN``, an OAuth application token (or a robot's), with
``repo:read`` to list and ``repo:write`` to remove or expire tags. A refused token is an AuthError (exit 3).
``CI_TAGS_QUAY_URL`` names the API when it is not on the registry's host.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ci_tags.backends.api import ServiceApi, Token, by_page_flag, by_token, items, same_host_base
from ci_tags.backends.base import TagRecord, name_after
from ci_tags.errors import BadInput

if TYPE_CHECKING:
    from ci_tags.backends import Where
    from ci_tags.oci.http import Http

HOSTS = frozenset({"quay.io"})
PAGE = 100  # Quay's largest page
TOKEN_NEEDS = "CI_TAGS_QUAY_TOKEN must be a Quay OAuth application or robot token with repo:read and repo:write"


class QuayBackend:
    name = "quay"

    def __init__(self, http: Http, url: str, host: str, token: str) -> None:
        """``url``: the API's address (``https://quay.io``); ``host``: the registry host repositories are named on."""
        self.host = host
        self.api = ServiceApi(http, url, "Quay", Token("Authorization", f"Bearer {token}"), token_needs=TOKEN_NEEDS)

    def __repr__(self) -> str:  # never the token
        return f"QuayBackend({self.api.base!r})"

    def _path(self, repository: str) -> str:
        path = repository.removeprefix(self.host + "/").strip("/")
        if "/" not in path:
            raise BadInput(f"{repository!r} is not a Quay repository ({self.host}/namespace/name)")
        return quote(path, safe="/")

    def repositories(self, namespace: str, prefix: str) -> list[str]:
        ns = namespace.strip("/")
        if not ns or "/" in ns:
            raise BadInput(f"{namespace!r} is not a Quay namespace (an organization or user)")
        found = set()
        for page in self.api.pages(f"/api/v1/repository?namespace={quote(ns, safe='')}",
                                   f"listing the repositories of {ns}", by_token("next_page")):
            for repo in items(page, "repositories"):
                name = f"{repo.get('namespace') or ns}/{repo.get('name')}"
                rest = name_after(name, ns)
                if repo.get("name") and rest is not None and rest.startswith(prefix):
                    found.add(f"{self.host}/{name}")
        return sorted(found)

    def _tags(self, repository: str) -> list[dict[str, Any]]:
        path = f"/api/v1/repository/{self._path(repository)}/tag/?onlyActiveTags=true&limit={PAGE}&page=1"
        rows = [t for page in self.api.pages(path, f"listing the tags of {repository}", by_page_flag())
                for t in items(page, "tags")]
        return [t for t in rows if isinstance(t.get("name"), str) and t["name"]]

    def tags(self, repository: str) -> list[TagRecord]:
        return [TagRecord(t["name"], _text(t.get("manifest_digest")), _unix(t.get("start_ts")))
                for t in self._tags(repository)]

    def tag_names(self, repository: str) -> set[str]:
        return {t["name"] for t in self._tags(repository)}

    def delete_tag(self, repository: str, tag: str) -> None:
        path = f"/api/v1/repository/{self._path(repository)}/tag/{quote(tag, safe='')}"
        self.api.call("DELETE", path, f"removing {repository}:{tag}", ok=(200, 202, 204)).close()

    def expire(self, repository: str, tag: str, when: datetime) -> None:
        """Let Quay remove ``tag`` by itself at ``when``."""
        path = f"/api/v1/repository/{self._path(repository)}/tag/{quote(tag, safe='')}"
        self.api.call("PUT", path, f"setting the expiry of {repository}:{tag}", ok=(200, 201, 204),
                      json_body={"expiration": int(when.timestamp())}).close()


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _unix(value: object) -> datetime | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value, timezone.utc)
    return None


# -- the backend table's hooks (ci_tags/backends/__init__.py) ----------------------------------------------------


def _url(where: Where) -> str:
    return (where.env.get("CI_TAGS_QUAY_URL") or same_host_base(where.registries, where.host)).rstrip("/")


def serves(where: Where) -> bool:
    """``--backend auto``, when a Quay token is at hand: quay.io, or a self-hosted Quay recognized by one
    ``GET /api/v1/discovery`` (asked once per host). Without a token the registry API serves (it can untag on
    Quay, dating tags by their images)."""
    from ci_tags.backends.probe import answers_json

    if not where.env.get("CI_TAGS_QUAY_TOKEN"):
        return False
    if where.host in HOSTS:
        return True
    return answers_json(where.registries.http, _url(where) + "/api/v1/discovery", "paths")  # a Swagger document


def build(where: Where) -> QuayBackend:
    token = where.env.get("CI_TAGS_QUAY_TOKEN")
    if not token:
        raise BadInput("the Quay backend needs an API token", hint=TOKEN_NEEDS)
    return QuayBackend(where.registries.http, _url(where), where.host, token)
