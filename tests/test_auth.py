"""Authentication against the real registry: htpasswd Basic auth, and the Docker token flow with a test issuer."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest

from ci_tags.core.reference import parse_reference
from ci_tags.oci.auth import scope
from ci_tags.oci.client import Registry
from ci_tags.oci.copy import copy_image
from ci_tags.oci.http import Http
from ci_tags.oci.registries import Registries
from ci_tags.oci.resolve import resolve_tags
from tests.support.auth import BASIC_USERS, TOKEN_USERS
from tests.support.images import push_image

BASIC_PASSWORD = BASIC_USERS["alice"]
ALICE = ["--username", "alice", "--password", TOKEN_USERS["alice"]]
READER = ["--username", "reader", "--password", TOKEN_USERS["reader"]]
WRONG_PASSWORD = "wrong-S3cret-never-print-8e4d"


def _client(env: dict[str, str], host: str, user: str, password: str) -> Iterator[Registry]:
    regs = Registries(Http(), env, username=user, password=password)
    yield regs.get(host)
    regs.http.close()


@pytest.fixture
def basic_alice(clean_env, basic_registry) -> Iterator[Registry]:
    yield from _client(clean_env, basic_registry.host, "alice", BASIC_PASSWORD)


@pytest.fixture
def token_alice(clean_env, token_registry) -> Iterator[Registry]:
    yield from _client(clean_env, token_registry.host, "alice", TOKEN_USERS["alice"])


def _secrets_absent(result, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in result.out and secret not in result.err
        encoded = base64.b64encode(f"alice:{secret}".encode()).decode()
        assert encoded not in result.out and encoded not in result.err


# -- Basic auth ----------------------------------------------------------------------------------------------------


def test_basic_auth_with_flags(basic_alice, basic_registry, cli):
    push_image(basic_alice, "basic/flags", "v1")
    result = cli("tags", f"{basic_registry.host}/basic/flags", "--username", "alice", "--password", BASIC_PASSWORD)
    assert result.code == 0, result.err
    assert result.out == "v1\n"


def test_basic_auth_from_environment_retags_across_repositories(basic_alice, basic_registry, cli):
    pushed = push_image(basic_alice, "basic/env-src", "v1", layers=2)
    env = {"CI_TAGS_REGISTRY_USER": "alice", "CI_TAGS_REGISTRY_PASSWORD": BASIC_PASSWORD}
    mark = basic_registry.mark()
    result = cli("retag", f"{basic_registry.host}/basic/env-src:v1", f"{basic_registry.host}/basic/env-dst:v1", env=env)
    assert result.code == 0, result.err
    mounts = [r for r in basic_registry.since(mark) if r.method == "POST" and "mount=" in r.uri]
    assert [r.status for r in mounts] == [201, 201, 201]  # config + 2 layers
    assert basic_alice.head_manifest("basic/env-dst", "v1") == pushed.manifest.digest


def test_basic_auth_from_docker_config(basic_alice, basic_registry, cli, tmp_path):
    push_image(basic_alice, "basic/docker-config", "v1")
    config_dir = tmp_path / "docker"
    config_dir.mkdir()
    auth = base64.b64encode(f"alice:{BASIC_PASSWORD}".encode()).decode()
    (config_dir / "config.json").write_text(json.dumps({"auths": {basic_registry.host: {"auth": auth}}}))
    result = cli("tags", f"{basic_registry.host}/basic/docker-config", env={"DOCKER_CONFIG": str(config_dir)})
    assert result.code == 0, result.err
    assert result.out == "v1\n"


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_basic_wrong_password_exits_3_without_printing_it(basic_alice, basic_registry, cli, debug):
    push_image(basic_alice, "basic/wrong", "v1")
    extra = ["--debug"] if debug else []
    result = cli(
        "tags", f"{basic_registry.host}/basic/wrong", "--username", "alice", "--password", WRONG_PASSWORD, *extra
    )
    assert result.code == 3
    assert "refused the credentials of alice (from command line)" in result.err
    assert ("debug: GET" in result.err) is debug
    _secrets_absent(result, WRONG_PASSWORD)


def test_debug_trace_of_a_successful_run_does_not_show_the_password(basic_alice, basic_registry, cli):
    push_image(basic_alice, "basic/debug-ok", "v1")
    env = {"CI_TAGS_REGISTRY_USER": "alice", "CI_TAGS_REGISTRY_PASSWORD": BASIC_PASSWORD}
    result = cli("retag", f"{basic_registry.host}/basic/debug-ok:v1", "v2", "--debug", env=env)
    assert result.code == 0, result.err
    assert "debug: PUT" in result.err
    _secrets_absent(result, BASIC_PASSWORD)


def test_basic_registry_without_credentials_says_how_to_give_them(basic_registry, cli):
    result = cli("tags", f"{basic_registry.host}/basic/flags")
    assert result.code == 3
    assert "no credentials were found" in result.err
    assert "--username/--password" in result.err and "CI_TAGS_REGISTRY_USER" in result.err


# -- Bearer tokens -------------------------------------------------------------------------------------------------


def test_bearer_tags_and_retag_ask_one_scope_per_repository(token_alice, token_registry, token_issuer, cli):
    repo = "bearer/app"
    pushed = push_image(token_alice, repo, "v1")
    mark = token_issuer.mark()
    listed = cli("tags", f"{token_registry.host}/{repo}", *ALICE)
    assert listed.code == 0, listed.err
    assert listed.out == "v1\n"
    [tags_request] = token_issuer.since(mark)
    assert (tags_request.user, tags_request.service, tags_request.status) == ("alice", token_issuer.service, 200)
    assert tags_request.scopes == (f"repository:{repo}:pull",)

    mark = token_issuer.mark()
    retagged = cli("retag", f"{token_registry.host}/{repo}:v1", "v2", *ALICE)
    assert retagged.code == 0, retagged.err
    [retag_request] = token_issuer.since(mark)
    assert retag_request.scopes == (f"repository:{repo}:pull,push",)
    assert token_alice.head_manifest(repo, "v2") == pushed.manifest.digest


def test_bearer_retag_across_repositories_asks_pull_on_source_and_push_on_destination(
    token_alice, token_registry, token_issuer, cli
):
    pushed = push_image(token_alice, "bearer/src", "v1", layers=2)
    reg_mark, token_mark = token_registry.mark(), token_issuer.mark()
    src, dst = f"{token_registry.host}/bearer/src:v1", f"{token_registry.host}/bearer/dst:v1"
    result = cli("retag", src, dst, "--json", *ALICE)
    assert result.code == 0, result.err
    assert json.loads(result.out)["blobs"] == {"mounted": 3, "present": 0, "streamed": 0}

    [token_request] = token_issuer.since(token_mark)
    assert sorted(token_request.repositories) == ["bearer/dst", "bearer/src"]  # one scope per repository
    assert token_request.asked() == {"bearer/src": {"pull"}, "bearer/dst": {"pull", "push"}}

    reqs = token_registry.since(reg_mark)
    mounts = [r for r in reqs if r.method == "POST" and "mount=" in r.uri]
    assert len(mounts) == 3 and all(r.status == 201 and "from=bearer%2Fsrc" in r.uri for r in mounts)
    assert not [r for r in reqs if r.is_blob and r.method in ("GET", "PUT", "PATCH")]
    assert token_alice.head_manifest("bearer/dst", "v1") == pushed.manifest.digest


def test_bearer_token_is_fetched_once_for_many_requests_on_one_scope(token_alice, token_registry, token_issuer, cli):
    repo = "bearer/cached"
    pushed = push_image(token_alice, repo, "a")
    for tag in ("b", "c"):
        token_alice.put_manifest(repo, tag, pushed.manifest)
    reg_mark, token_mark = token_registry.mark(), token_issuer.mark()
    result = cli("tags", "--digests", f"{token_registry.host}/{repo}", *ALICE)
    assert result.code == 0, result.err
    assert result.out == "".join(f"{t}\t{pushed.manifest.digest}\n" for t in "abc")
    assert len(token_issuer.since(token_mark)) == 1
    reqs = token_registry.since(reg_mark)
    assert len(reqs) == 5  # the first, unauthenticated listing (401), the listing, 3 HEADs
    assert [r.status for r in reqs].count(401) == 1


def test_bearer_token_is_reused_by_later_operations_of_one_process(token_alice, token_registry, token_issuer,
                                                                    closing):
    repo = "bearer/reuse"
    push_image(token_alice, repo, "v1")
    src = parse_reference(f"{token_registry.host}/{repo}:v1")
    regs = Registries(closing(Http()), {}, username="alice", password=TOKEN_USERS["alice"])
    mark = token_issuer.mark()
    for tag in ("p1", "p2", "p3"):
        copy_image(regs, src, src.with_tag(tag))
    assert len(token_issuer.since(mark)) == 1
    assert set(token_alice.tags(repo)) == {"v1", "p1", "p2", "p3"}


def test_a_cached_token_the_registry_rejects_is_replaced_once(token_alice, token_registry, token_issuer):
    repo = "bearer/stale"
    push_image(token_alice, repo, "v1")
    assert token_alice.tags(repo) == ["v1"]
    _expire_cached_token(token_alice, token_issuer, [scope(repo, "pull")])
    mark = token_issuer.mark()
    assert token_alice.tags(repo) == ["v1"]
    assert len(token_issuer.since(mark)) == 1


def test_reader_retag_is_refused_naming_the_missing_action(token_alice, token_registry, token_issuer, cli):
    repo = "bearer/read-only"
    push_image(token_alice, repo, "v1")
    listed = cli("tags", f"{token_registry.host}/{repo}", *READER)
    assert listed.code == 0, listed.err  # pull is granted

    mark = token_issuer.mark()
    result = cli("retag", f"{token_registry.host}/{repo}:v1", "v2", *READER)
    assert result.code == 3
    assert f"granted less than asked as reader: missing repository:{repo}:push" in result.err
    assert TOKEN_USERS["reader"] not in result.err + result.out
    asked = token_issuer.since(mark)
    assert asked and all(r.user == "reader" and r.access == (("repository", repo, ("pull",)),) for r in asked)
    assert token_alice.head_manifest(repo, "v2") is None


def test_reader_cannot_mount_into_another_repository(token_alice, token_registry, cli):
    push_image(token_alice, "bearer/reader-src", "v1")
    src, dst = f"{token_registry.host}/bearer/reader-src:v1", f"{token_registry.host}/bearer/reader-dst:v1"
    result = cli("retag", src, dst, *READER)
    assert result.code == 3
    assert "missing repository:bearer/reader-dst:push" in result.err
    assert token_alice.head_manifest("bearer/reader-dst", "v1") is None


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_token_service_refuses_a_wrong_password(token_registry, token_issuer, cli, debug):
    mark = token_issuer.mark()
    extra = ["--debug"] if debug else []
    wrong = ["--username", "alice", "--password", WRONG_PASSWORD]
    result = cli("tags", f"{token_registry.host}/bearer/app", *wrong, *extra)
    assert result.code == 3
    assert "refused the credentials of alice (from command line)" in result.err
    assert [r.status for r in token_issuer.since(mark)] == [401]
    _secrets_absent(result, WRONG_PASSWORD)


def test_anonymous_access_to_the_token_registry_hints_at_credentials(token_registry, token_issuer, cli):
    mark = token_issuer.mark()
    result = cli("tags", f"{token_registry.host}/bearer/app")
    assert result.code == 3
    assert "refused anonymous access" in result.err
    assert "--username/--password" in result.err and "CI_TAGS_REGISTRY_USER" in result.err
    assert [(r.user, r.status) for r in token_issuer.since(mark)] == [(None, 401)]


def test_anonymous_token_with_an_empty_grant_hints_at_credentials(token_registry, token_issuer, cli, monkeypatch):
    # GitLab and Docker Hub hand anonymous clients a token that grants nothing on a private repository.
    monkeypatch.setattr(token_issuer, "allow_anonymous", True)
    mark = token_issuer.mark()
    result = cli("tags", f"{token_registry.host}/bearer/app")
    assert result.code == 3
    assert "granted less than asked anonymously: missing repository:bearer/app:pull" in result.err
    assert "--username/--password" in result.err
    assert {(r.user, r.status, r.access) for r in token_issuer.since(mark)} == {(None, 200, ())}


# -- GitLab CI -----------------------------------------------------------------------------------------------------


def test_gitlab_ci_registry_credentials_are_used_for_their_host(token_alice, token_registry, token_issuer, cli):
    pushed = push_image(token_alice, "gitlab/project", "v1")
    env = {
        "CI_REGISTRY": token_registry.host,
        "CI_REGISTRY_USER": "gitlab-ci-token",
        "CI_REGISTRY_PASSWORD": TOKEN_USERS["gitlab-ci-token"],
    }
    mark = token_issuer.mark()
    result = cli("retag", f"{token_registry.host}/gitlab/project:v1", "pipeline-1", env=env)
    assert result.code == 0, result.err
    assert [r.user for r in token_issuer.since(mark)] == ["gitlab-ci-token"]
    assert token_alice.head_manifest("gitlab/project", "pipeline-1") == pushed.manifest.digest


def test_gitlab_ci_registry_credentials_are_not_sent_to_another_host(token_registry, token_issuer, cli):
    env = {
        "CI_REGISTRY": "registry.gitlab.example.com",
        "CI_REGISTRY_USER": "gitlab-ci-token",
        "CI_REGISTRY_PASSWORD": TOKEN_USERS["gitlab-ci-token"],
    }
    mark = token_issuer.mark()
    result = cli("tags", f"{token_registry.host}/gitlab/project", env=env)
    assert result.code == 3
    assert "refused anonymous access" in result.err
    assert [r.user for r in token_issuer.since(mark)] == [None]


def _expire_cached_token(registry: Registry, issuer, scopes: list[str]) -> None:
    """Replace the cached token with one the registry refuses although our cache still deems it fresh."""
    key = frozenset(scopes)
    _, deadline, missing = registry.auth._tokens[key]
    access = [{"type": "repository", "name": s.split(":")[1], "actions": s.split(":")[2].split(",")} for s in scopes]
    registry.auth._tokens[key] = (issuer.sign("alice", access, expires_in=-120), deadline, missing)


def test_concurrent_requests_that_all_meet_an_expired_token_all_recover(token_alice, token_registry, token_issuer):
    repo = "bearer/concurrent-expiry"
    pushed = push_image(token_alice, repo, "t0")
    tags = [f"t{i}" for i in range(8)]
    for tag in tags[1:]:
        token_alice.put_manifest(repo, tag, pushed.manifest)
    scopes = [scope(repo, "pull")]
    assert sorted(token_alice.tags(repo)) == tags
    _expire_cached_token(token_alice, token_issuer, scopes)
    digests, errors = resolve_tags(token_alice, repo, tags, concurrency=8)
    assert errors == {}
    assert digests == dict.fromkeys(tags, pushed.manifest.digest)


def test_a_second_request_refused_with_the_same_expired_token_is_retried(token_alice, token_registry, token_issuer):
    # The interleaving of two threads, made deterministic: both send the stale token, both get a 401.
    repo = "bearer/two-refusals"
    push_image(token_alice, repo, "v1")
    scopes = [scope(repo, "pull")]
    assert token_alice.tags(repo) == ["v1"]
    _expire_cached_token(token_alice, token_issuer, scopes)
    url = f"{token_registry.url}/v2/{repo}/tags/list"
    first, second = token_alice.auth.header(scopes), token_alice.auth.header(scopes)
    refused = [token_alice.http.request("GET", url, headers=h) for h in (first, second)]
    assert [r.status_code for r in refused] == [401, 401]
    assert [token_alice.auth.unauthorized(r.headers["WWW-Authenticate"], scopes, h["Authorization"])
            for r, h in zip(refused, (first, second), strict=True)] == [True, True]
    retried = token_alice.http.request("GET", url, headers=token_alice.auth.header(scopes))
    assert retried.status_code == 200 and retried.json()["tags"] == ["v1"]


# -- credentials stay with their registry ---------------------------------------------------------------------------


@pytest.fixture
def other_origin() -> Iterator[tuple[str, list[str | None]]]:
    """A plain-HTTP server on another port: its URL, and the Authorization header of each request it got."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str | None] = []

    class Recorder(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization"))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    other = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{other.server_address[1]}", seen
    other.shutdown()
    other.server_close()


def test_credentials_never_go_to_another_origin(basic_alice, other_origin):
    """An upload Location or a Link header may name another host (or plain http behind a TLS proxy): a request
    there carries no Authorization, even after the registry's own challenge taught the client Basic."""
    other, seen = other_origin
    basic_alice.request("GET", "/v2/", [], expect=(200,))  # learns Basic from the registry's 401
    assert basic_alice.auth.header([])  # and would send it to the registry itself
    url = f"{other}/v2/elsewhere/blobs/uploads/x"
    basic_alice.request("GET", url, [scope("elsewhere", "push")], expect=(200,))
    assert seen == [None]


def test_debug_trace_drops_user_information_from_urls():
    from ci_tags.oci.http import _redact

    assert _redact("https://bot:S3cret@gitlab.example.com/api/v4?private_token=abc&page=2") == (
        "https://gitlab.example.com/api/v4?private_token=***&page=2")
