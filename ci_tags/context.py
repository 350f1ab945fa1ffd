"""What every command receives: the environment (a mapping, never read deeper down), the output, the registry
options of the command line, and the registries of this process, created on first use over one connection pool."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ci_tags.flags import flag
from ci_tags.output import Output

if TYPE_CHECKING:
    from ci_tags.oci.registries import Registries

DEFAULT_CONCURRENCY = 8


@dataclass(frozen=True, kw_only=True)
class RegistryOptions:
    """The options of every command that talks to registries (before the command's own in its --help)."""

    insecure: tuple[str, ...] = flag("--insecure-registry", default=(), metavar="HOST[:PORT]",
                                     help="allow plain HTTP to this registry (loopback registries always may)",
                                     env="CI_TAGS_INSECURE_REGISTRIES")
    username: str | None = flag("--username", help="user for the command's target registry",
                                env="CI_TAGS_REGISTRY_USER")
    password: str | None = flag("--password", env="CI_TAGS_REGISTRY_PASSWORD", help="password or token for it "
                                "(visible in ps: prefer --password-stdin or env CI_TAGS_REGISTRY_PASSWORD)")
    password_stdin: bool = flag("--password-stdin", default=False, help="read the password from standard input")
    ca_certs: tuple[str, ...] = flag("--ca-cert", default=(), metavar="FILE",
                                     help="also trust this CA (PEM) for TLS, on top of the system store and certs.d")
    concurrency: int = flag("--concurrency", default=DEFAULT_CONCURRENCY,
                            convert=lambda n: max(1, n or DEFAULT_CONCURRENCY),
                            help=f"requests in flight at once (default {DEFAULT_CONCURRENCY})")


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
            from ci_tags.oci.http import Http
            from ci_tags.oci.registries import Registries
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
