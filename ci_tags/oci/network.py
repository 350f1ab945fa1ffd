"""Connections: TLS verified with each host's own trust, and a failed connection classified by its cause.

requests wraps the socket's error in two or three layers (ConnectionError > MaxRetryError > NewConnectionError >
the OSError); the cause a user can act on is at the bottom. Classifying it lets the HTTP layer skip retries that
cannot help and say in one line what to fix.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator

from ci_tags.errors import Unreachable

# What OpenSSL says when the server answered the ClientHello with something that is not TLS (plain HTTP).
_NOT_TLS = ("wrong_version_number", "wrong version number", "record layer failure", "packet length too long",
            "unknown protocol", "http_request", "record_layer_failure")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and what it wraps: ``args`` holding exceptions, ``reason`` (urllib3), causes and contexts."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        item = stack.pop(0)
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        stack += [a for a in getattr(item, "args", ()) if isinstance(a, BaseException)]
        for attr in ("reason", "__cause__", "__context__"):
            inner = getattr(item, attr, None)
            if isinstance(inner, BaseException):
                stack.append(inner)


def classify(exc: BaseException) -> str:
    """refused, not-resolved, tls-verify, http-server, timeout, reset or other."""
    import requests

    items = list(_chain(exc))
    for item in items:
        if isinstance(item, ssl.SSLCertVerificationError):
            return "tls-verify"
    for item in items:
        if isinstance(item, socket.gaierror) or type(item).__name__ == "NameResolutionError":
            return "not-resolved"
        if isinstance(item, ssl.SSLError):
            text = f"{getattr(item, 'reason', '')} {item}".lower()
            if any(marker in text for marker in _NOT_TLS):
                return "http-server"
        if isinstance(item, ConnectionRefusedError):
            return "refused"
    if any(isinstance(i, (requests.Timeout, socket.timeout, TimeoutError)) for i in items):
        return "timeout"
    if any(isinstance(i, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)) for i in items) or any(
        type(i).__name__ in ("RemoteDisconnected", "ProtocolError") for i in items
    ):
        return "reset"
    return "other"


def describe_chain(exc: BaseException) -> str:
    """The chain's class names, and the innermost error's text (no URL: a query may carry upload state)."""
    items = list(_chain(exc))
    names = " > ".join(dict.fromkeys(type(i).__name__ for i in items))
    innermost = items[-1]
    detail = str(innermost) if isinstance(innermost, OSError) else ""
    return f"{names}: {detail}" if detail else names


def _verify_reason(exc: BaseException) -> str:
    for item in _chain(exc):
        if isinstance(item, ssl.SSLCertVerificationError):
            return str(item.verify_message or item.reason or "certificate not trusted")
    return "certificate not trusted"


def unreachable(host: str, cause: str, exc: BaseException, timeout: tuple[float, float]) -> Unreachable:
    """The one-line error for a connection to ``host`` that failed with ``cause``."""
    if cause == "refused":
        return Unreachable(f"cannot reach {host}: connection refused", cause=cause, host=host,
                           hint="nothing listens there: check the host, the port, and that the registry runs")
    if cause == "not-resolved":
        return Unreachable(f"cannot reach {host}: the host name does not resolve", cause=cause, host=host,
                           hint="check the spelling of the registry's name and the machine's DNS")
    if cause == "tls-verify":
        return Unreachable(
            f"TLS verification failed for {host}: {_verify_reason(exc)}", cause=cause, host=host,
            hint=f"trust the registry's CA: --ca-cert FILE, or put it in /etc/containers/certs.d/{host}/ca.crt",
        )
    if cause == "http-server":
        return Unreachable(f"{host} answered an HTTPS request with plain HTTP", cause=cause, host=host,
                           hint=f"if it is meant to speak plain HTTP, name it with --insecure-registry {host}")
    if cause == "timeout":
        return Unreachable(f"{host} did not answer in time (connect {timeout[0]:g} s, read {timeout[1]:g} s)",
                           cause=cause, host=host, hint="check the network and the registry's load")
    if cause == "reset":
        return Unreachable(f"{host} closed the connection", cause=cause, host=host,
                           hint="a proxy or the registry dropped it; try again")
    return Unreachable(f"cannot reach {host}: {type(exc).__name__}", cause=cause, host=host,
                       hint="run with --debug for the underlying error")
