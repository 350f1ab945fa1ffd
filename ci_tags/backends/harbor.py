"""Harbor through its API v2.0 (goharbor/harbor api/v2.0/swagger.yaml), over the shared service-API helper
(ci_tags/backends/api.py). The API lives on the registry's host, under ``/api/v2.0``.

A repository ``HOST/PROJECT/REST`` is repository ``REST`` of project ``PROJECT``; in API paths a repository name
holding ``/`` is URL-encoded twice (``a/b`` -> ``a%252Fb``), as the reference says.

- repositories: ``GET /projects/{project}/repositories?page=&page_size=100`` -> ``[{"name": "project/rest", ...}]``,
  pages by the ``Link`` header (and ``X-Total-Count``);
- tags: ``GET /projects/{p}/repositories/{r}/artifacts?with_tag=true&page=&page_size=100`` -> ``[{"digest",
  "push_time", "tags": [{"name", "push_time", "immutable"}], "accessories": [...]}]``; a tag's own ``push_time``
  is when it was pushed (the artifact's is when the image was), and is the tag's age;
- removal: ``DELETE /projects/{p}/repositories/{r}/artifacts/{reference}/tags/{tag}`` (200) removes that tag only
  (the reference may be the tag itself); the artifact stays, untagged, with its accessories (cosign signatures,
  which Harbor deletes with their artifact) until Harbor's own retention or ``delete untagged`` GC removes it;
- ``GET /systeminfo`` answers without credentials on any Harbor (``--backend auto``'s probe).

Auth: HTTP Basic with the registry's credentials, a robot account (``robot$name``) best: ``--username``/
``--password``, CI_TAGS_REGISTRY_USER/_PASSWORD or a docker login for the host. A refused one is an AuthError.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ci_tags.backends.api import ServiceApi, Token, by_link, items, same_host_base
from ci_tags.backends.base import TagRecord, name_after, parse_time
from ci_tags.errors import BadInput

if TYPE_CHECKING:
    from ci_tags.backends import Where
    from ci_tags.core.credentials import Credentials
    from ci_tags.oci.http import Http

PAGE = 100
API = "/api/v2.0"
TOKEN_NEEDS = ("the registry credentials must be a Harbor robot account (or user) with the project's permissions "
               "to list repositories and artifacts and to delete tags")


class HarborBackend:
    name = "harbor"

    def __init__(self, http: Http, url: str, host: str, username: str, password: str) -> None:
        self.host = host
        basic = base64.b64encode(f"{username}:{password}".encode()).decode()
        self.api = ServiceApi(http, url + API, "Harbor", Token("Authorization", f"Basic {basic}"),
                              token_needs=TOKEN_NEEDS)

    def __repr__(self) -> str:  # never the password
        return f"HarborBackend({self.api.base!r})"

    def _split(self, repository: str) -> tuple[str, str]:
        path = repository.removeprefix(self.host + "/").strip("/")
        project, _, rest = path.partition("/")
        if not project or not rest:
            raise BadInput(f"{repository!r} is not a Harbor repository ({self.host}/project/name)")
        return project, rest

    def _repository_path(self, repository: str) -> str:
        project, rest = self._split(repository)
        return f"/projects/{quote(project, safe='')}/repositories/{quote(quote(rest, safe=''), safe='')}"

    def repositories(self, namespace: str, prefix: str) -> list[str]:
        ns = namespace.strip("/")
        project = ns.partition("/")[0]
        if not project:
            raise BadInput("the Harbor backend needs a project as the namespace")
        found = set()
        path = f"/projects/{quote(project, safe='')}/repositories?page=1&page_size={PAGE}"
        for page in self.api.pages(path, f"listing the repositories of project {project}", by_link):
            for repo in items(page):
                name = repo.get("name")
                rest = name_after(name, ns) if isinstance(name, str) else None
                if rest and rest.startswith(prefix):
                    found.add(f"{self.host}/{name}")
        return sorted(found)

    def _artifacts(self, repository: str) -> list[dict[str, Any]]:
        path = f"{self._repository_path(repository)}/artifacts?with_tag=true&page=1&page_size={PAGE}"
        return [a for page in self.api.pages(path, f"listing the tags of {repository}", by_link) for a in items(page)]

    def tags(self, repository: str) -> list[TagRecord]:
        records = []
        for artifact in self._artifacts(repository):
            digest = artifact.get("digest")
            for tag in items(artifact, "tags"):
                name = tag.get("name")
                if isinstance(name, str) and name:
                    records.append(TagRecord(name, digest if isinstance(digest, str) else None,
                                             parse_time(tag.get("push_time")), parse_time(artifact.get("push_time"))))
        return records

    def tag_names(self, repository: str) -> set[str]:
        return {r.tag for r in self.tags(repository)}

    def delete_tag(self, repository: str, tag: str) -> None:
        quoted = quote(tag, safe="")
        path = f"{self._repository_path(repository)}/artifacts/{quoted}/tags/{quoted}"
        self.api.call("DELETE", path, f"removing {repository}:{tag}", ok=(200, 202, 204)).close()


# -- the backend table's hooks (ci_tags/backends/__init__.py) ----------------------------------------------------


def _url(where: Where) -> str:
    return (where.env.get("CI_TAGS_HARBOR_URL") or same_host_base(where.registries, where.host)).rstrip("/")


def _credentials(where: Where) -> Credentials | None:
    """The registry credentials of the host: it is the command's target, so --username/--password and
    CI_TAGS_REGISTRY_* count for it."""
    where.registries.target(where.host)
    return where.registries.credentials(where.host)


def serves(where: Where) -> bool:
    """``--backend auto`` for a host no row names: a Harbor, when the registry credentials are at hand,
    recognized by one ``GET /api/v2.0/systeminfo`` (asked once per host)."""
    from ci_tags.backends.probe import answers_json

    if _credentials(where) is None:
        return False
    return answers_json(where.registries.http, _url(where) + API + "/systeminfo", "auth_mode")


def build(where: Where) -> HarborBackend:
    creds = _credentials(where)
    if creds is None:
        raise BadInput("the Harbor backend needs the registry credentials (a robot account)",
                       hint="--username/--password, CI_TAGS_REGISTRY_USER/_PASSWORD, or a docker login")
    return HarborBackend(where.registries.http, _url(where), where.host, creds.username, creds.password)
