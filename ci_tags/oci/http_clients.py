"""python-gitlab and python-jenkins over ci-tags' one HTTP path (ci_tags/oci/http.py): each gets a session whose
adapter retries, waits for ``Retry-After``, times out and traces, and its own retry loop is turned off, so a
request is never retried by two loops (python-gitlab would sleep a second time, with its own reading of
``Retry-After``; python-jenkins mounts urllib3 retries). Both libraries are imported only when a client is built.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from ci_tags.oci.http import USER_AGENT, Http

if TYPE_CHECKING:
    import requests

# python-gitlab's own retry arguments, overridden on every request it sends
_NO_GITLAB_RETRIES = {"max_retries": 0, "obey_rate_limit": False, "retry_transient_errors": False}


@functools.cache
def _gitlab_class() -> Any:
    import gitlab

    class Gitlab(gitlab.Gitlab):
        """python-gitlab with its retry loop off: the session's adapter retries."""

        def http_request(self, *args: Any, **kwargs: Any) -> Any:
            return super().http_request(*args, **{**kwargs, **_NO_GITLAB_RETRIES})

    return Gitlab


def gitlab_client(url: str, session: requests.Session, *, timeout: float, **options: Any) -> Any:
    """A python-gitlab client for ``url`` over ``session`` (an :class:`Http`'s); ``options`` holds
    private_token= or job_token=, and other python-gitlab options. python-gitlab keeps its tokens in its own
    headers, never on the session, so the session itself is shared."""
    return _gitlab_class()(url, timeout=timeout, retry_transient_errors=False, user_agent=USER_AGENT,
                           session=session, **options)


def jenkins_client(url: str, http: Http, *, username: str | None, password: str, timeout: float) -> Any:
    """A python-jenkins client for ``url`` over ``http``'s pool and retry policy. python-jenkins sets its
    credentials on its session, so it gets a session of its own over the same adapter (never the registries')."""
    import jenkins
    import requests

    server = jenkins.Jenkins(url, username=username, password=password, timeout=timeout)
    session = http.client_session()
    defaults = requests.utils.default_headers()
    for key, value in server._session.headers.items():  # JENKINS_API_EXTRA_HEADERS, read by python-jenkins
        if key not in defaults:
            session.headers[key] = value
    session.auth = server._session.auth
    server._session = session
    return server
