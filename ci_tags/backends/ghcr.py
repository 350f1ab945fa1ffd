"""GitHub's container registry (ghcr.io): reads and pushes through the registry API, listing, dating and removal
through GitHub's REST API for packages (docs.github.com/rest/packages), over the shared service-API helper.

ghcr.io answers 405 to a manifest DELETE, so a tag can only go with its package version (one digest):

- the owner's kind: ``GET /users/{owner}`` -> ``{"type": "Organization" | "User"}``, then ``/orgs/{owner}/...`` or
  ``/users/{owner}/...``;
- repositories: ``GET .../packages?package_type=container&per_page=100`` -> ``[{"name": "app" or "a/b", ...}]``;
- tags: ``GET .../packages/container/{package}/versions?per_page=100`` (``{package}`` URL-encoded, ``/``
  included; pages by ``Link``) -> ``[{"id", "name": DIGEST, "created_at", "updated_at", "metadata":
  {"container": {"tags": [...]}}}]``. A tag is dated by its version's ``updated_at`` (GitHub moves it when a tag
  is added: never older than the tagging), with ``created_at`` as the image's creation;
- removal: ``DELETE .../versions/{id}`` removes the version and every tag on it, so ci-tags deletes a version
  only when the tag to remove is the only tag on it (checked with ``GET .../versions/{id}`` right before).
  Otherwise the tag is untagged the ci-tags way: a unique empty placeholder pushed over it through the registry
  API (the version then keeps its other tags), and the placeholder's own version is deleted. Should that delete
  fail, the image is put back under the tag. GitHub refuses to delete a public version downloaded more than
  5,000 times (an error here, the tag is kept).

Token: ``CI_TAGS_GITHUB_TOKEN``, else ``GITHUB_TOKEN`` (Actions), as ``Authorization: Bearer``: it needs
``read:packages`` and ``delete:packages`` (a classic personal access token; in Actions ``packages: write`` and
admin access to the package). The API is ``https://api.github.com`` or ``GITHUB_API_URL`` (GitHub Enterprise,
Actions set it); the registry API's credentials are the usual registry ones (the same token works as password).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ci_tags.backends.api import ServiceApi, Token, by_link, items
from ci_tags.backends.base import TagRecord, name_after, parse_time
from ci_tags.errors import BadInput, CiTagsError, NotFound, RegistryError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ci_tags.backends import Where
    from ci_tags.oci.client import Registry
    from ci_tags.oci.http import Http

HOSTS = frozenset({"ghcr.io"})
PAGE = 100
API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"  # the REST API version the packages endpoints are documented for
TOKEN_NEEDS = ("CI_TAGS_GITHUB_TOKEN (or GITHUB_TOKEN) needs read:packages and delete:packages "
               "(in GitHub Actions: permissions packages: write, and admin access to the package)")


class GhcrBackend:
    name = "ghcr"

    def __init__(self, http: Http, api_url: str, registry: Registry, token: str) -> None:
        self.registry = registry
        self.api = ServiceApi(http, api_url, "GitHub", Token("Authorization", f"Bearer {token}"),
                              token_needs=TOKEN_NEEDS, accept="application/vnd.github+json",
                              headers={"X-GitHub-Api-Version": API_VERSION})
        self._kinds: dict[str, str] = {}  # owner -> "orgs" | "users"
        self._ids: dict[tuple[str, str], int] = {}  # (repository, tag) -> version id, from the last listing
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never the token
        return f"GhcrBackend({self.api.base!r}, {self.registry.host!r})"

    def _split(self, repository: str) -> tuple[str, str]:
        path = repository.removeprefix(self.registry.host + "/").strip("/")
        owner, _, package = path.partition("/")
        if not owner or not package:
            raise BadInput(f"{repository!r} is not a GHCR repository ({self.registry.host}/owner/package)")
        return owner, package

    def _owner(self, owner: str) -> str:
        """``/orgs/OWNER`` or ``/users/OWNER``: asked once per owner."""
        with self._lock:
            kind = self._kinds.get(owner)
        if kind is None:
            body = self.api.json("GET", f"/users/{quote(owner, safe='')}", f"looking up the owner {owner}")
            kind = "orgs" if isinstance(body, dict) and body.get("type") == "Organization" else "users"
            with self._lock:
                self._kinds[owner] = kind
        return f"/{kind}/{quote(owner, safe='')}"

    def _versions_path(self, repository: str) -> str:
        owner, package = self._split(repository)
        return f"{self._owner(owner)}/packages/container/{quote(package, safe='')}/versions"

    def repositories(self, namespace: str, prefix: str) -> list[str]:
        ns = namespace.strip("/")
        owner = ns.partition("/")[0]
        if not owner:
            raise BadInput("the GHCR backend needs a GitHub user or organization as the namespace")
        found = set()
        path = f"{self._owner(owner)}/packages?package_type=container&per_page={PAGE}"
        for page in self.api.pages(path, f"listing the container packages of {owner}", by_link):
            for package in items(page):
                name = package.get("name")
                rest = name_after(f"{owner}/{name}", ns) if isinstance(name, str) else None
                if rest and rest.startswith(prefix):
                    found.add(f"{self.registry.host}/{owner}/{name}")
        return sorted(found)

    def _each_version(self, repository: str) -> Iterator[dict[str, Any]]:
        """Every version, newest first (GitHub's order), page by page as they are asked for."""
        path = f"{self._versions_path(repository)}?per_page={PAGE}"
        for page in self.api.pages(path, f"listing the versions of {repository}", by_link):
            yield from items(page)

    def _versions(self, repository: str) -> list[dict[str, Any]]:
        return list(self._each_version(repository))

    def tags(self, repository: str) -> list[TagRecord]:
        records = []
        for version in self._versions(repository):
            for tag in _tags_of(version):
                with self._lock:
                    self._ids[(repository, tag)] = int(version["id"])
                records.append(TagRecord(tag, _text(version.get("name")), parse_time(version.get("updated_at")),
                                         parse_time(version.get("created_at"))))
        return records

    def tag_names(self, repository: str) -> set[str]:
        return {r.tag for r in self.tags(repository)}

    def _version_of(self, repository: str, tag: str) -> dict[str, Any] | None:
        """The version holding ``tag`` now: the one the last listing named, re-read, else a new listing."""
        with self._lock:
            known = self._ids.get((repository, tag))
        if known is not None:
            try:
                version = self.api.json("GET", f"{self._versions_path(repository)}/{known}",
                                        f"reading {repository}:{tag}")
                if isinstance(version, dict) and tag in _tags_of(version):
                    return version
            except NotFound:
                pass
        return next((v for v in self._each_version(repository) if tag in _tags_of(v)), None)

    def _delete_version(self, repository: str, version_id: int, what: str) -> None:
        self.api.call("DELETE", f"{self._versions_path(repository)}/{version_id}", what, ok=(200, 202, 204)).close()

    def delete_tag(self, repository: str, tag: str) -> None:
        with self._lock:  # one removal at a time per repository: two tags of one version must not both see two
            lock = self._locks.setdefault(repository, threading.Lock())
        with lock:
            version = self._version_of(repository, tag)
            if version is None:
                raise NotFound(f"{repository}:{tag} not found on GitHub")
            if _tags_of(version) == [tag]:
                self._delete_version(repository, int(version["id"]), f"removing {repository}:{tag}")
                return
            self._untag(repository, tag, _text(version.get("name")))

    def _untag(self, repository: str, tag: str, digest: str | None) -> None:
        """The version keeps its other tags: a placeholder goes over ``tag``, then the placeholder's version."""
        from ci_tags.oci.untag import Untagger

        _, path = repository.split("/", 1)
        untagger = Untagger(self.registry, path)
        original = self.registry.get_manifest(path, digest or tag, untagger.scopes)
        placeholder = untagger.cover(tag)
        try:
            # the placeholder is the newest version: found on the first page
            found = next((v for v in self._each_version(repository) if v.get("name") == placeholder.digest), None)
            if found is None:
                raise RegistryError(f"GitHub lists no version for the placeholder on {repository}:{tag}")
            self._delete_version(repository, int(found["id"]), f"removing {repository}:{tag}")
        except CiTagsError:
            if self.registry.head_manifest(path, tag, untagger.scopes) == placeholder.digest:
                self.registry.put_manifest(path, tag, original, untagger.scopes)  # as it was
            raise


def _tags_of(version: dict[str, Any]) -> list[str]:
    metadata = version.get("metadata")
    container = metadata.get("container") if isinstance(metadata, dict) else None
    tags = container.get("tags") if isinstance(container, dict) else None
    return sorted(t for t in tags if isinstance(t, str) and t) if isinstance(tags, list) else []


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


# -- the backend table's hooks (ci_tags/backends/__init__.py) ----------------------------------------------------


def build(where: Where) -> GhcrBackend:
    token = where.env.get("CI_TAGS_GITHUB_TOKEN") or where.env.get("GITHUB_TOKEN")
    if not token:
        raise BadInput("the GHCR backend needs a GitHub token", hint=TOKEN_NEEDS)
    url = where.env.get("CI_TAGS_GITHUB_API_URL") or where.env.get("GITHUB_API_URL") or API_URL
    return GhcrBackend(where.registries.http, url.rstrip("/"), where.registries.get(where.host), token)
