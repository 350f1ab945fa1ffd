"""What every command receives: the environment (a mapping, never read deeper down), the output, and the
registries of this process, created on first use over one connection pool."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ci_tags.output import Output

if TYPE_CHECKING:
    from ci_tags.registry.client import Registries


@dataclass
class Context:
    env: Mapping[str, str]
    out: Output
    args: argparse.Namespace
    _registries: Registries | None = field(default=None, repr=False)

    @property
    def concurrency(self) -> int:
        return max(1, int(getattr(self.args, "concurrency", 8) or 8))

    @property
    def registries(self) -> Registries:
        if self._registries is None:
            from ci_tags.registry.client import Registries
            from ci_tags.registry.http import Http

            http = Http(pool_size=max(16, self.concurrency * 2))
            self._registries = Registries(
                http,
                self.env,
                insecure=getattr(self.args, "insecure_registry", None) or (),
                username=getattr(self.args, "username", None),
                password=getattr(self.args, "password", None),
            )
        return self._registries

    def close(self) -> None:
        if self._registries is not None:
            self._registries.http.close()
