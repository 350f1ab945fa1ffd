"""The auth file a builder gets: the user's own auth files merged, under the credentials ci-tags resolved for
the registries the build touches. Pure: dictionaries in, a dictionary out (written by ci_tags/builders/access.py).

Lowest first: the Docker config.json, the containers auth.json, ``DOCKER_AUTH_CONFIG``; then, for each host
resolved, its entry replaces whatever the user's files said for that host (an ``auths`` entry or a credential
helper). ``credsStore`` is not carried over: for the hosts of this build ci-tags asked the store already, and a
store named in the file would shadow every ``auths`` entry for Docker.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from ci_tags.core.credentials import Credentials
from ci_tags.core.hosts import DOCKER_HUB, DOCKER_HUB_V1_KEY, is_docker_hub
from ci_tags.oci.credentials import _host_keys, _normalise_key


def merged_auth_config(
    user_configs: Sequence[Mapping[str, Any]], resolved: Mapping[str, Credentials]
) -> dict[str, Any]:
    """A config.json / auth.json document: ``auths`` (and ``credHelpers`` left for hosts not resolved)."""
    auths: dict[str, Any] = {}
    helpers: dict[str, str] = {}
    for config in user_configs:
        for key, entry in (config.get("auths") or {}).items():
            if isinstance(key, str) and isinstance(entry, dict):
                auths[key] = entry
        for key, helper in (config.get("credHelpers") or {}).items():
            if isinstance(key, str) and isinstance(helper, str):
                helpers[key] = helper
    for host, creds in resolved.items():
        names = {_normalise_key(k) for k in _host_keys(host)}
        auths = {k: v for k, v in auths.items() if _normalise_key(k) not in names}
        helpers = {k: v for k, v in helpers.items() if _normalise_key(k) not in names}
        entry = {"auth": base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()}
        # Docker looks Docker Hub up under its v1 URL, the containers tools under docker.io
        for key in (DOCKER_HUB_V1_KEY, DOCKER_HUB) if is_docker_hub(host) else (host,):
            auths[key] = entry
    document: dict[str, Any] = {"auths": auths}
    if helpers:
        document["credHelpers"] = helpers
    return document
