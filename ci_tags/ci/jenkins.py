"""Ask Jenkins (python-jenkins, imported only here) whether the build so far succeeded. The publish stage runs
inside the build, so the build is still running: a result already set to FAILURE/ABORTED/UNSTABLE means an
earlier stage failed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ci_tags.ci.environment import Pipeline
from ci_tags.ci.status import PipelineStatus
from ci_tags.errors import AuthError, NotFound, RegistryError

if TYPE_CHECKING:
    from ci_tags.oci.http import Http


def check_jenkins_build(pipeline: Pipeline, url: str | None, user: str | None, token: str, *,
                        http: Http | None = None) -> PipelineStatus:
    """``http``: the process's HTTP path (its pool and retry policy); a new one when not given."""
    if not (url and pipeline.project and pipeline.run_id):
        return PipelineStatus(False, False, ("JENKINS_URL, JOB_NAME or BUILD_NUMBER missing",))
    import jenkins

    from ci_tags.oci.http import Http
    from ci_tags.oci.http_clients import jenkins_client

    server = jenkins_client(url, http or Http(), username=user, password=token, timeout=30)
    try:
        info = server.get_build_info(pipeline.project, int(pipeline.run_id))
    except jenkins.NotFoundException:
        raise NotFound(f"Jenkins build {pipeline.project} #{pipeline.run_id} not found") from None
    except jenkins.JenkinsException as exc:
        if "401" in str(exc) or "403" in str(exc):
            raise AuthError("Jenkins refused the credentials in CI_TAGS_JENKINS_USER/_TOKEN") from None
        raise RegistryError(f"Jenkins answered an error for build {pipeline.project} #{pipeline.run_id}") from None
    except OSError as exc:
        raise RegistryError(f"cannot reach Jenkins at {url}: {type(exc).__name__}") from None
    result = info.get("result")
    if result not in (None, "SUCCESS"):
        return PipelineStatus(False, True, (f"the build is already {result}",), 1)
    return PipelineStatus(True, True, (), 1)
