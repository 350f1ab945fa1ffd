"""Where registry credentials come from, per registry host. First match wins, and nothing ever prompts.

1. for the command's own target registry only: ``--username``/``--password`` (or ``--password-stdin``), else
   ``CI_TAGS_REGISTRY_USER``/``CI_TAGS_REGISTRY_PASSWORD``;
2. GitLab's job variables, each for its own host only: ``CI_REGISTRY_USER``/``CI_REGISTRY_PASSWORD`` for the host
   of ``CI_REGISTRY``, ``CI_DEPENDENCY_PROXY_USER``/``CI_DEPENDENCY_PROXY_PASSWORD`` for the host of
   ``CI_DEPENDENCY_PROXY_SERVER``;
3. ``DOCKER_AUTH_CONFIG`` (the text of a Docker config.json, the variable GitLab runners read) for the hosts it
   names;
4. ``REGISTRY_AUTH_FILE``, else ``$XDG_RUNTIME_DIR/containers/auth.json`` (podman, skopeo, buildah);
5. ``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``: ``credHelpers`` for the host, then
   ``credsStore`` (both through the ``docker-credential-<name>`` helper protocol), then ``auths.<host>.auth``.

A command that talks to two registries (a cross-registry retag) thus uses each host's own credentials.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ci_tags.core.credentials import Credentials as Credentials  # the data; this module finds it
from ci_tags.core.hosts import DOCKER_HUB_AUTH_KEYS, is_docker_hub
from ci_tags.errors import BadInput


def _host_keys(registry: str) -> tuple[str, ...]:
    if is_docker_hub(registry):
        return DOCKER_HUB_AUTH_KEYS
    return (registry, f"https://{registry}", f"http://{registry}")


def _normalise_key(key: str) -> str:
    if "://" in key:
        key = key.split("://", 1)[1]
    return key.split("/", 1)[0]


def _lookup(auths: Mapping[str, Any], registry: str) -> Any:
    keys = _host_keys(registry)
    for key in keys:
        if key in auths:
            return auths[key]
    wanted = {_normalise_key(k) for k in keys}
    for key, value in auths.items():
        if _normalise_key(key) in wanted:
            return value
    return None


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise BadInput(f"cannot read credentials file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise BadInput(f"credentials file {path} is not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"credentials file {path} is not valid JSON (line {exc.lineno})") from None
    except RecursionError:
        raise BadInput(f"credentials file {path} is nested too deeply") from None
    return data if isinstance(data, dict) else None


def _decode_auth(entry: Any, source: str) -> Credentials | None:
    if not isinstance(entry, dict):
        return None
    if entry.get("username") and entry.get("password"):
        return Credentials(entry["username"], entry["password"], source)
    raw = entry.get("auth")
    if not raw:
        return None
    try:
        user, sep, password = base64.b64decode(raw).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise BadInput(f"credentials in {source} are not base64 'user:password'") from None
    if not sep:
        raise BadInput(f"credentials in {source} are not base64 'user:password'")
    return Credentials(user, password, source)


def _from_helper(helper: str, registry: str, env: Mapping[str, str]) -> Credentials | None:
    import subprocess  # here: few runs use a helper, and every run's start-up would pay for it

    program = f"docker-credential-{helper}"
    for key in _host_keys(registry):
        try:
            done = subprocess.run(
                [program, "get"],
                input=key,
                capture_output=True,
                text=True,
                timeout=30,
                env=dict(env),
                check=False,
            )
        except FileNotFoundError:
            raise BadInput(f"credential helper {program} named in the Docker config is not on PATH") from None
        except subprocess.TimeoutExpired:
            raise BadInput(f"credential helper {program} did not answer within 30 s") from None
        if done.returncode != 0:
            continue  # "credentials not found": try the next spelling of the host
        try:
            data = json.loads(done.stdout)
        except (json.JSONDecodeError, RecursionError):
            data = None
        if not isinstance(data, dict):
            raise BadInput(f"credential helper {program} printed something that is not a JSON object")
        if data.get("Username") and data.get("Secret"):
            return Credentials(data["Username"], data["Secret"], program)
    return None


def same_host(a: str, b: str) -> bool:
    """Do two registry names (``host[:port]``, maybe with a scheme or path) name one registry? ``:443`` is the
    default port (GitLab's ``CI_DEPENDENCY_PROXY_SERVER`` carries it)."""

    def norm(name: str) -> str:
        name = _normalise_key(name.strip()).lower()
        return name[: -len(":443")] if name.endswith(":443") else name

    return bool(a and b) and norm(a) == norm(b)


def _pair(env: Mapping[str, str], user_var: str, password_var: str) -> Credentials | None:
    if env.get(user_var) and env.get(password_var):
        return Credentials(env[user_var], env[password_var], user_var)
    return None


def _from_docker_config(
    config: Mapping[str, Any], registry: str, env: Mapping[str, str], source: str
) -> Credentials | None:
    """A Docker config.json's answer for ``registry``: its credHelper, else its credsStore, else ``auths``."""
    helper = _lookup(config.get("credHelpers") or {}, registry)
    if isinstance(helper, str) and helper:
        return _from_helper(helper, registry, env)
    store = config.get("credsStore")
    if isinstance(store, str) and store:
        # Docker asks the store whenever one is set; the file's auths are only a fallback for hosts it lacks.
        found = _from_helper(store, registry, env)
        if found:
            return found
    return _decode_auth(_lookup(config.get("auths") or {}, registry), source)


def docker_auth_config(env: Mapping[str, str]) -> dict[str, Any] | None:
    """``DOCKER_AUTH_CONFIG`` parsed (a config.json's text), None when unset; bad JSON is bad input."""
    text = env.get("DOCKER_AUTH_CONFIG", "").strip()
    if not text:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"DOCKER_AUTH_CONFIG is not valid JSON (line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise BadInput("DOCKER_AUTH_CONFIG is not a JSON object like a Docker config.json")
    return data


def containers_auth_path(env: Mapping[str, str]) -> Path | None:
    """The containers auth file podman, buildah and skopeo read: REGISTRY_AUTH_FILE, else XDG's."""
    if env.get("REGISTRY_AUTH_FILE"):
        return Path(env["REGISTRY_AUTH_FILE"])
    if env.get("XDG_RUNTIME_DIR"):
        return Path(env["XDG_RUNTIME_DIR"]) / "containers" / "auth.json"
    return None


def docker_config_dir(env: Mapping[str, str]) -> Path | None:
    if env.get("DOCKER_CONFIG"):
        return Path(env["DOCKER_CONFIG"])
    return Path(env["HOME"]) / ".docker" if env.get("HOME") else None


def read_json(path: Path) -> dict[str, Any] | None:
    """A credentials file's JSON object; None when the file does not exist."""
    return _read_json(path)


def find_credentials(
    registry: str,
    env: Mapping[str, str],
    *,
    username: str | None = None,
    password: str | None = None,
    target: bool = True,
) -> Credentials | None:
    """The credentials to use for ``registry`` (a host[:port]), or None for anonymous access.

    ``target``: the registry is the command's own target, so ``--username``/``--password`` and
    ``CI_TAGS_REGISTRY_*`` apply to it; every other registry gets only what names its host."""
    if target and (username or password):
        if not (username and password):
            raise BadInput("--username and --password go together")
        return Credentials(username, password, "command line")
    if target and env.get("CI_TAGS_REGISTRY_USER") and env.get("CI_TAGS_REGISTRY_PASSWORD"):
        return Credentials(env["CI_TAGS_REGISTRY_USER"], env["CI_TAGS_REGISTRY_PASSWORD"], "CI_TAGS_REGISTRY_USER")
    if same_host(env.get("CI_REGISTRY", ""), registry) and (
        found := _pair(env, "CI_REGISTRY_USER", "CI_REGISTRY_PASSWORD")
    ):
        return found
    if same_host(env.get("CI_DEPENDENCY_PROXY_SERVER", ""), registry) and (
        found := _pair(env, "CI_DEPENDENCY_PROXY_USER", "CI_DEPENDENCY_PROXY_PASSWORD")
    ):
        return found
    auth_config = docker_auth_config(env)
    if auth_config and (found := _from_docker_config(auth_config, registry, env, "DOCKER_AUTH_CONFIG")):
        return found

    path = containers_auth_path(env)
    data = _read_json(path) if path else None
    if path and data:
        found = _decode_auth(_lookup(data.get("auths") or {}, registry), str(path))
        if found:
            return found

    docker_dir = docker_config_dir(env)
    config = _read_json(docker_dir / "config.json") if docker_dir else None
    if not docker_dir or not config:
        return None
    return _from_docker_config(config, registry, env, str(docker_dir / "config.json"))
