"""What differs per registry service for listing repositories and tags and removing one tag: any OCI registry
(oci.py), GitLab's registry API (gitlab.py), Docker Hub's API (dockerhub.py), behind one interface (base.py).

:func:`backend_for` picks one. Each backend module is imported only when chosen: python-gitlab is slow to import.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ci_tags.core.hosts import DOCKER_HUB, DOCKER_HUB_API_HOST, DOCKER_HUB_API_URL, DOCKER_HUB_HOSTS
from ci_tags.errors import BadInput

if TYPE_CHECKING:
    from ci_tags.backends.base import Backend
    from ci_tags.oci.client import Registries

KINDS = ("auto", "oci", "gitlab", "dockerhub")


def _gitlab_token(env: Mapping[str, str], token: str | None) -> tuple[str, bool] | None:
    """(token, is a job token): the one given, else CI_TAGS_GITLAB_TOKEN, else the job's CI_JOB_TOKEN."""
    if token:
        return token, False
    if env.get("CI_TAGS_GITLAB_TOKEN"):
        return env["CI_TAGS_GITLAB_TOKEN"], False
    if env.get("CI_JOB_TOKEN"):
        return env["CI_JOB_TOKEN"], True
    return None


def backend_for(
    kind: str,
    host: str,
    *,
    registries: Registries,
    env: Mapping[str, str],
    username: str | None = None,
    password: str | None = None,
    gitlab_url: str | None = None,
    gitlab_token: str | None = None,
    hub_url: str = DOCKER_HUB_API_URL,
    concurrency: int = 8,
) -> Backend:
    """The backend for a registry ``host``. ``kind`` is "oci", "gitlab", "dockerhub", or "auto":

    - Docker Hub (docker.io) -> its API, with the Hub credentials found for docker.io (flags, CI_TAGS_REGISTRY_*,
      the Docker/Podman auth files); without any, BadInput: the registry API can neither list nor untag there;
    - GitLab -> its API when asked for with ``gitlab_url``, or in GitLab CI (GITLAB_CI) for the job's registry
      (``host`` == CI_REGISTRY), when a token is at hand: ``gitlab_token``, CI_TAGS_GITLAB_TOKEN or CI_JOB_TOKEN;
    - anything else -> the OCI registry API (catalog, tag list, safe untag).

    ``concurrency`` (the command's --concurrency) bounds the requests a backend sends at once.
    """
    if kind not in KINDS:
        raise BadInput(f"unknown backend {kind!r}", hint=f"one of {', '.join(KINDS)}")
    token = _gitlab_token(env, gitlab_token)
    url = gitlab_url or env.get("CI_SERVER_URL")
    if url and "@" in url.partition("://")[2].partition("/")[0]:
        raise BadInput("the GitLab URL must not hold credentials", hint="give the token in CI_TAGS_GITLAB_TOKEN")
    if kind == "auto":
        in_gitlab_ci = env.get("GITLAB_CI") == "true" and bool(env.get("CI_REGISTRY")) and host == env["CI_REGISTRY"]
        if host in DOCKER_HUB_HOSTS:
            kind = "dockerhub"
        elif token and url and (gitlab_url or in_gitlab_ci):
            kind = "gitlab"
        else:
            kind = "oci"
    if kind == "dockerhub":
        from ci_tags.backends.dockerhub import DockerHubBackend
        from ci_tags.oci.credentials import find_credentials

        creds = find_credentials(DOCKER_HUB, env, username=username, password=password)
        if creds is None:
            raise BadInput(
                "Docker Hub's API needs credentials to list and remove tags",
                hint="--username and --password (a personal access token), CI_TAGS_REGISTRY_USER/_PASSWORD, "
                "or a docker login",
            )
        return DockerHubBackend(registries.http, creds.username, creds.password, hub_url)
    if kind == "gitlab":
        from ci_tags.backends.gitlab import GitLabBackend

        if not url:
            raise BadInput("the GitLab backend needs GitLab's address", hint="--gitlab-url, or CI_SERVER_URL in CI")
        if token is None:
            raise BadInput("the GitLab backend needs a token", hint="CI_TAGS_GITLAB_TOKEN (api scope), or CI_JOB_TOKEN")
        return GitLabBackend(url, token[0], job_token=token[1], session=registries.http.session,
                             detail_workers=concurrency)
    from ci_tags.backends.oci import OciBackend

    return OciBackend(registries.get(DOCKER_HUB_API_HOST if host in DOCKER_HUB_HOSTS else host),
                      concurrency=concurrency)
