"""One HTTP path for every client: python-gitlab and python-jenkins requests are retried by ci-tags' policy
(Retry-After honoured, no second retry loop), a wait one request was asked for holds back the other requests to
that host, and the command's --concurrency bounds the requests a backend sends at once.

The GitLab and Jenkins APIs are fakes (no GitLab or Jenkins runs here; response shapes from their API docs); the
registry is the real distribution registry. No test sleeps for a Retry-After: ``Http(sleep=...)`` records the
waits, and time passes by what it records."""

from __future__ import annotations

import email.utils
import json
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ci_tags.backends import Where, backend_for
from ci_tags.backends.gitlab import GitLabBackend
from ci_tags.ci.environment import Pipeline
from ci_tags.ci.gitlab import check_gitlab_pipeline
from ci_tags.ci.jenkins import check_jenkins_build
from ci_tags.errors import RegistryError
from ci_tags.oci.http import Http
from tests.support.fake_gitlab import FakeGitLab, job
from tests.support.fake_gitlab_registry import FakeGitLabRegistry, FakeTag, digest_of
from tests.support.fake_http import JsonHandler
from tests.support.images import push_image
from tests.support.proxy import RegistryFront
from tests.support.serving import serve, stop

TOKEN = "glpat-http-s3cr3t"
JENKINS_TOKEN = "11aa-jenkins-api-token"
Answer = tuple[int, dict[str, str]]


class ScriptedApi:
    """A loopback JSON API: ``routes`` maps a path to the body of its 200; ``script`` maps a path to answers
    given first, in order; any other path is 404. Each request is appended to ``events`` as (method, path, status)
    before it is answered."""

    def __init__(self, routes: dict[str, Any], script: dict[str, list[Answer]] | None = None,
                 events: list[tuple[Any, ...]] | None = None) -> None:
        self.events: list[tuple[Any, ...]] = [] if events is None else events
        api = self

        class Handler(JsonHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                queued = (script or {}).get(path) or []
                status, headers = queued.pop(0) if queued else ((200, {}) if path in routes else (404, {}))
                api.events.append((self.command, path, status))
                self._send(status, routes.get(path) if status == 200 else {"message": "no"}, headers)

            do_POST = do_GET

        self.server, self.url = serve(Handler)

    def close(self) -> None:
        stop(self.server)


class Meeting:
    """Requests that arrive wait a moment (``patience``) for company; ``most`` is the most ever waiting at once:
    1 when they never overlap."""

    def __init__(self, patience: float = 0.3) -> None:
        self.patience = patience
        self.cond = threading.Condition()
        self.waiting = 0
        self.most = 0

    def arrive(self) -> None:
        with self.cond:
            self.waiting += 1
            self.most = max(self.most, self.waiting)
            self.cond.notify_all()
            self.cond.wait_for(lambda: self.waiting >= 2, timeout=self.patience)
            self.waiting -= 1


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def http(waits: list[float]) -> Iterator[Http]:
    made = Http(sleep=waits.append)
    yield made
    made.close()


# -- python-gitlab and python-jenkins through the policy ----------------------------------------------------------


def test_a_python_gitlab_call_is_retried_by_ci_tags_policy_honouring_retry_after(http, waits, closing):
    jobs_path = "/api/v4/projects/12/pipelines/77/jobs"
    throttled = [(429, {"Retry-After": "2"}), (503, {"Retry-After": "1"})]
    gitlab = closing(FakeGitLab(TOKEN, [job(1, "test", "test", "success"), job(999, "publish", "publish", "running")]))
    front = closing(RegistryFront(gitlab.url, lambda m, p, q: (*throttled.pop(0), b"{}") if p == jobs_path and throttled
                                  else None))
    pipeline = Pipeline(system="gitlab", pipeline_id="5", branch="main", default_branch="main", commit="c",
                        api_url=f"http://{front.host}/api/v4", project="12", run_id="77", job_id="999")
    status = check_gitlab_pipeline(pipeline, TOKEN, http=http)
    assert status.checked and status.ok
    assert [p.split("?")[0] for _, p in front.seen].count(jobs_path) == 3  # 429, 503, then the answer
    assert waits == [2.0, 1.0]  # as asked, by ci-tags' policy (python-gitlab's own loop would sleep itself)


def test_a_python_jenkins_call_is_retried_by_ci_tags_policy_honouring_retry_after(http, waits, closing):
    build = "/job/build-app/7/api/json"
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    jenkins = closing(ScriptedApi({build: {"_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun", "number": 7,
                                           "building": True, "result": None}},
                                  {build: [(503, {"Retry-After": "3"}), (429, {"Retry-After": date})]}))
    pipeline = Pipeline(system="jenkins", pipeline_id="main-7", branch="main", default_branch="main",
                        commit="c", api_url=jenkins.url, project="build-app", run_id="7", job_id=None)
    status = check_jenkins_build(pipeline, jenkins.url, "ci-bot", JENKINS_TOKEN, http=http)
    assert status.checked and status.ok
    assert [(p, s) for _, p, s in jenkins.events if p == build] == [(build, 503), (build, 429), (build, 200)]
    assert waits[0] == 3.0 and 20 < waits[1] <= 30  # seconds, then an HTTP date: python-jenkins reads neither


def test_python_jenkins_credentials_stay_off_the_registries_session(http, closing):
    jenkins = closing(ScriptedApi({"/job/build-app/7/api/json": {"number": 7, "result": None}}))
    pipeline = Pipeline(system="jenkins", pipeline_id="main-7", branch="main", default_branch="main",
                        commit="c", api_url=jenkins.url, project="build-app", run_id="7", job_id=None)
    check_jenkins_build(pipeline, jenkins.url, "ci-bot", JENKINS_TOKEN, http=http)
    assert http.session.auth is None  # the registries' requests never carry Jenkins' Basic credentials


def test_gitlab_backend_retries_a_503_with_an_http_date_retry_after(http, waits, closing):
    """python-gitlab read Retry-After as an integer: an HTTP date raised ValueError, reported as rate limiting
    without a retry. The policy reads both forms."""
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    fake = closing(FakeGitLabRegistry(TOKEN, rate_limit_once_on=("GET", r"/registry/repositories/\d+/tags\?"),
                                      throttle=(503, {"Retry-After": date})))
    fake.add_repository("team/app", "ci", {"v1": FakeTag(digest_of("v1"), "2026-01-01T00:00:00Z")})
    backend = GitLabBackend(fake.url, TOKEN, session=http.session)
    names = backend.tag_names("registry.gitlab.example.com/team/app/ci")
    assert names == {"v1"}
    assert fake.count("GET", r"/tags\?") == 2
    [wait] = waits
    assert 20 < wait <= 30


def test_gitlab_backend_still_limited_after_the_policy_gives_up_says_so(http, waits, closing):
    fake = closing(FakeGitLabRegistry(TOKEN, rate_limit_once_on=("GET", r"/registry/repositories/\d+/tags\?"),
                                      throttle=(429, {"Retry-After": "3600"})))
    fake.add_repository("team/app", "ci", {"v1": FakeTag(digest_of("v1"), "2026-01-01T00:00:00Z")})
    backend = GitLabBackend(fake.url, TOKEN, session=http.session)
    with pytest.raises(RegistryError) as raised:
        backend.tag_names("registry.gitlab.example.com/team/app/ci")
    assert raised.value.message == ("GitLab kept rate-limiting listing the tags of "
                                    "registry.gitlab.example.com/team/app/ci")
    assert fake.count("GET", r"/tags\?") == 1 and waits == []  # an hour is beyond what the policy waits


# -- the wait is the host's ------------------------------------------------------------------------------------------


def test_a_wait_one_request_was_asked_for_holds_back_the_next_request_to_that_host(closing):
    events: list[tuple[Any, ...]] = []
    api = closing(ScriptedApi({"/a": {}, "/b": {}}, {"/a": [(429, {"Retry-After": "5"})]}, events))
    other = closing(ScriptedApi({"/c": {}}, events=events))
    http: Http

    def sleep(seconds: float) -> None:
        events.append(("wait", round(seconds, 1)))
        if len(events) == 2:  # while the first request waits, other workers send theirs
            http.request("GET", other.url + "/c")  # another host: not held back
            http.request("GET", api.url + "/b")  # the same host: waits out the rest of the 5 s first

    http = closing(Http(sleep=sleep))
    assert http.request("GET", api.url + "/a").status_code == 200
    assert events == [("GET", "/a", 429), ("wait", 5.0), ("GET", "/c", 200), ("wait", 5.0), ("GET", "/b", 200),
                      ("GET", "/a", 200)]


# -- --concurrency reaches the backends ----------------------------------------------------------------------------


@pytest.mark.parametrize(("concurrency", "overlap"), [(1, False), (3, True)])
def test_prune_on_an_oci_registry_heads_the_siblings_with_the_commands_concurrency(reg, registry, cli,
                                                                                   concurrency, overlap, closing,
                                                                                   unique):
    namespace = unique(f"conc{concurrency}")
    repo = f"{namespace}/app"
    image = push_image(reg, repo, "t0")
    for i in range(1, 6):
        reg.put_manifest(repo, f"t{i}", image.manifest)
    meeting = Meeting()
    sibling = re.compile(rf"/v2/{repo}/manifests/t[1-5]$")
    front = closing(RegistryFront(registry.url, hook=lambda m, p: meeting.arrive() if m == "HEAD" and sibling.match(p)
                                  else None))
    result = cli("prune", f"{front.host}/{namespace}", "--tag", "t0", "--concurrency", str(concurrency))
    assert result.code == 0, result.err
    assert sorted(reg.tags(repo)) == [f"t{i}" for i in range(1, 6)]
    assert (meeting.most > 1) is overlap  # 8 at once whatever the command said, before


@pytest.mark.parametrize(("concurrency", "overlap"), [(1, False), (3, True)])
def test_gitlab_backend_reads_tag_details_with_the_commands_concurrency(client, clean_env, concurrency, overlap,
                                                                      closing):
    meeting = Meeting()
    detail = re.compile(r"/registry/repositories/\d+/tags/t\d$")
    fake = closing(FakeGitLabRegistry(TOKEN, hook=lambda m, p: meeting.arrive() if detail.search(p) else None))
    fake.add_repository("team/app", "ci", {f"t{i}": FakeTag(digest_of(f"t{i}"), None) for i in range(5)})
    backend = backend_for("gitlab", Where("registry.gitlab.example.com", client, clean_env, gitlab_url=fake.url,
                                          gitlab_token=TOKEN, concurrency=concurrency))
    records = backend.tags("registry.gitlab.example.com/team/app/ci")
    assert sorted(r.tag for r in records) == [f"t{i}" for i in range(5)]
    assert (meeting.most > 1) is overlap


def test_the_debug_trace_shows_python_gitlab_requests_without_the_token(http, caplog, closing):
    gitlab = closing(FakeGitLab(TOKEN, [job(999, "publish", "publish", "running")]))
    pipeline = Pipeline(system="gitlab", pipeline_id="5", branch="main", default_branch="main", commit="c",
                        api_url=f"{gitlab.url}/api/v4", project="12", run_id="77", job_id="999")
    with caplog.at_level("DEBUG", logger="ci_tags.http"):
        check_gitlab_pipeline(pipeline, TOKEN, http=http)
    trace = "\n".join(r.getMessage() for r in caplog.records)
    assert re.search(r"GET http://127\.0\.0\.1:\d+/api/v4/projects/12/pipelines/77/jobs\S* -> 200", trace)
    assert TOKEN not in trace and json.dumps(TOKEN) not in trace
