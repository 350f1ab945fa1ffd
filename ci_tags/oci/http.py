"""The one HTTP choke point: a pooled session with timeouts, a User-Agent, bounded retries and tracing.

Every request of the process goes through one requests adapter (ci_tags/oci/network.py builds it) whose ``send``
calls :meth:`Http.send`: ci-tags' own registry client, and python-gitlab and python-jenkins, which are given this
session (:meth:`Http.client_session`) and have their own retries turned off. So retries, backoff, timeouts and the
``--debug`` trace live here only.

Retries cover 429, 500, 502, 503, 504 and transient connection errors, with exponential backoff that honours
``Retry-After`` (seconds or an HTTP date) or Docker Hub's ``X-Retry-After`` (a Unix time). The wait is shared
per host: a host that asked one request to wait holds back every other request to it (a "not before" time per
host), so concurrent workers do not hammer it. A request whose body is a one-shot stream is never retried here:
the caller restarts the whole transfer instead.
A failure that a retry cannot mend (a name that does not resolve, a certificate not trusted, a plain-HTTP server
on an HTTPS URL, nothing listening on a host never reached) fails at once with an error naming the cause
(ci_tags/oci/network.py). TLS is verified for every host with the CAs that ci_tags/oci/trust.py finds for it.
"""

from __future__ import annotations

import email.utils
import functools
import logging
import random
import threading
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

    from ci_tags.oci.adapter import TrustingAdapter

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


def retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds a service asks to wait: ``Retry-After`` (seconds or an HTTP date), else Docker Hub's
    ``X-Retry-After`` (a Unix time at which the limit lifts); None when neither says."""
    wait = parse_retry_after(headers.get("Retry-After"), now)
    if wait is not None:
        return wait
    value = (headers.get("X-Retry-After") or "").strip()
    if not (value.isascii() and value.isdigit()):
        return None
    now = now or datetime.now(timezone.utc)
    return max(0.0, int(value) - now.timestamp())


def _replayable(body: Any) -> bool:
    """A prepared body that can be sent again: absent or in memory (requests encodes dicts to str)."""
    return body is None or isinstance(body, (bytes, str))


class HostGate:
    """A "not before" time per host: a wait one request was asked for holds back every request to that host."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def hold(self, host: str, seconds: float) -> float:
        """Keep ``host`` waiting at least ``seconds`` from now; return how long the caller waits."""
        with self._lock:
            now = self._clock()
            until = self._until.get(host, 0.0)
            if now + seconds >= until:
                self._until[host] = now + seconds
                return seconds
            return until - now

    def remaining(self, host: str) -> float:
        """Seconds until ``host`` may be asked again (0 when it may be now)."""
        with self._lock:
            return max(0.0, self._until.get(host, 0.0) - self._clock())


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
        clock: Callable[[], float] | None = None,
        trust: Trust | None = None,
    ) -> None:
        """``sleep`` and ``clock`` are for tests: a ``sleep`` given without a ``clock`` is how time passes (the
        clock is the real one plus every wait it was asked for), so waits shared by hosts stay consistent."""
        if clock is None and sleep is not time.sleep:
            sleep, clock = _passing_time(sleep)
        self.trust = trust or Trust()
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_wait = max_wait
        self.sleep = sleep
        self.gate = HostGate(clock or time.monotonic)
        self._lock = threading.Lock()  # guards answered: workers send from many threads
        self.answered: set[str] = set()  # hosts that answered once: a refusal from one later is a restart
        self.adapter = self._adapter(pool_size)
        # Http.request's own session: the proxies the environment names are resolved once per origin (requests
        # would scan the whole environment and stat ~/.netrc on every request: a fifth of a manifest request's
        # CPU). ~/.netrc is not read on this path: ci-tags sends its own credentials, which a netrc entry would
        # replace. Third-party clients keep requests' own handling on ``session``.
        self._direct = self.client_session()
        self._direct.trust_env = False
        self._proxies: dict[str, dict[str, str]] = {}
        rebuild: Callable[[Any, Any], Any] = self._direct.rebuild_proxies
        self._direct.rebuild_proxies = (  # type: ignore[method-assign]  # a redirect: its new origin's proxies
            lambda prepared, proxies: rebuild(prepared, self._proxies_for(prepared.url or "")))

    def _adapter(self, pool_size: int) -> TrustingAdapter:
        from ci_tags.oci.adapter import TrustingAdapter

        return TrustingAdapter(self.trust, self, pool_size=pool_size)

    @functools.cached_property
    def session(self) -> requests.Session:
        """The session python-gitlab and the service backends are given (made on first use: a retag needs none)."""
        return self.client_session()

    def client_session(self) -> requests.Session:
        """A session over this one's pool, retry policy and trace, for a client that sets its own state on its
        session (python-jenkins sets ``auth`` there, which must not reach the registries)."""
        import requests

        session = requests.Session()
        session.mount("http://", self.adapter)
        session.mount("https://", self.adapter)
        session.headers["User-Agent"] = USER_AGENT
        return session

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

        try:
            return self._direct.request(method, url, headers=dict(headers or {}), params=params, data=data,
                                        stream=stream, auth=auth, timeout=self.timeout,
                                        allow_redirects=allow_redirects, proxies=self._proxies_for(url))
        except requests.RequestException as exc:
            host = _netloc(url)
            if _truncated(exc):
                raise _truncated_error(host, method, url) from None
            raise unreachable(host, classify(exc), exc, self.timeout) from None

    def _proxies_for(self, url: str) -> dict[str, str]:
        """The proxies the environment names for ``url``'s origin (``HTTPS_PROXY``, ``NO_PROXY``...), as requests
        reads them, once per origin."""
        origin = url.split("/", 3)[:3]
        key = "/".join(origin)
        found = self._proxies.get(key)
        if found is None:
            from requests.utils import get_environ_proxies

            found = self._proxies.setdefault(key, dict(get_environ_proxies(key + "/")))
        return found

    def send(self, request: requests.PreparedRequest, options: dict[str, Any],
             send_once: Callable[[dict[str, Any]], requests.Response]) -> requests.Response:
        """The adapter's ``send``: one request with the retry policy, timeout and trace (see the module's text).
        Whatever the client, the last answer is returned, or the last connection error raised."""
        if options.get("timeout") is None:  # a client that set none still gets one
            options = {**options, "timeout": self.timeout}
        host, attempt = _netloc(request.url or ""), 0
        while True:
            attempt += 1
            pause = self.gate.remaining(host)  # a wait another request was asked for holds this one back too
            if pause > 0:
                log.debug("waiting %.2f s for %s", pause, host)
                self.sleep(pause)
            resp, wait = self._attempt(request, options, send_once, host, attempt)
            if wait is None:
                assert resp is not None
                return resp
            self.sleep(wait)

    def _attempt(self, request: requests.PreparedRequest, options: dict[str, Any],
                 send_once: Callable[[dict[str, Any]], requests.Response], host: str,
                 attempt: int) -> tuple[requests.Response | None, float | None]:
        """One attempt: (the answer to return, None), or (None, seconds to wait before the next attempt)."""
        import requests

        started = time.monotonic()
        last = attempt >= self.max_attempts or not _replayable(request.body)
        try:
            resp = send_once(options)
            if not options.get("stream"):
                resp.content  # noqa: B018  # read here, so a body cut short is retried like a dropped link
        except requests.RequestException as exc:
            cause = classify(exc)
            log.debug("%s %s -> %s (%s)", request.method, _redact(request.url or ""), cause, describe_chain(exc))
            with self._lock:
                answered = host in self.answered
            transient = (_truncated(exc) or cause in ("timeout", "reset", "other")
                         or (cause == "refused" and answered))
            if not transient or last:
                raise
            return None, self.gate.hold(host, self._backoff(attempt))
        with self._lock:
            self.answered.add(host)
        elapsed = (time.monotonic() - started) * 1000
        log.debug("%s %s -> %d (%.0f ms)", request.method, _redact(request.url or ""), resp.status_code, elapsed)
        if resp.status_code not in RETRY_STATUSES or last:
            return resp, None
        delay = self._delay(attempt, retry_after(resp.headers))
        if delay is None:  # the server asks for longer than we are willing to wait
            return resp, None
        resp.close()
        wait = self.gate.hold(host, delay)
        log.debug("retrying in %.2f s (attempt %d of %d)", wait, attempt + 1, self.max_attempts)
        return None, wait

    def _delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds before the next attempt; None when the server asks for longer than we are willing to wait."""
        if retry_after is not None:
            return retry_after if retry_after <= self.max_wait else None
        return self._backoff(attempt)

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter: about backoff * 2^(attempt-1), capped at max_wait."""
        return min(self.max_wait, self.backoff * 2.0 ** (attempt - 1)) * (0.5 + random.random() / 2)

    def close(self) -> None:
        if "session" in self.__dict__:
            self.session.close()
        self._direct.close()


def _passing_time(sleep: Callable[[float], None]) -> tuple[Callable[[float], None], Callable[[], float]]:
    """A sleep that also moves a clock on by what it was asked to wait, and that clock."""
    slept = [0.0]
    lock = threading.Lock()

    def passing(seconds: float) -> None:
        sleep(seconds)  # the time has passed when the sleep ends, not while it lasts
        with lock:
            slept[0] += seconds

    def clock() -> float:
        with lock:
            return time.monotonic() + slept[0]

    return passing, clock


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
