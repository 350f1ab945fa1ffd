"""What a builder needs to reach the registries of a build: credentials and trust, handed over without a login
step and without a secret on any command line.

For the length of one build, a private temporary folder (mode 0700) holds:
- ``auth.json`` (buildah, podman: ``REGISTRY_AUTH_FILE``) or ``config.json`` (docker: ``DOCKER_CONFIG``, with the
  user's other Docker files linked next to it, so buildx finds its plugins and builders), mode 0600: the user's
  own auth files merged under the credentials ci-tags resolved for every registry the build touches
  (ci_tags/oci/authfile.py). The user's files are only read.
- ``certs/`` (buildah, podman: ``--cert-dir``), when ci-tags trusts CAs that the builder would not find by itself
  in certs.d (``--ca-cert``, ``SSL_CERT_FILE``, ``REQUESTS_CA_BUNDLE``): those, with the certs.d CAs of every
  registry of the build, since ``--cert-dir`` replaces the builder's per-host lookup.
The folder is removed when the build ends, whatever the outcome.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ci_tags.oci.authfile import merged_auth_config
from ci_tags.oci.credentials import (
    Credentials,
    containers_auth_path,
    docker_auth_config,
    docker_config_dir,
    read_json,
)
from ci_tags.oci.trust import Trust


@dataclass(frozen=True)
class RegistryAccess:
    env: dict[str, str] = field(default_factory=dict)  # added to the builder's environment
    cert_dir: Path | None = None


def _write_private(path: Path, document: Mapping[str, Any]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(document, handle)


def _user_configs(env: Mapping[str, str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The user's auth documents, lowest precedence first, and their Docker config (for its other keys)."""
    docker_dir = docker_config_dir(env)
    docker = (read_json(docker_dir / "config.json") if docker_dir else None) or {}
    containers_path = containers_auth_path(env)
    containers = (read_json(containers_path) if containers_path else None) or {}
    return [docker, containers, docker_auth_config(env) or {}], docker


@contextmanager
def registry_access(
    builder: str,
    env: Mapping[str, str],
    credentials: Mapping[str, Credentials],
    trust: Trust,
    hosts: Sequence[str],
) -> Iterator[RegistryAccess]:
    """Credentials (for the hosts in ``credentials``) and trust (for ``hosts``) for one build by ``builder``."""
    folder = Path(tempfile.mkdtemp(prefix="ci-tags-access-"))  # mode 0700
    try:
        configs, docker = _user_configs(env)
        document = merged_auth_config(configs, credentials)
        added: dict[str, str] = {}
        if builder == "docker":
            rest = {k: v for k, v in docker.items() if k not in ("auths", "credHelpers", "credsStore")}
            _write_private(folder / "config.json", {**rest, **document})
            docker_dir = docker_config_dir(env)
            if docker_dir and docker_dir.is_dir():
                for entry in docker_dir.iterdir():
                    if entry.name != "config.json":
                        (folder / entry.name).symlink_to(entry)
            added["DOCKER_CONFIG"] = str(folder)
        else:
            _write_private(folder / "auth.json", document)
            added["REGISTRY_AUTH_FILE"] = str(folder / "auth.json")
        cert_dir = None
        if trust.global_files and builder != "docker":
            cert_dir = folder / "certs"
            cert_dir.mkdir()
            files = [f for h in hosts for f in trust.certs_d_files(h)] + trust.global_files
            for number, path in enumerate(dict.fromkeys(files)):
                shutil.copyfile(path, cert_dir / f"{number:02d}-{path.stem}.crt")
        yield RegistryAccess(added, cert_dir)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
