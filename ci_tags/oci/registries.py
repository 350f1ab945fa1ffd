"""Every registry one process talks to (:class:`Registries`): one shared HTTP pool, one authenticator and one
:class:`~ci_tags.oci.client.Registry` per host, and whose credentials each host gets."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping

from ci_tags.core.credentials import Credentials
from ci_tags.core.hosts import DOCKER_HUB_HOSTS, is_docker_hub
from ci_tags.core.reference import is_loopback_host
from ci_tags.errors import BadInput
from ci_tags.oci.auth import Authenticator
from ci_tags.oci.client import Registry
from ci_tags.oci.credentials import find_credentials
from ci_tags.oci.http import Http

log = logging.getLogger("ci_tags.registry")


class Registries:
    """Every registry one process talks to: one shared HTTP pool, one authenticator per host.

    ``--username``/``--password`` and ``CI_TAGS_REGISTRY_*`` belong to the command's target registries (declared
    with ``target``; else the first registry the command asks for); every other host uses its own credentials."""

    def __init__(
        self,
        http: Http,
        env: Mapping[str, str],
        *,
        insecure: Iterable[str] = (),
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.http = http
        self.env = env
        self.insecure = {h.strip() for h in insecure if h.strip()}
        self.insecure |= {h.strip() for h in env.get("CI_TAGS_INSECURE_REGISTRIES", "").split(",") if h.strip()}
        self.username = username
        self.password = password
        self.targets: set[str] = set()
        self._by_host: dict[str, Registry] = {}
        self._lock = threading.Lock()

    def plain_http(self, host: str) -> bool:
        """May this host be reached over plain HTTP: loopback registries and those the user named as insecure."""
        return is_loopback_host(host) or host in self.insecure

    def target(self, host: str) -> Registry:
        """The registry a command works on: the explicit credentials are for it."""
        with self._lock:
            self.targets.add(host)
        return self.get(host)

    def credentials(self, host: str) -> Credentials | None:
        """The credentials found for ``host`` through the whole chain (ci_tags/oci/credentials.py)."""
        if self.password and not self.username:
            raise BadInput("--password needs --username")
        target = host in self.targets or (is_docker_hub(host) and bool(DOCKER_HUB_HOSTS & self.targets))
        return find_credentials(host, self.env, username=self.username, password=self.password, target=target)

    def get(self, host: str) -> Registry:
        with self._lock:
            if host not in self._by_host:
                if not self.targets and not self._by_host:
                    self.targets.add(host)  # a command that declared none: its first registry is its target
                self._by_host[host] = self._registry(host, self.credentials(host))
            return self._by_host[host]

    def use_credentials(self, host: str, credentials: Credentials) -> None:
        """Credentials an input file gives for ``host`` (TripleO's ContainerImageRegistryCredentials): they win
        over the usual chain for that host."""
        with self._lock:
            self._by_host[host] = self._registry(host, credentials)

    def _registry(self, host: str, credentials: Credentials | None) -> Registry:
        log.debug("credentials for %s: %s", host, credentials if credentials else "none (anonymous)")
        # --insecure-registry means plain HTTP; a loopback registry tries HTTPS first, as Docker does
        scheme = "http" if host in self.insecure else "https"
        auth = Authenticator(host, credentials, self.http, self.plain_http)
        return Registry(host, self.http, auth, scheme, may_fall_back=is_loopback_host(host))
