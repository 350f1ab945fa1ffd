"""Ask GitLab (python-gitlab, imported only here and only when asked) whether every other job of this
pipeline succeeded. Needs a token with read_api: the job token cannot list a pipeline's jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ci_tags.ci.environment import Pipeline
from ci_tags.ci.status import PipelineStatus, judge_jobs
from ci_tags.errors import AuthError, NotFound, RegistryError

if TYPE_CHECKING:
    from ci_tags.oci.http import Http


def check_gitlab_pipeline(pipeline: Pipeline, token: str | None, *, timeout: float = 30,
                          http: Http | None = None) -> PipelineStatus:
    """``http``: the process's HTTP path (its pool and retry policy); a new one when not given."""
    if not token:
        return PipelineStatus(False, False, ("no token with read_api (CI_TAGS_GITLAB_TOKEN): jobs not checked",))
    if not (pipeline.api_url and pipeline.project and pipeline.run_id):
        return PipelineStatus(False, False, ("CI_API_V4_URL, CI_PROJECT_ID or CI_PIPELINE_ID missing",))
    import gitlab.exceptions

    from ci_tags.oci.http import Http
    from ci_tags.oci.http_clients import gitlab_client

    url = pipeline.api_url.removesuffix("/").removesuffix("/api/v4")
    client = gitlab_client(url, (http or Http()).session, timeout=timeout, private_token=token)
    try:
        project = client.projects.get(pipeline.project, lazy=True)
        run = project.pipelines.get(pipeline.run_id, lazy=True)
        records: list[dict[str, Any]] = [j.attributes for j in run.jobs.list(get_all=True)]
        records += [b.attributes for b in run.bridges.list(get_all=True)]
    except gitlab.exceptions.GitlabAuthenticationError:
        raise AuthError(
            "GitLab refused the token in CI_TAGS_GITLAB_TOKEN", hint="it needs the read_api scope"
        ) from None
    except gitlab.exceptions.GitlabError as exc:
        code = getattr(exc, "response_code", None)
        if code == 403:
            raise AuthError("GitLab denied reading the pipeline's jobs", hint="the token needs read_api") from None
        if code == 404:
            raise NotFound(f"pipeline {pipeline.run_id} of project {pipeline.project} not found on GitLab") from None
        raise RegistryError(f"GitLab answered {code or 'an error'} while listing the pipeline's jobs") from None
    except OSError as exc:
        raise RegistryError(f"cannot reach GitLab at {url}: {type(exc).__name__}") from None
    return judge_jobs(records, pipeline.job_id)
