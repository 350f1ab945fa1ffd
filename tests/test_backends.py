"""The tag backends: Docker Hub's API against a fake that replays its documented shapes (no such service can run
here; see the fake's docstring), how a backend is chosen, and the OCI backend against the real registry. GitLab's
backend: test_backend_gitlab.py."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests

from ci_tags.backends import Capability, Where, backend_for, has
from ci_tags.backends.base import TagRecord, name_after, parse_time
from ci_tags.backends.dockerhub import DockerHubBackend
from ci_tags.backends.gitlab import GitLabBackend
from ci_tags.backends.oci import OciBackend
from ci_tags.errors import AuthError, BadInput, NotFound
from ci_tags.oci.http import Http
from ci_tags.oci.registries import Registries
from tests.support.fake_dockerhub import FakeDockerHub, fake_digest
from tests.support.images import in_parallel, push_image
from tests.support.proxy import RegistryFront

SECRET = "dckr_pat_s3cr3t-value-never-printed"
GL_TOKEN = "glpat-s3cr3t-token-never-printed"
JOB_TOKEN = "glcbt-job-s3cr3t-never-printed"
UTC = timezone.utc


# -- shared pieces ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-01-05T21:06:53.506400Z", datetime(2021, 1, 5, 21, 6, 53, 506400, tzinfo=UTC)),
        ("2019-01-06T16:49:51.272+00:00", datetime(2019, 1, 6, 16, 49, 51, 272000, tzinfo=UTC)),
        ("2026-01-01T00:00:00.123456789Z", datetime(2026, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)),
        ("2026-01-01T02:00:00+02:00", datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC)),
        ("2026-01-01T00:00:00", None),  # no zone: no usable time
        ("yesterday", None),
        ("", None),
        (None, None),
        (1700000000, None),
    ],
)
def test_parse_time(text, expected):
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    ("path", "namespace", "expected"),
    [("linaro/ci-x", "linaro", "ci-x"), ("linarox/ci-x", "linaro", None), ("linaro", "linaro", ""),
     ("a/b/c", "a/b", "c"), ("a/b/c", "", "a/b/c"), ("a/b/c", "/a/", "b/c")],
)
def test_name_after_namespace(path, namespace, expected):
    assert name_after(path, namespace) == expected


# -- Docker Hub ------------------------------------------------------------------------------------------------


def hub_repos() -> dict[str, dict[str, Any]]:
    repos: dict[str, dict[str, Any]] = {f"linaro/ci-{i:03d}": {"5.0.0": "2026-01-01T00:00:00Z"} for i in range(130)}
    repos["linaro/x-ci-1"] = {"5.0.0": "2026-01-01T00:00:00Z"}  # contains the prefix, does not start with it
    repos["linaro/tools"] = {"5.0.0": "2026-01-01T00:00:00Z"}
    repos["elsewhere/ci-000"] = {"5.0.0": "2026-01-01T00:00:00Z"}
    big: dict[str, Any] = {f"t{i:03d}": f"2026-02-{1 + i % 28:02d}T10:00:00.000000Z" for i in range(150)}
    big["dated"] = "2026-03-04T05:06:07.123456Z"
    big["legacy"] = {"tag_last_pushed": None, "last_updated": "2025-12-31T23:59:59Z"}
    big["undated"] = {"tag_last_pushed": None, "last_updated": None, "digest": None}
    big["latest"] = {"digest": fake_digest("linaro/ci-big", "5.0.0")}
    big["5.0.0"] = "2026-01-01T00:00:00Z"
    repos["linaro/ci-big"] = big
    return repos


@pytest.fixture
def hub():
    fake = FakeDockerHub("linaro-bot", SECRET, hub_repos())
    yield fake
    fake.close()


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def http(sleeps):
    session = Http(sleep=sleeps.append)
    yield session
    session.close()


def test_hub_lists_repositories_over_pages_and_filters_by_prefix(hub, http):
    backend = DockerHubBackend(http, "linaro-bot", SECRET, hub.url)
    found = backend.repositories("linaro", "ci-")
    assert len(found) == 131  # ci-000..ci-129 and ci-big, over two pages of 100
    assert found[0] == "docker.io/linaro/ci-000" and found[-1] == "docker.io/linaro/ci-big"
    assert "docker.io/linaro/x-ci-1" not in found and "docker.io/linaro/tools" not in found
    assert not any("elsewhere" in r for r in found)
    assert hub.count("GET", "/v2/namespaces/linaro/repositories") == 2
    assert len(backend.repositories("linaro", "")) == 133


def test_hub_tags_page_and_parse_push_dates(hub, http):
    backend = DockerHubBackend(http, "linaro-bot", SECRET, hub.url)
    tags = {t.tag: t for t in backend.tags("docker.io/linaro/ci-big")}
    assert len(tags) == 155  # over two pages of 100
    assert hub.count("GET", "/v2/namespaces/linaro/repositories/ci-big/tags") == 2
    assert tags["dated"].pushed_at == datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
    assert tags["legacy"].pushed_at == datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC)  # last_updated fallback
    assert tags["undated"] == TagRecord("undated", None, None)
    assert tags["latest"].digest == tags["5.0.0"].digest == fake_digest("linaro/ci-big", "5.0.0")
    assert has(backend, Capability.DATES_TAGS)


def test_hub_delete_removes_that_tag_only(hub, http):
    backend = DockerHubBackend(http, "linaro-bot", SECRET, hub.url)
    backend.delete_tag("docker.io/linaro/ci-big", "5.0.0")
    tags = {t.tag for t in backend.tags("docker.io/linaro/ci-big")}
    assert "5.0.0" not in tags and "latest" in tags  # latest shared its digest
    assert ("DELETE", "/v2/repositories/linaro/ci-big/tags/5.0.0/") in hub.requests
    with pytest.raises(NotFound):
        backend.delete_tag("docker.io/linaro/ci-big", "5.0.0")
    with pytest.raises(NotFound):
        backend.tags("docker.io/linaro/missing")


def test_hub_429_waits_for_retry_after_then_retries(http, sleeps, closing):
    fake = closing(FakeDockerHub("linaro-bot", SECRET, hub_repos(), rate_limit_first=True))
    backend = DockerHubBackend(http, "linaro-bot", SECRET, fake.url)
    assert len(backend.repositories("linaro", "ci-")) == 131
    assert fake.requests[0] == fake.requests[1] == ("POST", "/v2/auth/token")  # the 429, then its retry
    assert sleeps == [1.0]  # Retry-After: 1, honoured by the HTTP choke point


def test_hub_wrong_credentials_raise_auth_error_without_the_secret(hub, http, caplog):
    caplog.set_level(logging.DEBUG)
    backend = DockerHubBackend(http, "linaro-bot", "wrong-" + SECRET, hub.url)
    with pytest.raises(AuthError) as info:
        backend.repositories("linaro", "")
    shown = f"{info.value} {info.value!r} {info.value.hint} {backend!r} {caplog.text}"
    assert "linaro-bot" in str(info.value)
    assert SECRET not in shown and "s3cr3t" not in shown
    assert hub.count("GET", "/v2/namespaces") == 0  # nothing asked without a login


def test_hub_logs_in_again_when_the_token_expires(hub, http):
    backend = DockerHubBackend(http, "linaro-bot", SECRET, hub.url)
    backend.tags("docker.io/linaro/tools")
    hub.expire_tokens()
    assert [t.tag for t in backend.tags("docker.io/linaro/tools")] == ["5.0.0"]
    assert hub.logins == 2


def test_hub_falls_back_to_the_deprecated_login_route(http, closing):
    fake = closing(FakeDockerHub("linaro-bot", SECRET, hub_repos(), legacy_login_only=True))
    backend = DockerHubBackend(http, "linaro-bot", SECRET, fake.url)
    assert [t.tag for t in backend.tags("docker.io/linaro/tools")] == ["5.0.0"]
    assert fake.count("POST", "/v2/auth/token") == 1 and fake.count("POST", "/v2/users/login") == 1


def test_hub_refuses_names_that_are_not_hub_repositories(hub, http):
    backend = DockerHubBackend(http, "linaro-bot", SECRET, hub.url)
    with pytest.raises(BadInput):
        backend.tags("docker.io/linaro")
    with pytest.raises(BadInput):
        backend.repositories("linaro/ci", "")


# -- backend selection -----------------------------------------------------------------------------------------


@pytest.fixture
def registries(clean_env):
    regs = Registries(Http(), clean_env)
    yield regs
    regs.http.close()


GITLAB_CI = {"GITLAB_CI": "true", "CI_REGISTRY": "registry.gitlab.example.com",
             "CI_SERVER_URL": "https://gitlab.example.com"}


@pytest.mark.parametrize(
    ("kind", "host", "env", "expected"),
    [
        ("auto", "docker.io", {"CI_TAGS_REGISTRY_USER": "bot", "CI_TAGS_REGISTRY_PASSWORD": SECRET}, "dockerhub"),
        ("auto", "registry-1.docker.io", {"CI_TAGS_REGISTRY_USER": "bot", "CI_TAGS_REGISTRY_PASSWORD": SECRET},
         "dockerhub"),
        ("auto", "registry.gitlab.example.com", {**GITLAB_CI, "CI_JOB_TOKEN": JOB_TOKEN}, "gitlab-job"),
        ("auto", "registry.gitlab.example.com", {**GITLAB_CI, "CI_JOB_TOKEN": JOB_TOKEN,
                                                 "CI_TAGS_GITLAB_TOKEN": GL_TOKEN}, "gitlab"),
        ("auto", "registry.gitlab.example.com", GITLAB_CI, "oci"),  # no token: the registry API
        ("auto", "quay.io", {**GITLAB_CI, "CI_TAGS_GITLAB_TOKEN": GL_TOKEN}, "oci"),  # not the job's registry
        ("auto", "registry.gitlab.example.com", {"CI_REGISTRY": "registry.gitlab.example.com",
                                                 "CI_TAGS_GITLAB_TOKEN": GL_TOKEN}, "oci"),  # not in GitLab CI
        ("oci", "registry.gitlab.example.com", {**GITLAB_CI, "CI_TAGS_GITLAB_TOKEN": GL_TOKEN}, "oci"),
        ("gitlab", "registry.example.com", {"CI_SERVER_URL": "https://gl", "CI_TAGS_GITLAB_TOKEN": GL_TOKEN},
         "gitlab"),
    ],
)
def test_backend_for_picks_by_kind_and_environment(registries, kind, host, env, expected):
    backend = backend_for(kind, Where(host, registries, env))
    name = backend.name + ("-job" if isinstance(backend, GitLabBackend) and backend.job_token else "")
    assert name == expected
    if isinstance(backend, OciBackend):
        assert backend.registry.host == host
    if isinstance(backend, GitLabBackend):
        assert backend.client.session is registries.http.session  # one connection pool


def test_backend_for_an_explicit_gitlab_url_selects_gitlab(registries):
    backend = backend_for("auto", Where("registry.example.com", registries, {},
                                        gitlab_url="https://gitlab.example.com", gitlab_token=GL_TOKEN))
    assert isinstance(backend, GitLabBackend) and not backend.job_token and GL_TOKEN not in repr(backend)


@pytest.mark.parametrize(
    ("kind", "host", "env"),
    [
        ("auto", "docker.io", {}),  # Docker Hub without credentials
        ("dockerhub", "docker.io", {}),
        ("gitlab", "registry.example.com", {"CI_TAGS_GITLAB_TOKEN": GL_TOKEN}),  # no GitLab address
        ("gitlab", "registry.example.com", {"CI_SERVER_URL": "https://gl"}),  # no token
        ("ecr", "registry.example.com", {}),
    ],
)
def test_backend_for_refuses_what_cannot_work(registries, clean_env, kind, host, env):
    with pytest.raises(BadInput):
        backend_for(kind, Where(host, registries, {**clean_env, **env}))


def test_backend_for_with_hub_credentials_drives_the_hub_api(registries, hub):
    backend = backend_for("auto", Where("docker.io", registries, {}, username="linaro-bot", password=SECRET,
                                        hub_url=hub.url))
    assert backend.repositories("linaro", "tool") == ["docker.io/linaro/tools"]


def test_choosing_oci_or_hub_does_not_import_python_gitlab():
    code = ("import sys, ci_tags.backends, ci_tags.backends.oci, ci_tags.backends.dockerhub; "
            "print('gitlab' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


# -- any OCI registry: the real one ----------------------------------------------------------------------------


def test_oci_lists_the_catalog_by_namespace_and_prefix_and_untags_one_tag(reg, registry, unique):
    bk = unique("bk")
    digests = {}
    for name in [f"{bk}/ci-amd64", f"{bk}/ci-arm64", f"{bk}/other", f"{bk}x/ci-z", f"elsewhere/{bk}/ci-y"]:
        image = push_image(reg, name, "5.0.0", layer_size=64)
        reg.put_manifest(name, "latest", image.manifest)  # a sibling on the same digest
        digests[name] = image.manifest.digest
    backend = OciBackend(reg)
    assert backend.repositories(bk, "ci-") == [f"{registry.host}/{bk}/ci-amd64", f"{registry.host}/{bk}/ci-arm64"]
    assert f"{registry.host}/{bk}/other" in backend.repositories(bk, "")
    records = sorted(backend.tags(f"{registry.host}/{bk}/ci-amd64"), key=lambda t: t.tag)
    assert records == [TagRecord("5.0.0", None, None), TagRecord("latest", None, None)]
    assert not has(backend, Capability.DATES_TAGS)

    mark = registry.mark()
    backend.delete_tag(f"{registry.host}/{bk}/ci-amd64", "5.0.0")
    assert reg.tags(f"{bk}/ci-amd64") == ["latest"]
    assert reg.head_manifest(f"{bk}/ci-amd64", "latest") == digests[f"{bk}/ci-amd64"]  # the sibling kept its image
    deletes = [r for r in registry.since(mark) if r.method == "DELETE"]
    assert deletes and all(digests[f"{bk}/ci-amd64"] not in r.uri for r in deletes)  # never by the image's digest
    with pytest.raises(NotFound):
        backend.delete_tag(f"{registry.host}/{bk}/ci-amd64", "5.0.0")


def test_oci_catalog_pages_past_one_hundred_repositories(reg, registry, client, closing, unique):
    """Distribution 2.8 answers the whole catalog at once; a front pages the real registry's catalog by 50 with
    Link headers, as registries that honour ``n`` do, and forwards everything else."""
    many = unique("many")
    in_parallel(lambda i: push_image(reg, f"{many}/r{i:03d}", "1", layer_size=16), range(105))

    def intercept(method, path, query):
        if path != "/v2/_catalog":
            return None
        everything, url = [], f"{registry.url}/v2/_catalog?n=1000"
        while url:  # the real catalog, whole: past the registry's own limit of 1000 names an answer
            answer = requests.get(url, timeout=10)
            everything += answer.json()["repositories"]
            url = registry.url + answer.links["next"]["url"] if "next" in answer.links else ""
        last = query.get("last", [""])[0]
        page = [r for r in everything if r > last][:50]
        headers = {"Content-Type": "application/json"}
        if len(page) == 50:
            headers["Link"] = f'</v2/_catalog?last={page[-1]}&n=50>; rel="next"'
        return 200, headers, json.dumps({"repositories": page}).encode()

    front = closing(RegistryFront(registry.url, intercept))
    names = OciBackend(client.get(front.host)).repositories(many, "r")
    assert names == [f"{front.host}/{many}/r{i:03d}" for i in range(105)]
    assert len([p for m, p in front.seen if p.startswith("/v2/_catalog")]) >= 3  # 105+ names by 50


def test_oci_dates_are_unknown(reg):
    push_image(reg, "dates/plain", "1", layer_size=16)
    records = OciBackend(reg).tags("dates/plain")
    assert records == [TagRecord("1", None, None)]
    assert all(r.pushed_at is None and r.created_at is None for r in records)


def test_tag_records_compare_by_value():
    when = datetime(2026, 1, 1, tzinfo=UTC)
    assert TagRecord("a", "sha256:1", when) == TagRecord("a", "sha256:1", when, None)
    assert TagRecord("a", None, when) != TagRecord("a", None, when + timedelta(seconds=1))


def test_a_gitlab_url_with_credentials_in_it_is_refused_without_echoing_them(cli):
    result = cli("prune", "registry.example.com/group", "--tag", "x", "--gitlab-url",
                 "https://bot:glpat-S3cretValue@gitlab.example.com")
    assert result.code == 2
    assert "glpat-S3cretValue" not in result.out + result.err
