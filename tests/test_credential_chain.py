"""The credential chain end to end, against the real registries: each host its own credentials in one command,
the explicit ones only for the command's target, --password-stdin, and no secret in any output with --debug."""

from __future__ import annotations

import base64
import json

from ci_tags.oci.http import Http
from ci_tags.oci.registries import Registries
from tests.support.auth import BASIC_USERS, TOKEN_USERS
from tests.support.images import push_image

JOB_TOKEN = TOKEN_USERS["gitlab-ci-token"]


def _no_secret(text: str, token_issuer, *secrets: tuple[str, str]) -> None:
    for user, password in secrets:
        assert password not in text
        assert base64.b64encode(f"{user}:{password}".encode()).decode() not in text
    for token in token_issuer.issued:
        assert token not in text and token.split(".")[2] not in text


def test_cross_registry_retag_uses_each_hosts_own_credentials(clean_env, cli, basic_registry, token_registry,
                                                              token_issuer):
    """Source: a Basic-auth registry named in DOCKER_AUTH_CONFIG; destination: the job's registry (CI_REGISTRY)
    with GitLab's job token. Neither set of credentials may reach the other host."""
    regs = Registries(Http(), clean_env, username="alice", password=BASIC_USERS["alice"])
    pushed = push_image(regs.get(basic_registry.host), "private/base", "v1", layers=2)
    regs.http.close()
    basic_auth = base64.b64encode(f"alice:{BASIC_USERS['alice']}".encode()).decode()
    env = {
        "DOCKER_AUTH_CONFIG": json.dumps({"auths": {basic_registry.host: {"auth": basic_auth}}}),
        "CI_REGISTRY": token_registry.host,
        "CI_REGISTRY_USER": "gitlab-ci-token",
        "CI_REGISTRY_PASSWORD": JOB_TOKEN,
        "CI_JOB_TOKEN": JOB_TOKEN,
    }
    mark = token_issuer.mark()
    result = cli("retag", f"{basic_registry.host}/private/base:v1", f"{token_registry.host}/gitlab/project/base:v1",
                 "--debug", env=env)
    assert result.code == 0, result.err
    assert result.out.strip().endswith(pushed.manifest.digest)
    assert f"credentials for {basic_registry.host}: alice (from DOCKER_AUTH_CONFIG)" in result.err
    assert f"credentials for {token_registry.host}: gitlab-ci-token (from CI_REGISTRY_USER)" in result.err
    assert {r.user for r in token_issuer.since(mark)} == {"gitlab-ci-token"}
    _no_secret(result.out + result.err, token_issuer, ("alice", BASIC_USERS["alice"]),
               ("gitlab-ci-token", JOB_TOKEN))


def test_explicit_credentials_go_to_the_destination_only(clean_env, cli, registry, reg, basic_registry):
    push_image(reg, "explicit/src", "v1")
    result = cli("retag", f"{registry.host}/explicit/src:v1", f"{basic_registry.host}/explicit/dst:v1", "--debug",
                 "--username", "alice", "--password-stdin", stdin=BASIC_USERS["alice"] + "\n")
    assert result.code == 0, result.err
    assert f"credentials for {registry.host}: none (anonymous)" in result.err
    assert f"credentials for {basic_registry.host}: alice (from command line)" in result.err
    assert BASIC_USERS["alice"] not in result.err + result.out


def test_password_stdin_and_password_exclude_each_other(cli, basic_registry):
    result = cli("tags", f"{basic_registry.host}/x/y", "--username", "alice", "--password", "pw", "--password-stdin",
                 stdin="pw\n")
    assert result.code == 2
    assert "--password and --password-stdin exclude each other" in result.err


def test_an_empty_password_on_stdin_is_bad_input(cli, basic_registry):
    result = cli("tags", f"{basic_registry.host}/x/y", "--username", "alice", "--password-stdin", stdin="\n")
    assert result.code == 2
    assert "empty password" in result.err
