"""Where credentials come from: flags, environment, podman/skopeo auth files, the Docker config and its helpers."""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from ci_tags.errors import BadInput
from ci_tags.oci.credentials import Credentials, find_credentials

HOST = "registry.example.com:5050"


def _auth(user: str, password: str | None = None) -> dict[str, str]:
    return {"auth": base64.b64encode(f"{user}:{password or user + '-S3cret'}".encode()).decode()}


def _write(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


HELPER = """#!/bin/sh
# A fake docker-credential helper: "get" reads the server on stdin; knows one server, as $HELPER_NAME-user.
[ "$1" = get ] || exit 2
server=$(cat)
echo "$server" >> "$HELPER_LOG"
if [ "$server" = "$HELPER_KNOWS" ]; then
  printf '{"ServerURL": "%s", "Username": "%s-user", "Secret": "%s-S3cret"}' "$server" "$HELPER_NAME" "$HELPER_NAME"
else
  echo "credentials not found in native keychain"
  exit 1
fi
"""


@pytest.fixture
def helper_env(tmp_path: Path) -> Callable[..., dict[str, str]]:
    """``helper_env(name, knows=HOST, script=HELPER)`` installs ``docker-credential-<name>`` on a temp PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    env = {"PATH": f"{bin_dir}:{os.environ.get('PATH', '')}", "HELPER_LOG": str(tmp_path / "helper.log")}

    def install(name: str, knows: str = HOST, script: str = HELPER) -> dict[str, str]:
        path = bin_dir / f"docker-credential-{name}"
        path.write_text(script.replace("$HELPER_NAME", name).replace("$HELPER_KNOWS", knows))
        path.chmod(0o755)
        return env

    return install


def _helper_log(env: dict[str, str]) -> list[str]:
    path = Path(env["HELPER_LOG"])
    return path.read_text().splitlines() if path.exists() else []


# -- precedence ----------------------------------------------------------------------------------------------------

LEVELS = ["flags", "ci_tags", "ci_registry", "dependency_proxy", "docker_auth_config", "auth_file", "xdg",
          "docker_config", "home"]
SECRETS = {"ci_registry": "job-token", "dependency_proxy": "proxy-job-token"}


@pytest.fixture
def sources(tmp_path: Path) -> Callable[[Iterable[str]], tuple[dict[str, str], dict[str, str]]]:
    """``sources(levels)`` -> ``(env, flags)`` where each named level holds credentials for HOST as ``<level>``."""

    def build(levels: Iterable[str]) -> tuple[dict[str, str], dict[str, str]]:
        levels = set(levels)
        env: dict[str, str] = {"HOME": str(tmp_path / "home")}
        flags: dict[str, str] = {}
        if "flags" in levels:
            flags = {"username": "flags", "password": "flags-S3cret"}
        if "ci_tags" in levels:
            env |= {"CI_TAGS_REGISTRY_USER": "ci_tags", "CI_TAGS_REGISTRY_PASSWORD": "ci_tags-S3cret"}
        if "ci_registry" in levels:
            env |= {"CI_REGISTRY": HOST, "CI_REGISTRY_USER": "ci_registry", "CI_REGISTRY_PASSWORD": "job-token"}
        if "dependency_proxy" in levels:  # GitLab writes the server with its port
            env |= {"CI_DEPENDENCY_PROXY_SERVER": f"{HOST}" if ":" in HOST else f"{HOST}:443",
                    "CI_DEPENDENCY_PROXY_USER": "dependency_proxy", "CI_DEPENDENCY_PROXY_PASSWORD": "proxy-job-token"}
        if "docker_auth_config" in levels:
            env["DOCKER_AUTH_CONFIG"] = json.dumps({"auths": {HOST: _auth("docker_auth_config")}})
        if "auth_file" in levels:
            env["REGISTRY_AUTH_FILE"] = str(_write(tmp_path / "auth_file.json", {"auths": {HOST: _auth("auth_file")}}))
        if "xdg" in levels:
            _write(tmp_path / "run" / "containers" / "auth.json", {"auths": {HOST: _auth("xdg")}})
            env["XDG_RUNTIME_DIR"] = str(tmp_path / "run")
        if "docker_config" in levels:
            _write(tmp_path / "docker" / "config.json", {"auths": {HOST: _auth("docker_config")}})
            env["DOCKER_CONFIG"] = str(tmp_path / "docker")
        if "home" in levels:
            _write(tmp_path / "home" / ".docker" / "config.json", {"auths": {HOST: _auth("home")}})
        return env, flags

    return build


@pytest.mark.parametrize("top", range(len(LEVELS)), ids=LEVELS)
def test_the_first_source_in_precedence_order_wins(sources, tmp_path, top):
    env, flags = sources(LEVELS[top:])
    found = find_credentials(HOST, env, **flags)
    assert found is not None
    assert (found.username, found.password) == (LEVELS[top], SECRETS.get(LEVELS[top], f"{LEVELS[top]}-S3cret"))
    expected_source = {
        "flags": "command line",
        "ci_tags": "CI_TAGS_REGISTRY_USER",
        "ci_registry": "CI_REGISTRY_USER",
        "dependency_proxy": "CI_DEPENDENCY_PROXY_USER",
        "docker_auth_config": "DOCKER_AUTH_CONFIG",
        "auth_file": str(tmp_path / "auth_file.json"),
        "xdg": str(tmp_path / "run" / "containers" / "auth.json"),
        "docker_config": str(tmp_path / "docker" / "config.json"),
        "home": str(tmp_path / "home" / ".docker" / "config.json"),
    }[LEVELS[top]]
    assert found.source == expected_source


def test_no_source_means_anonymous(sources):
    env, _ = sources([])
    assert find_credentials(HOST, env) is None
    assert find_credentials(HOST, {}) is None


def test_gitlab_ci_registry_credentials_are_only_for_their_host(sources):
    env, _ = sources(["ci_registry", "docker_config"])
    env["CI_REGISTRY"] = "registry.gitlab.com"
    found = find_credentials(HOST, env)
    assert found is not None and found.username == "docker_config"
    gitlab = find_credentials("registry.gitlab.com", env)
    assert gitlab is not None and (gitlab.username, gitlab.source) == ("ci_registry", "CI_REGISTRY_USER")


def test_explicit_credentials_are_only_for_the_commands_target(sources):
    env, flags = sources(["flags", "ci_tags", "docker_config"])
    other = find_credentials(HOST, env, **flags, target=False)
    assert other is not None and other.username == "docker_config"
    assert find_credentials("elsewhere.example.com", env, **flags, target=False) is None


def test_dependency_proxy_credentials_are_for_its_host_with_or_without_port_443(sources):
    env = {"CI_DEPENDENCY_PROXY_SERVER": "gitlab.example.com:443", "CI_DEPENDENCY_PROXY_USER": "gitlab-ci-token",
           "CI_DEPENDENCY_PROXY_PASSWORD": "proxy-job-token"}
    found = find_credentials("gitlab.example.com", env)
    assert found is not None and found.source == "CI_DEPENDENCY_PROXY_USER"
    assert find_credentials("registry.example.com", env) is None


def test_docker_auth_config_names_hosts_and_may_use_helpers(tmp_path, helper_env):
    env = helper_env("pass", knows="helped.example.com")
    env["DOCKER_AUTH_CONFIG"] = json.dumps({"auths": {"https://private.example.com": _auth("robot", "robot-pw")},
                                            "credHelpers": {"helped.example.com": "pass"}})
    found = find_credentials("private.example.com", env)
    assert found is not None and (found.username, found.password, found.source) == (
        "robot", "robot-pw", "DOCKER_AUTH_CONFIG")
    helped = find_credentials("helped.example.com", env)
    assert helped is not None and helped.username == "pass-user"
    assert find_credentials("public.example.com", env) is None


def test_docker_auth_config_that_is_not_json_is_bad_input_without_its_text():
    with pytest.raises(BadInput) as raised:
        find_credentials(HOST, {"DOCKER_AUTH_CONFIG": '{"auths": {"x": "S3cret-in-broken-json"'})
    assert "DOCKER_AUTH_CONFIG is not valid JSON" in str(raised.value)
    assert "S3cret" not in str(raised.value)


def test_registry_auth_file_replaces_the_xdg_file_but_not_the_docker_config(sources, tmp_path):
    env, _ = sources(["xdg", "docker_config"])
    env["REGISTRY_AUTH_FILE"] = str(_write(tmp_path / "other.json", {"auths": {"elsewhere.example.com": _auth("x")}}))
    found = find_credentials(HOST, env)
    assert found is not None and found.username == "docker_config"


def test_a_missing_auth_file_is_skipped(sources, tmp_path):
    env, _ = sources(["docker_config"])
    env["REGISTRY_AUTH_FILE"] = str(tmp_path / "does-not-exist.json")
    found = find_credentials(HOST, env)
    assert found is not None and found.username == "docker_config"


def test_half_given_flags_are_bad_input(sources):
    env, _ = sources(["docker_config"])
    with pytest.raises(BadInput, match="--username and --password go together"):
        find_credentials(HOST, env, username="someone")


def test_flags_win_even_over_a_broken_docker_config(tmp_path):
    _write(tmp_path / "docker" / "config.json", "{not json")
    found = find_credentials(HOST, {"DOCKER_CONFIG": str(tmp_path / "docker")}, username="u", password="p")
    assert found == Credentials("u", "p", "command line")


# -- keys of the auths table ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", [HOST, f"https://{HOST}", f"http://{HOST}", f"https://{HOST}/v2/", f"{HOST}/group/project"]
)
def test_auths_keyed_by_host_or_url(tmp_path, key):
    config = _write(tmp_path / "config.json", {"auths": {key: _auth("keyed")}})
    found = find_credentials(HOST, {"DOCKER_CONFIG": str(config.parent)})
    assert found is not None and (found.username, found.password) == ("keyed", "keyed-S3cret")


@pytest.mark.parametrize("key", ["registry.example.com", "registry.example.com:5051", "other.example.com:5050"])
def test_auths_for_another_host_or_port_are_not_used(tmp_path, key):
    config = _write(tmp_path / "config.json", {"auths": {key: _auth("other")}})
    assert find_credentials(HOST, {"DOCKER_CONFIG": str(config.parent)}) is None


@pytest.mark.parametrize("key", ["https://index.docker.io/v1/", "docker.io", "index.docker.io"])
def test_docker_hub_keys(tmp_path, key):
    config = _write(tmp_path / "config.json", {"auths": {key: _auth("hub")}})
    env = {"DOCKER_CONFIG": str(config.parent)}
    found = find_credentials("registry-1.docker.io", env)
    assert found is not None and found.username == "hub"
    assert find_credentials("ghcr.io", env) is None


def test_podman_auth_file_with_username_and_password_fields(tmp_path):
    path = _write(tmp_path / "auth.json", {"auths": {HOST: {"username": "pod", "password": "pod-S3cret"}}})
    found = find_credentials(HOST, {"REGISTRY_AUTH_FILE": str(path)})
    assert found is not None and (found.username, found.password) == ("pod", "pod-S3cret")


# -- credential helpers --------------------------------------------------------------------------------------------


def test_cred_helpers_beat_auths_and_creds_store(tmp_path, helper_env):
    env = helper_env("test")
    helper_env("store")
    _write(
        tmp_path / "docker" / "config.json",
        {"credHelpers": {HOST: "test"}, "credsStore": "store", "auths": {HOST: _auth("file")}},
    )
    found = find_credentials(HOST, {**env, "DOCKER_CONFIG": str(tmp_path / "docker")})
    assert found is not None
    assert (found.username, found.password, found.source) == ("test-user", "test-S3cret", "docker-credential-test")
    assert _helper_log(env) == [HOST]  # the host went in on stdin; the store was never asked


def test_creds_store_is_used_for_hosts_without_a_cred_helper(tmp_path, helper_env):
    env = helper_env("store")
    helper_env("test", knows="elsewhere.example.com")
    config = {"credHelpers": {"elsewhere.example.com": "test"}, "credsStore": "store"}
    _write(tmp_path / "docker" / "config.json", config)
    found = find_credentials(HOST, {**env, "DOCKER_CONFIG": str(tmp_path / "docker")})
    assert found is not None and found.username == "store-user"


def test_helper_is_asked_with_docker_hubs_server_url(tmp_path, helper_env):
    env = helper_env("desktop", knows="https://index.docker.io/v1/")
    _write(tmp_path / "docker" / "config.json", {"credsStore": "desktop"})
    found = find_credentials("registry-1.docker.io", {**env, "DOCKER_CONFIG": str(tmp_path / "docker")})
    assert found is not None and found.username == "desktop-user"


def test_a_helper_that_does_not_know_the_host_means_anonymous(tmp_path, helper_env):
    env = helper_env("test", knows="elsewhere.example.com")
    _write(tmp_path / "docker" / "config.json", {"credHelpers": {HOST: "test"}, "auths": {HOST: _auth("file")}})
    assert find_credentials(HOST, {**env, "DOCKER_CONFIG": str(tmp_path / "docker")}) is None
    assert _helper_log(env) == [HOST, f"https://{HOST}", f"http://{HOST}"]


def test_a_helper_not_on_path_is_bad_input(tmp_path, helper_env):
    env = helper_env("test")
    _write(tmp_path / "docker" / "config.json", {"credsStore": "missing"})
    with pytest.raises(BadInput, match=r"docker-credential-missing .*not on PATH"):
        find_credentials(HOST, {**env, "DOCKER_CONFIG": str(tmp_path / "docker")})


@pytest.mark.parametrize("printed", ["oops, not json", "[1, 2]", '"a string"'])
def test_a_helper_printing_no_json_object_is_bad_input(tmp_path, helper_env, printed):
    env = helper_env("odd", script=f"#!/bin/sh\necho '{printed}'\n")
    _write(tmp_path / "docker" / "config.json", {"credsStore": "odd"})
    with pytest.raises(BadInput, match="docker-credential-odd printed something that is not a JSON object"):
        find_credentials(HOST, {**env, "DOCKER_CONFIG": str(tmp_path / "docker")})


# -- broken files --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["auth_file", "xdg", "docker_config"])
def test_malformed_json_is_bad_input_naming_the_file(tmp_path, where):
    paths = {
        "auth_file": tmp_path / "auth.json",
        "xdg": tmp_path / "run" / "containers" / "auth.json",
        "docker_config": tmp_path / "docker" / "config.json",
    }
    env = {
        "auth_file": {"REGISTRY_AUTH_FILE": str(paths["auth_file"])},
        "xdg": {"XDG_RUNTIME_DIR": str(tmp_path / "run")},
        "docker_config": {"DOCKER_CONFIG": str(tmp_path / "docker")},
    }[where]
    _write(paths[where], '{"auths": {\n  "registry.example.com:5050": {"auth": "eA=="},\n}')
    with pytest.raises(BadInput) as raised:
        find_credentials(HOST, env)
    assert str(paths[where]) in str(raised.value)
    assert "not valid JSON (line 3)" in str(raised.value)


def test_an_auth_value_that_is_not_base64_user_password_is_bad_input_naming_the_file(tmp_path):
    bad = base64.b64encode(b"no-colon-here").decode()
    path = _write(tmp_path / "docker" / "config.json", {"auths": {HOST: {"auth": bad}}})
    with pytest.raises(BadInput, match=re.escape(f"credentials in {path} are not base64 'user:password'")):
        find_credentials(HOST, {"DOCKER_CONFIG": str(path.parent)})


def test_a_password_containing_colons_is_kept_whole(tmp_path):
    path = _write(tmp_path / "config.json", {"auths": {HOST: _auth("u", "pa:ss:word")}})
    found = find_credentials(HOST, {"DOCKER_CONFIG": str(path.parent)})
    assert found is not None and (found.username, found.password) == ("u", "pa:ss:word")


# -- secrets stay secret -------------------------------------------------------------------------------------------


def test_credentials_never_show_the_password():
    creds = Credentials("alice", "hunter2-S3cret", "CI_TAGS_REGISTRY_USER")
    for text in (repr(creds), str(creds), f"{creds}", f"{creds!r}", repr([creds]), repr({"c": creds})):
        assert "hunter2-S3cret" not in text
        assert "alice" in text
    assert str(creds) == "alice (from CI_TAGS_REGISTRY_USER)"
