"""A backend added the way ARCHITECTURE.md says: this module plus one row in ci_tags.backends.BACKENDS (the test
adds the row). It speaks Quay's API v1 (tests/support/fake_quay.py lists the routes) over ci-tags' one HTTP
session; the API address and token come from the environment (CI_TAGS_QUAY_URL, CI_TAGS_QUAY_TOKEN)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from ci_tags.backends import Where
from ci_tags.backends.base import TagRecord, name_after
from ci_tags.errors import AuthError, BadInput, NotFound, RegistryError
from ci_tags.oci.http import Http

HOST = "quay.example.test"  # the registry host the test's table row names


class QuayBackend:
    name = "quay"

    def __init__(self, http: Http, url: str, token: str) -> None:
        self.http, self.url, self._token = http, url.rstrip("/"), token

    def _call(self, method: str, path: str, what: str) -> Any:
        resp = self.http.request(method, self.url + path, headers={"Authorization": f"Bearer {self._token}"})
        if resp.status_code in (401, 403):
            raise AuthError(f"Quay refused {what}")
        if resp.status_code == 404:
            raise NotFound(f"{what}: not found on Quay")
        if resp.status_code not in (200, 204):
            raise RegistryError(f"Quay answered {resp.status_code} to {what}")
        return resp.json() if resp.status_code == 200 else None

    def repositories(self, namespace: str, prefix: str) -> list[str]:
        found, token = [], ""
        while True:
            page = self._call("GET", f"/api/v1/repository?namespace={quote(namespace)}"
                              + (f"&next_page={token}" if token else ""), f"listing {namespace}")
            for repo in page["repositories"]:
                rest = name_after(f"{repo['namespace']}/{repo['name']}", namespace)
                if rest is not None and rest.startswith(prefix):
                    found.append(f"{HOST}/{repo['namespace']}/{repo['name']}")
            token = page.get("next_page") or ""
            if not token:
                return sorted(found)

    def _pages(self, repository: str) -> Iterator[dict[str, Any]]:
        path = repository.removeprefix(HOST + "/")
        page = 1
        while True:
            body = self._call("GET", f"/api/v1/repository/{path}/tag/?onlyActiveTags=true&limit=2&page={page}",
                              f"listing the tags of {repository}")
            yield from body["tags"]
            if not body["has_additional"]:
                return
            page += 1

    def tags(self, repository: str) -> list[TagRecord]:
        return [TagRecord(t["name"], t["manifest_digest"], datetime.fromtimestamp(t["start_ts"], timezone.utc))
                for t in self._pages(repository)]

    def tag_names(self, repository: str) -> set[str]:
        return {t["name"] for t in self._pages(repository)}

    def delete_tag(self, repository: str, tag: str) -> None:
        path = repository.removeprefix(HOST + "/")
        self._call("DELETE", f"/api/v1/repository/{path}/tag/{quote(tag, safe='')}", f"removing {repository}:{tag}")


def build(where: Where) -> QuayBackend:
    url, token = where.env.get("CI_TAGS_QUAY_URL"), where.env.get("CI_TAGS_QUAY_TOKEN")
    if not url or not token:
        raise BadInput("the Quay backend needs CI_TAGS_QUAY_URL and CI_TAGS_QUAY_TOKEN")
    return QuayBackend(where.registries.http, url, token)
