"""What every command receives: the environment (a mapping, never read deeper down), the output, the registry
options of the command line, and the registries of this process, created on first use over one connection pool."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ci_tags.output import Output

if TYPE_CHECKING:
    from ci_tags.oci.client import Registries

DEFAULT_CONCURRENCY = 8


@dataclass(frozen=True)
class RegistryOptions:
    """The options of every command that talks to registries (cli.registry_options), typed."""

    insecure: tuple[str, ...] = ()
    username: str | None = None
    password: str | None = None
    ca_certs: tuple[str, ...] = ()
    concurrency: int = DEFAULT_CONCURRENCY

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> RegistryOptions:
        return cls(
            insecure=tuple(getattr(args, "insecure_registry", None) or ()),
            username=getattr(args, "username", None),
            password=getattr(args, "password", None),
            ca_certs=tuple(getattr(args, "ca_cert", None) or ()),
            concurrency=max(1, int(getattr(args, "concurrency", None) or DEFAULT_CONCURRENCY)),
        )


@dataclass
class Context:
    env: Mapping[str, str]
    out: Output
    registry: RegistryOptions = field(default_factory=RegistryOptions)
    _registries: Registries | None = field(default=None, repr=False)
    _targets: set[str] = field(default_factory=set, repr=False)

    def aim(self, host: str) -> None:
        """Declare ``host`` a target registry of the command: the explicit credentials are for it."""
        self._targets.add(host)
        if self._registries is not None:
            self._registries.targets.add(host)

    @property
    def concurrency(self) -> int:
        return self.registry.concurrency

    @property
    def registries(self) -> Registries:
        if self._registries is None:
            from ci_tags.oci.client import Registries
            from ci_tags.oci.http import Http
            from ci_tags.oci.trust import Trust

            trust = Trust(self.env, ca_cert=self.registry.ca_certs)
            http = Http(pool_size=max(16, self.concurrency * 2), trust=trust)
            self._registries = Registries(
                http,
                self.env,
                insecure=self.registry.insecure,
                username=self.registry.username,
                password=self.registry.password,
            )
            self._registries.targets |= self._targets
        return self._registries

    def close(self) -> None:
        if self._registries is not None:
            self._registries.http.close()
