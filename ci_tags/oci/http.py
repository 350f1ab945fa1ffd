"""The one HTTP choke point: a pooled session with timeouts, a User-Agent, bounded retries and tracing.

Retries cover 429, 500, 502, 503, 504 and transient connection errors, with exponential backoff that honours
``Retry-After`` (seconds or an HTTP date). A request whose body is a one-shot stream is never retried here: the
caller restarts the whole transfer instead. A failure that a retry cannot mend (a name that does not resolve, a
certificate not trusted, a plain-HTTP server on an HTTPS URL, nothing listening on a host never reached) fails at
once with an error naming the cause (ci_tags/oci/network.py). TLS is verified for every host with the CAs
that ci_tags/oci/trust.py finds for it.
"""

from __future__ import annotations

import email.utils
import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ci_tags import __version__
from ci_tags.errors import RegistryError
from ci_tags.oci.network import classify, describe_chain, unreachable
from ci_tags.oci.trust import Trust

if TYPE_CHECKING:
    import requests

log = logging.getLogger("ci_tags.http")

USER_AGENT = f"ci-tags/{__version__}"
# 500 too: distribution answers 500 when concurrent deletes in one repository race on its tag links.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
DEFAULT_TIMEOUT = (10.0, 120.0)  # connect, read (seconds)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date; None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # str.isdigit() alone also accepts "²", which float() refuses
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())


def _replayable(data: Any) -> bool:
    return data is None or isinstance(data, (bytes, str, dict))


class Http:
    """A ``requests.Session`` for one process, shared by every registry and API it talks to."""

    def __init__(
        self,
        *,
        pool_size: int = 16,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        max_attempts: int = 5,
        backoff: float = 0.5,
        max_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        trust: Trust | None = None,
    ) -> None:
        import requests

        from ci_tags.oci.network import trusting_adapter

        self.trust = trust or Trust()
        self.session = requests.Session()
        adapter = trusting_adapter(self.trust, pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = USER_AGENT
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_wait = max_wait
        self.sleep = sleep
        self.request_count = 0
        self.answered: set[str] = set()  # hosts that answered once: a refusal from one later is a restart

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | list[tuple[str, str]] | None = None,
        data: Any = None,
        stream: bool = False,
        auth: Any = None,
        allow_redirects: bool = True,
    ) -> requests.Response:
        """Send one request, retrying transient failures; return the final response (any status)."""
        import requests

        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            self.request_count += 1
            try:
                resp = self.session.request(
                    method,
                    url,
                    headers=dict(headers or {}),
                    params=params,
                    data=data,
                    stream=stream,
                    auth=auth,
                    timeout=self.timeout,
                    allow_redirects=allow_redirects,
                )
            except requests.RequestException as exc:
                host = _netloc(url)
                cause = classify(exc)
                log.debug("%s %s -> %s (%s)", method, _redact(url), cause, describe_chain(exc))
                truncated = _truncated(exc)
                transient = (truncated or cause in ("timeout", "reset", "other")
                             or (cause == "refused" and host in self.answered))
                if not transient or attempt >= self.max_attempts or not _replayable(data):
                    if truncated:
                        raise _truncated_error(host, method, url) from None
                    raise unreachable(host, cause, exc, self.timeout) from None
                self.sleep(self._backoff(attempt))
                continue
            self.answered.add(_netloc(url))
            elapsed = (time.monotonic() - started) * 1000
            log.debug("%s %s -> %d (%.0f ms)", method, _redact(url), resp.status_code, elapsed)
            if resp.status_code in RETRY_STATUSES and attempt < self.max_attempts and _replayable(data):
                wait = self._delay(attempt, parse_retry_after(resp.headers.get("Retry-After")))
                if wait is not None:
                    resp.close()
                    log.debug("retrying in %.2f s (attempt %d of %d)", wait, attempt + 1, self.max_attempts)
                    self.sleep(wait)
                    continue
            return resp

    def _delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds before the next attempt; None when the server asks for longer than we are willing to wait."""
        if retry_after is not None:
            return retry_after if retry_after <= self.max_wait else None
        return self._backoff(attempt)

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter: about backoff * 2^(attempt-1), capped at max_wait."""
        return min(self.max_wait, self.backoff * 2.0 ** (attempt - 1)) * (0.5 + random.random() / 2)

    def close(self) -> None:
        self.session.close()


def _netloc(url: str) -> str:
    """``host[:port]`` of a URL, without user information."""
    return url.split("/")[2].rpartition("@")[2] if "://" in url else url


def _redact(url: str) -> str:
    """Drop user information and the query string's values that might carry secrets (tokens, signatures) from
    a traced URL."""
    scheme, sep_scheme, rest = url.partition("://")
    if sep_scheme:
        netloc, slash, tail = rest.partition("/")
        url = f"{scheme}://{netloc.rpartition('@')[2]}{slash}{tail}"
    base, sep, query = url.partition("?")
    if not sep:
        return url
    keep = []
    for part in query.split("&"):
        key = part.split("=", 1)[0]
        low = key.lower()
        sensitive = any(s in low for s in ("token", "sig", "password", "secret", "credential", "key"))
        keep.append(f"{key}=***" if sensitive else part)
    return f"{base}?{'&'.join(keep)}"


def _truncated(exc: Exception) -> bool:
    """A body cut short (fewer bytes than its Content-Length, a broken chunk): transient, like a dropped link."""
    import requests

    return isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError))


def _truncated_error(host: str, method: str, url: str) -> RegistryError:
    path = "/" + url.split("/", 3)[3].split("?")[0] if url.count("/") >= 3 else url
    return RegistryError(f"{host} kept sending truncated answers to {method} {path}",
                         hint="a proxy or the network cuts the connection short; try again later")


_SECRET_PATTERNS = (
    # an echoed header, whatever follows it on the line
    re.compile(r"(?i)\b(authorization|proxy-authorization|x-registry-auth|cookie|private-token|job-token)"
               r"(\s*[:=]\s*)[^\r\n,;\"']+"),
    re.compile(r"(?i)\b(basic|bearer)(\s+)[A-Za-z0-9._~+/=-]{4,}"),
    re.compile(r"(?i)\b(password|passwd|secret|token|access_token|refresh_token|api[_-]?key)"
               r"(\"?\s*[:=]\s*\"?)[^\s&,;\"']+"),
)
_JWT_RE = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_BASE64_RE = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{8,}={0,2}(?![A-Za-z0-9+/=])")


def scrub(text: str) -> str:
    """A server's error text with credentials it may echo replaced by ``***``: Authorization headers,
    Basic/Bearer values, JWTs, ``password=...`` pairs, and base64 words that decode to ``user:password``."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
    text = _JWT_RE.sub("***", text)
    return _BASE64_RE.sub(lambda m: "***" if _is_user_pass(m.group(0)) else m.group(0), text)


def _is_user_pass(word: str) -> bool:
    import base64
    import binascii

    try:
        decoded = base64.b64decode(word + "=" * (-len(word) % 4), validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    return ":" in decoded and decoded.isprintable()
