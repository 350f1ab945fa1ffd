"""Which certificate authorities a registry's TLS certificate may chain to, found as the container tools find them.

On top of the system store (OpenSSL's default paths), for a registry ``host[:port]``:

1. ``$HOME/.config/containers/certs.d/<host[:port]>/*.crt``, ``/etc/containers/certs.d/<host[:port]>/*.crt``
   (podman, buildah, skopeo) and ``/etc/docker/certs.d/<host[:port]>/*.crt`` (Docker reads ``ca.crt`` there);
2. ``SSL_CERT_FILE`` and ``REQUESTS_CA_BUNDLE`` (a PEM bundle, for every host);
3. ``--ca-cert FILE`` (for every host the command talks to).

A token service (a Bearer realm on another host) is trusted with what its registry is trusted with, as the
container tools do: they fetch the token over the registry's TLS settings.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from ci_tags.errors import BadInput

CERTS_D = (Path("/etc/containers/certs.d"), Path("/etc/docker/certs.d"))


def certs_d_roots(env: Mapping[str, str], system: Sequence[Path] = CERTS_D) -> list[Path]:
    """The certs.d folders looked in, the user's own first (as containers/image looks)."""
    roots = [Path(env["HOME"]) / ".config" / "containers" / "certs.d"] if env.get("HOME") else []
    return roots + list(system)


def host_ca_files(host: str, roots: Iterable[Path]) -> list[Path]:
    """The CA files certs.d holds for ``host`` (``host:port`` as written in image references)."""
    found: list[Path] = []
    for root in roots:
        folder = root / host
        if folder.is_dir():
            found += sorted(p for p in folder.glob("*.crt") if p.is_file())
    return found


def global_ca_files(env: Mapping[str, str], ca_cert: Sequence[str] = ()) -> list[Path]:
    """CA bundles that apply to every host: SSL_CERT_FILE, REQUESTS_CA_BUNDLE, then --ca-cert."""
    files = [Path(env[v]) for v in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE") if env.get(v)]
    for given in ca_cert:
        path = Path(given)
        if not path.is_file():
            raise BadInput(f"--ca-cert {given}: no such file")
        files.append(path)
    return files


class Trust:
    """The CA files and TLS contexts per registry host, for one process."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        ca_cert: Sequence[str] = (),
        system_certs_d: Sequence[Path] = CERTS_D,
    ) -> None:
        env = env or {}
        self.roots = certs_d_roots(env, system_certs_d)
        self.global_files = global_ca_files(env, ca_cert)
        self._like: dict[str, set[str]] = {}  # host -> hosts whose trust it shares (a realm -> its registry)
        self._contexts: dict[tuple[Path, ...], ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def share(self, host: str, like: str) -> None:
        """Trust ``host`` (a token service) with what ``like`` (its registry) is trusted with, too."""
        with self._lock:
            if host != like:
                self._like.setdefault(host, set()).add(like)

    def extra_files(self, host: str) -> list[Path]:
        """Every CA file trusted for ``host`` on top of the system store."""
        with self._lock:
            hosts = [host, *sorted(self._like.get(host, ()))]
        files = [f for h in hosts for f in host_ca_files(h, self.roots)] + self.global_files
        return list(dict.fromkeys(files))

    def certs_d_files(self, host: str) -> list[Path]:
        return host_ca_files(host, self.roots)

    def context(self, host: str) -> ssl.SSLContext:
        """A verifying TLS context for ``host``: the system store plus its extra CA files (cached)."""
        files = tuple(self.extra_files(host))
        with self._lock:
            ctx = self._contexts.get(files)
        if ctx is not None:
            return ctx
        ctx = ssl.create_default_context()
        for path in files:
            try:
                ctx.load_verify_locations(cafile=str(path))
            except (OSError, ssl.SSLError) as exc:
                raise BadInput(f"cannot use {path} as a CA certificate: {getattr(exc, 'strerror', None) or exc}",
                               hint="a CA file holds PEM certificates") from None
        with self._lock:
            self._contexts.setdefault(files, ctx)
            return self._contexts[files]
