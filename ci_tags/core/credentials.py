"""A registry login as data: where it came from is ci_tags/oci/credentials.py's chain (or an input file's)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Credentials:
    """A user name and a secret; the secret never shows in ``repr`` or ``str``."""

    username: str
    password: str = field(repr=False)
    source: str = ""

    def __str__(self) -> str:
        return f"{self.username} (from {self.source})"
