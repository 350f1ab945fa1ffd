"""What every command receives: the environment (a mapping, never read deeper down), the output, and the
registries of this process, created on first use over one connection pool."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ci_tags.output import Output

if TYPE_CHECKING:
    from ci_tags.oci.client import Registries


@dataclass
class Context:
    env: Mapping[str, str]
    out: Output
    args: argparse.Namespace
    _registries: Registries | None = field(default=None, repr=False)
    _targets: set[str] = field(default_factory=set, repr=False)

    def aim(self, host: str) -> None:
        """Declare ``host`` a target registry of the command: the explicit credentials are for it."""
        self._targets.add(host)
        if self._registries is not None:
            self._registries.targets.add(host)

    @property
    def concurrency(self) -> int:
        return max(1, int(getattr(self.args, "concurrency", 8) or 8))

    @property
    def registries(self) -> Registries:
        if self._registries is None:
            from ci_tags.oci.client import Registries
            from ci_tags.oci.http import Http
            from ci_tags.oci.trust import Trust

            trust = Trust(self.env, ca_cert=getattr(self.args, "ca_cert", None) or ())
            http = Http(pool_size=max(16, self.concurrency * 2), trust=trust)
            self._registries = Registries(
                http,
                self.env,
                insecure=getattr(self.args, "insecure_registry", None) or (),
                username=getattr(self.args, "username", None),
                password=getattr(self.args, "password", None),
            )
            self._registries.targets |= self._targets
        return self._registries

    def close(self) -> None:
        if self._registries is not None:
            self._registries.http.close()
