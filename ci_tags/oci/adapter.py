"""The one requests adapter of ci-tags' HTTP path: HTTPS connections verified with the TLS context of their host,
and every request sent through the transport that owns retries, timeouts and the debug trace
(ci_tags/oci/http.py). Imported when the first session is made (requests is slow to import)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter

from ci_tags.oci.trust import Trust

Timeout = float | tuple[float, float] | tuple[float, None] | None
Cert = bytes | str | tuple[bytes | str, bytes | str] | None


class Transport(Protocol):
    """Sends a request, through ``send_once`` (one attempt with the given options) as often as it decides."""

    def send(self, request: PreparedRequest, options: dict[str, Any],
             send_once: Callable[[dict[str, Any]], Response]) -> Response: ...


class TrustingAdapter(HTTPAdapter):
    """An HTTPAdapter whose HTTPS connections verify with the TLS context of their host (system store + the
    host's CAs), whatever ``verify`` requests derived from the process environment (REQUESTS_CA_BUNDLE is in the
    host's trust already, read from the mapping ci-tags was given), and whose every request goes through
    ``transport.send``."""

    def __init__(self, trust: Trust, transport: Transport | None = None, *, pool_size: int = 10) -> None:
        self.trust = trust
        self.transport = transport
        super().__init__(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)

    def send(self, request: PreparedRequest, stream: bool = False, timeout: Timeout = None,
             verify: bool | str = True, cert: Cert = None, proxies: Mapping[str, str] | None = None) -> Response:
        options: dict[str, Any] = {"stream": stream, "timeout": timeout, "verify": verify, "cert": cert,
                                   "proxies": proxies}

        def send_once(opts: dict[str, Any]) -> Response:
            return super(TrustingAdapter, self).send(request, **opts)

        if self.transport is None:
            return send_once(options)
        return self.transport.send(request, options, send_once)

    def build_connection_pool_key_attributes(self, request: PreparedRequest, verify: bool | str,
                                             cert: str | tuple[str, str] | None = None) -> tuple[Any, Any]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, True, cert)
        if host_params.get("scheme") == "https":
            host = host_params["host"]
            if ":" in host:  # an IPv6 literal, written in brackets in references
                host = f"[{host}]"
            port = host_params.get("port")
            name = f"{host}:{port}" if port and port != 443 else host
            pool_kwargs.pop("ca_certs", None)
            pool_kwargs.pop("ca_cert_dir", None)
            pool_kwargs["ssl_context"] = self.trust.context(name)
            pool_kwargs["cert_reqs"] = "CERT_REQUIRED"
        return host_params, pool_kwargs

    def cert_verify(self, conn: Any, url: str, verify: bool | str, cert: Cert) -> None:
        # The pool's context decides what is trusted; requests would load its own bundle into it on every
        # connection.
        if url.lower().startswith("https"):
            conn.cert_reqs = "CERT_REQUIRED"
            conn.ca_certs = None
            conn.ca_cert_dir = None
