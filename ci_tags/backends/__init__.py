"""What differs per registry service for listing repositories and tags and removing one tag: any OCI registry
(oci.py), GitLab's registry API (gitlab.py), Docker Hub's API (dockerhub.py), Quay's (quay.py), Harbor's
(harbor.py), GitHub's packages API for ghcr.io (ghcr.py), behind one interface (base.py); what the service
backends share to speak HTTP is api.py, the probes ``auto`` sends to a self-hosted Quay or Harbor probe.py.

Every backend is described once, in :data:`BACKENDS`: its name (``--backend NAME``), the module that builds it,
the API it speaks (for people), the hosts ``--backend auto`` sends to it, and what it can do
(:class:`Capability`). A backend module has ``build(where) -> Backend`` and may have ``serves(where) -> bool``,
which ``auto`` asks, in the table's order, for a host no row names (GitLab: the job's registry in GitLab CI with
a token). Adding a backend is one module plus one row here. Each module is imported only when consulted, and
python-gitlab only when the GitLab backend is built: it is slow to import.
"""

from __future__ import annotations

import enum
import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ci_tags.core.hosts import DOCKER_HUB_API_URL, DOCKER_HUB_HOSTS
from ci_tags.errors import BadInput

if TYPE_CHECKING:
    from ci_tags.backends.base import Backend
    from ci_tags.oci.registries import Registries

class Capability(enum.Flag):
    """What a backend can do beyond listing tags and removing one; a row's capabilities are these or'ed."""

    LISTS_NAMESPACES = enum.auto()  # repositories(namespace, prefix) lists a namespace (prune needs it)
    DATES_TAGS = enum.auto()  # tags() carries push or creation times, so the janitor dates tags by the service
    # delete_tag removes exactly that tag through the service's API; without it the janitor works through the
    # registry API itself (stamps, digests and the safe untag: ci_tags/services/janitor/registry_api.py)
    DELETES_BY_TAG = enum.auto()
    # a manifest may be read through the registry API to read ci-tags' stamps (Docker Hub counts every manifest
    # GET as a pull against its rate limit: there the janitor trusts the listing's digests alone)
    READS_STAMPS = enum.auto()
    EXPIRES_TAGS = enum.auto()  # expire(repository, tag, when): the service removes the tag by itself then (Quay)


LISTS_NAMESPACES, DATES_TAGS, DELETES_BY_TAG, READS_STAMPS, EXPIRES_TAGS = (
    Capability.LISTS_NAMESPACES, Capability.DATES_TAGS, Capability.DELETES_BY_TAG, Capability.READS_STAMPS,
    Capability.EXPIRES_TAGS)


@dataclass(frozen=True)
class BackendSpec:
    name: str
    module: str  # has build(where) -> Backend, and may have serves(where) -> bool
    api: str  # the API it speaks, for people ("Docker Hub API")
    capabilities: Capability
    hosts: frozenset[str] = frozenset()  # ``auto`` picks it for these hosts


@dataclass(frozen=True)
class Where:
    """What a backend is built from: the registry host and the options and environment of the command (made
    from them in one place, ci_tags/commands/options.backend_from_options). ``gitlab_token``: a library caller's
    token; a command's comes from the environment (CI_TAGS_GITLAB_TOKEN, CI_JOB_TOKEN)."""

    host: str
    registries: Registries
    env: Mapping[str, str]
    username: str | None = None
    password: str | None = None
    gitlab_url: str | None = None
    gitlab_token: str | None = None
    hub_url: str = DOCKER_HUB_API_URL
    concurrency: int = 8  # the command's --concurrency: the requests a backend sends at once


# name -> spec; ``auto`` asks the rows in this order and falls back to FALLBACK
BACKENDS: dict[str, BackendSpec] = {
    "dockerhub": BackendSpec("dockerhub", "ci_tags.backends.dockerhub", "Docker Hub API",
                             LISTS_NAMESPACES | DATES_TAGS | DELETES_BY_TAG, DOCKER_HUB_HOSTS),
    "gitlab": BackendSpec("gitlab", "ci_tags.backends.gitlab", "GitLab registry API",
                          LISTS_NAMESPACES | DATES_TAGS | DELETES_BY_TAG | READS_STAMPS),
    "quay": BackendSpec("quay", "ci_tags.backends.quay", "Quay API",
                        LISTS_NAMESPACES | DATES_TAGS | DELETES_BY_TAG | READS_STAMPS | EXPIRES_TAGS),
    "harbor": BackendSpec("harbor", "ci_tags.backends.harbor", "Harbor API",
                          LISTS_NAMESPACES | DATES_TAGS | DELETES_BY_TAG | READS_STAMPS),
    "ghcr": BackendSpec("ghcr", "ci_tags.backends.ghcr", "GitHub packages API",
                        LISTS_NAMESPACES | DATES_TAGS | DELETES_BY_TAG | READS_STAMPS, frozenset({"ghcr.io"})),
    "oci": BackendSpec("oci", "ci_tags.backends.oci", "registry API", LISTS_NAMESPACES | READS_STAMPS),
}
FALLBACK = "oci"  # any registry speaks the registry API


def kinds() -> tuple[str, ...]:
    """The values of ``--backend``: auto, then every backend of the table."""
    return ("auto", *BACKENDS)


def spec_of(backend: Backend) -> BackendSpec:
    """The table's row of a built backend."""
    return BACKENDS[backend.name]


def has(backend: Backend, capability: Capability) -> bool:
    """Whether the backend's row has ``capability`` (every one of them, when several are or'ed)."""
    return capability in spec_of(backend).capabilities


def _pick(where: Where) -> BackendSpec:
    """``auto``: the first row naming the host, else the first whose module serves it, else the fallback."""
    for spec in BACKENDS.values():
        if where.host in spec.hosts:
            return spec
    for spec in BACKENDS.values():
        serves = getattr(importlib.import_module(spec.module), "serves", None)
        if spec.name != FALLBACK and serves is not None and serves(where):
            return spec
    return BACKENDS[FALLBACK]


def backend_for(kind: str, where: Where) -> Backend:
    """The backend for the registry ``where.host``: the one named by ``kind``, or with "auto" the one the table
    picks:

    - Docker Hub (docker.io) -> its API, with the Hub credentials found for docker.io (flags, CI_TAGS_REGISTRY_*,
      the Docker/Podman auth files); without any, BadInput: the registry API can neither list nor untag there;
    - GitLab -> its API when asked for with ``gitlab_url``, or in GitLab CI (GITLAB_CI) for the job's registry
      (``host`` == CI_REGISTRY), when a token is at hand: ``gitlab_token``, CI_TAGS_GITLAB_TOKEN or CI_JOB_TOKEN;
    - quay.io with CI_TAGS_QUAY_TOKEN -> Quay's API (without one, the registry API: it can untag there, but
      dates tags by their images); ghcr.io -> GitHub's packages API (CI_TAGS_GITHUB_TOKEN or GITHUB_TOKEN;
      without one, BadInput: ghcr.io refuses the registry API's DELETE); a self-hosted Quay (with a Quay token)
      or Harbor (with registry credentials) is recognized by one probe of its host;
    - anything else -> the OCI registry API (catalog, tag list, safe untag).

    ``where.concurrency`` (the command's --concurrency) bounds the requests a backend sends at once.
    """
    if kind != "auto" and kind not in BACKENDS:
        raise BadInput(f"unknown backend {kind!r}", hint=f"one of {', '.join(kinds())}")
    spec = _pick(where) if kind == "auto" else BACKENDS[kind]
    backend: Backend = importlib.import_module(spec.module).build(where)
    return backend
