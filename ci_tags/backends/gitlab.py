"""GitLab's container registry REST API through python-gitlab, imported only when this backend is built (the
import costs more than most ci-tags commands take).

Endpoints (docs.gitlab.com/api/container_registry/), all offset-paginated (``page``, ``per_page`` up to 100;
``Link``/``X-Next-Page`` headers, which python-gitlab follows):

- ``GET /groups/:id/registry/repositories``: every registry repository of the group's projects, subgroups
  included; ``GET /projects/:id/registry/repositories`` for one project. Each has ``id``, ``project_id``,
  ``path`` (``group/project/image``) and ``location`` (``registry.example.com/group/project/image``): the
  location is the ``host/path`` name the rest of ci-tags uses.
- ``GET /projects/:id/registry/repositories/:repository_id/tags``: names only; then, per tag,
  ``GET .../tags/:tag_name`` for ``digest`` and ``created_at``. ``created_at`` is when the manifest was created,
  not when the tag was pushed: a tag copied by metadata today onto a month-old image looks a month old. GitLab
  versions whose registry records push times add ``published_at``; only that becomes ``TagRecord.pushed_at``,
  ``created_at`` stays in ``TagRecord.created_at``. Where a listing already carries ``digest`` and a date, the
  per-tag request is skipped.
- ``DELETE .../tags/:tag_name``: removes that tag only (GitLab untags with the registry's tag delete, or a
  throwaway manifest where that is missing); 403 when the tag is protected. The bulk delete
  (``DELETE .../tags`` with regexes) is asynchronous, runs at most hourly and never removes ``latest``: never used.

Auth: a personal, project or group access token (``PRIVATE-TOKEN``), or a CI job token (``JOB-TOKEN``), which
reaches only the registry of the project running the job. Status codes become errors by the shared rule of
ci_tags/backends/api.py (401/403 AuthError, 404 NotFound, a 429 left after the waits RegistryError); 429 and
transient 5xx are retried by ci-tags' HTTP path, whose session python-gitlab is given (its own retries are off:
ci_tags/oci/http_clients.py), with the timeout set here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from ci_tags.backends.api import error_for
from ci_tags.backends.base import TagRecord, is_complete, name_after, parse_time
from ci_tags.concurrency import run_all
from ci_tags.errors import BadInput, NotFound, RegistryError

if TYPE_CHECKING:
    import requests

    from ci_tags.backends import Where

T = TypeVar("T")
PER_PAGE = 100
TOKEN_NEEDS = "CI_TAGS_GITLAB_TOKEN needs the api scope; a job token reaches only its own project"
DENIED = ("the token's role may not remove this tag: a protected tag (container registry tag protection rules) "
          "needs the role they name; otherwise Developer or more, api scope")


class GitLabBackend:
    name = "gitlab"

    def __init__(
        self,
        url: str,
        token: str,
        *,
        job_token: bool = False,
        timeout: float = 30.0,
        session: requests.Session | None = None,
        detail_workers: int = 8,
    ) -> None:
        """``url`` is GitLab's address (``https://gitlab.example.com``, CI_SERVER_URL); ``token`` an access token
        with the ``api`` scope, or with ``job_token=True`` a CI job token. ``session`` is ci-tags' (Http.session:
        one pool, one retry policy); ``detail_workers`` the command's --concurrency for the per-tag requests."""
        from ci_tags.oci.http import Http
        from ci_tags.oci.http_clients import gitlab_client

        base = url.rstrip("/").removesuffix("/api/v4")
        self.url = base
        self.job_token = job_token
        self.detail_workers = detail_workers
        self.client = gitlab_client(
            base,
            session or Http().session,
            timeout=timeout,
            private_token=None if job_token else token,
            job_token=token if job_token else None,
            keep_base_url=True,  # follow pagination links on the address we were given, behind proxies too
        )
        self._where: dict[str, tuple[int, int]] = {}  # repository path -> (project id, repository id)
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never the token
        return f"GitLabBackend({self.url!r}, job_token={self.job_token})"

    # -- python-gitlab calls, with its errors turned into ci-tags' ------------------------------------------

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        import requests
        from gitlab import exceptions as gle

        try:
            return fn()
        except gle.GitlabAuthenticationError:
            raise error_for("GitLab", 401, what, token_needs=TOKEN_NEEDS) from None
        except gle.GitlabHttpError as exc:  # python-gitlab keeps no headers: a 429 left here has no reset time
            raise error_for("GitLab", exc.response_code or 0, what, token_needs=TOKEN_NEEDS, denied=DENIED) from None
        except gle.GitlabError as exc:  # unparsable answers, redirects of a DELETE
            raise RegistryError(f"GitLab gave an unusable answer while {what}: {type(exc).__name__}") from None
        except requests.RequestException as exc:
            raise RegistryError(f"cannot reach GitLab at {self.url} while {what}: {type(exc).__name__}") from None

    def _list(self, path: str, what: str) -> list[dict[str, Any]]:
        def listing() -> list[dict[str, Any]]:
            rows = self.client.http_list(path, query_data={"per_page": PER_PAGE}, get_all=True)
            return [r for r in rows if isinstance(r, dict)]

        return self._call(what, listing)

    def _get(self, path: str, what: str) -> dict[str, Any]:
        def get() -> dict[str, Any]:
            data = self.client.http_get(path)
            return data if isinstance(data, dict) else {}

        return self._call(what, get)

    # -- repositories ----------------------------------------------------------------------------------------

    def _remember(self, rows: Iterable[dict[str, Any]]) -> list[tuple[str, str]]:
        """Cache where each repository lives; return (path, host/path) pairs."""
        found = []
        with self._lock:
            for row in rows:
                path, location = row.get("path"), row.get("location")
                if not isinstance(path, str) or not isinstance(location, str):
                    continue
                location = location.split("://", 1)[-1]
                self._where[path] = (int(row["project_id"]), int(row["id"]))
                found.append((path, location))
        return found

    def _project_repositories(self, project: str) -> list[tuple[str, str]]:
        rows = self._list(f"/projects/{_id(project)}/registry/repositories", f"listing the registry of {project}")
        return self._remember(rows)

    def repositories(self, namespace: str, prefix: str) -> list[str]:
        """The registry repositories of a group (subgroups included) or, when ``namespace`` is a project (or
        the token is a job token), of that project."""
        ns = namespace.strip("/")
        if not ns:
            raise BadInput("the GitLab backend needs a group or project path as the namespace")
        found: list[tuple[str, str]] | None = None
        if not self.job_token:  # a job token may read its project's registry, never a group's
            try:
                rows = self._list(f"/groups/{_id(ns)}/registry/repositories", f"listing the registry of group {ns}")
                found = self._remember(rows)
            except NotFound:
                found = None
        if found is None:
            found = self._project_repositories(ns)
        names = set()
        for path, location in found:
            rest = name_after(path, ns)
            if rest is not None and rest.startswith(prefix):
                names.add(location)
        return sorted(names)

    def _locate(self, repository: str) -> tuple[int, int]:
        """(project id, repository id) of ``host/path``, from the cache or the projects its path could be in."""
        _, _, path = repository.partition("/")
        if not path:
            raise BadInput(f"{repository!r} is not a registry repository (host/group/project[/image])")
        with self._lock:
            hit = self._where.get(path)
        if hit:
            return hit
        parts = path.split("/")
        for n in range(len(parts), 1, -1):  # the project is the path or a prefix of it, longest first
            try:
                self._project_repositories("/".join(parts[:n]))
            except NotFound:
                continue
            break  # a project exists there: no shorter prefix can be another project holding this path
        with self._lock:
            hit = self._where.get(path)
        if not hit:
            raise NotFound(f"{repository} is not a registry repository on {self.url}")
        return hit

    # -- tags ------------------------------------------------------------------------------------------------

    def _tag_rows(self, repository: str) -> tuple[str, list[dict[str, Any]]]:
        project_id, repository_id = self._locate(repository)
        base = f"/projects/{project_id}/registry/repositories/{repository_id}/tags"
        what = f"listing the tags of {repository}"
        return base, [r for r in self._list(base, what) if isinstance(r.get("name"), str) and r["name"]]

    def tag_names(self, repository: str) -> set[str]:
        """The listing alone (names, paths, locations): no detail request per tag."""
        return {row["name"] for row in self._tag_rows(repository)[1]}

    def tag_listing(self, repository: str) -> list[TagRecord]:
        """Every tag from the listing alone: dates and digests only where GitLab puts them in it."""
        return [self._record(row["name"], row) for row in self._tag_rows(repository)[1]]

    def tag_record(self, repository: str, tag: str) -> TagRecord | None:
        """One tag's detail (one request); None when it is gone since the listing."""
        project_id, repository_id = self._locate(repository)
        base = f"/projects/{project_id}/registry/repositories/{repository_id}/tags"
        try:
            return self._record(tag, self._get(f"{base}/{quote(tag, safe='')}", f"reading {repository}:{tag}"))
        except NotFound:
            return None

    @staticmethod
    def _record(tag: str, row: dict[str, Any]) -> TagRecord:
        digest = row.get("digest")
        return TagRecord(tag, digest if isinstance(digest, str) and digest else None,
                         parse_time(row.get("published_at")), parse_time(row.get("created_at")))

    def tags(self, repository: str) -> list[TagRecord]:
        listed = self.tag_listing(repository)

        def record(listed_record: TagRecord) -> TagRecord | None:
            if is_complete(listed_record):
                return listed_record
            return self.tag_record(repository, listed_record.tag)

        records: list[TagRecord] = []
        for _, result, error in run_all(record, listed, self.detail_workers):
            if error is not None:
                raise error
            if result is not None:
                records.append(result)
        return records

    def delete_tag(self, repository: str, tag: str) -> None:
        project_id, repository_id = self._locate(repository)
        path = f"/projects/{project_id}/registry/repositories/{repository_id}/tags/{quote(tag, safe='')}"
        self._call(f"removing {repository}:{tag}", lambda: self.client.http_delete(path))


def _id(path: str) -> str:
    """A group or project path as an API id: URL-encoded, slashes included (``group%2Fproject``)."""
    return quote(path, safe="")


# -- the backend table's hooks (ci_tags/backends/__init__.py) ----------------------------------------------------


def _token(env: Mapping[str, str], token: str | None) -> tuple[str, bool] | None:
    """(token, is a job token): the one given, else CI_TAGS_GITLAB_TOKEN, else the job's CI_JOB_TOKEN."""
    if token:
        return token, False
    if env.get("CI_TAGS_GITLAB_TOKEN"):
        return env["CI_TAGS_GITLAB_TOKEN"], False
    if env.get("CI_JOB_TOKEN"):
        return env["CI_JOB_TOKEN"], True
    return None


def _url(where: Where) -> str | None:
    url = where.gitlab_url or where.env.get("CI_SERVER_URL")
    if url and "@" in url.partition("://")[2].partition("/")[0]:
        raise BadInput("the GitLab URL must not hold credentials", hint="give the token in CI_TAGS_GITLAB_TOKEN")
    return url


def serves(where: Where) -> bool:
    """``--backend auto``: GitLab's API when asked for with --gitlab-url, or in GitLab CI for the job's registry
    (the host is CI_REGISTRY), when a token is at hand."""
    env = where.env
    in_gitlab_ci = env.get("GITLAB_CI") == "true" and bool(env.get("CI_REGISTRY")) and where.host == env["CI_REGISTRY"]
    url = _url(where)
    return bool(_token(env, where.gitlab_token) and url and (where.gitlab_url or in_gitlab_ci))


def build(where: Where) -> GitLabBackend:
    url = _url(where)
    if not url:
        raise BadInput("the GitLab backend needs GitLab's address", hint="--gitlab-url, or CI_SERVER_URL in CI")
    token = _token(where.env, where.gitlab_token)
    if token is None:
        raise BadInput("the GitLab backend needs a token", hint="CI_TAGS_GITLAB_TOKEN (api scope), or CI_JOB_TOKEN")
    return GitLabBackend(url, token[0], job_token=token[1], session=where.registries.http.session,
                         detail_workers=where.concurrency)
