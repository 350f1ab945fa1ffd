"""A loopback HTTP front for a real registry: forwards every request, except those a test chooses to answer
itself (a 429, or pages of a tag list with Link headers). Used where the real registry cannot show a behaviour
(distribution 2.8 never paginates tag lists and never rate-limits).

It also injects faults (:class:`Faults`): 503 and 429 answers, dropped connections, truncated bodies, slow and
HTML answers, each before or after the request reached the registry (a write that happened but whose answer was
lost); added latency widens race windows; and a ``hook`` runs another client's action at an exact moment."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import requests

# intercept(method, path, query) -> None to forward, or (status, headers, body) to answer
Intercept = Callable[[str, str, dict[str, list[str]]], "tuple[int, dict[str, str], bytes] | None"]
# api(method, raw path, query, headers, body) -> None to go on, or (status, headers, body): a service's API in front
# of the registry (tests/support/service_front.py), asked before ``intercept``
Api = Callable[[str, str, dict[str, list[str]], dict[str, str], "bytes | None"],
               "tuple[int, dict[str, str], bytes] | None"]
# hook(method, path): runs in the request's thread before it is forwarded (another client's action, exactly then)
Hook = Callable[[str, str], None]

FAULT_KINDS = ("503", "429", "drop", "truncate", "slow", "html")  # and "stall", chosen explicitly


@dataclass
class Faults:
    """Each request meets a fault with probability ``rate``, of a kind drawn from ``kinds``; seeded."""

    rate: float
    kinds: tuple[str, ...] = FAULT_KINDS
    seed: int = 0
    slow_seconds: float = 0.2
    stall_seconds: float = 1.0  # "stall": longer than the client's read timeout, so it times out
    after_share: float = 0.5  # share of faults that hit after the registry saw the request
    injected: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()

    def pick(self) -> tuple[str, bool] | None:
        """(kind, after): ``after`` means the registry gets the request and the client loses the answer."""
        with self._lock:
            if self._random.random() >= self.rate:
                return None
            kind, after = self._random.choice(self.kinds), self._random.random() < self.after_share
            if kind in ("503", "429", "slow"):
                after = False
            self.injected[kind + ("-after" if after else "")] += 1
            return kind, after

    @property
    def total(self) -> int:
        return sum(self.injected.values())


def _no_intercept(method: str, path: str, query: dict[str, list[str]]) -> None:
    return None


ACTION = ("ACTION", "")  # in RegistryFront.events: where another party's action ran (RegistryFront.atomically)


class _Gate:
    """Requests reach the registry through it shared; another party's action holds it exclusively: it waits until
    every request in flight has its answer from the registry, and holds new ones back until it is done."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active = 0
        self._exclusive = False

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._exclusive)
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._exclusive)
            self._exclusive = True
            self._cond.wait_for(lambda: self._active == 0)
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()


class RegistryFront:
    def __init__(self, upstream: str, intercept: Intercept = _no_intercept, *, faults: Faults | None = None,
                 latency: float = 0.0, hook: Hook | None = None, verify: str | bool = True,
                 own_locations: bool = False, api: Api | None = None) -> None:
        """``verify``: as requests takes it; the CA file of an https ``upstream`` with a private CA.
        ``own_locations``: Location headers naming the upstream name the front instead (a reverse proxy's
        proxy_redirect), so uploads come back through it; a client holding credentials for the front's host only
        would otherwise be refused where the registry's own address sends it."""
        self.upstream = upstream
        self.intercept = intercept
        self.faults = faults
        self.latency = latency
        self.hook = hook
        self.own_locations = own_locations
        self.seen: list[tuple[str, str]] = []
        # what reached the registry, in the order the registry answered it, and where an action ran (ACTION)
        self.events: list[tuple[str, str]] = []
        self._gate = _Gate()
        self._events_lock = threading.Lock()
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _forward(self, body: bytes | None) -> tuple[int, dict[str, str], bytes]:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                resp = requests.request(
                    self.command, upstream + self.path, headers=headers, data=body, allow_redirects=False,
                    verify=verify,
                )
                answer = dict(resp.headers)
                location = answer.get("Location", "")
                if front.own_locations and location.startswith(upstream):
                    answer["Location"] = f"http://{front.host}{location[len(upstream):]}"
                return resp.status_code, answer, resp.content

            def _send(self, status: int, headers: dict[str, str], payload: bytes, *, length: int | None = None,
                      cut: bool = False) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                        self.send_header(key, value)
                if length is None and self.command == "HEAD":  # a HEAD tells the size of the body it omits
                    length = int(next((v for k, v in headers.items() if k.lower() == "content-length"), "0"))
                self.send_header("Content-Length", str(len(payload) if length is None else length))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)
                if cut:
                    self.wfile.flush()
                    self.close_connection = True

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                front.seen.append((self.command, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if front.latency:
                    time.sleep(front.latency)
                if front.hook is not None:
                    front.hook(self.command, parts.path)
                fault = front.faults.pick() if front.faults is not None else None
                if fault is not None and self.command == "HEAD" and fault[0] == "truncate":
                    fault = ("drop", fault[1])  # a HEAD has no body to cut short
                if fault is not None and not fault[1] and self._fault_before(fault[0]):
                    return
                answer = None
                if api is not None:
                    answer = api(self.command, parts.path, parse_qs(parts.query), dict(self.headers.items()), body)
                if answer is None:
                    answer = front.intercept(self.command, parts.path, parse_qs(parts.query))
                if answer is None:
                    with front._gate.shared():
                        answer = self._forward(body)
                        with front._events_lock:
                            front.events.append((self.command, parts.path))
                status, headers, payload = answer
                if fault is not None and fault[1]:
                    self._fault_after(fault[0], status, headers, payload)
                    return
                self._send(status, headers, payload)

            def _fault_before(self, kind: str) -> bool:
                """Answer without the registry; True when answered (or dropped)."""
                if kind in ("503", "429"):
                    self._send(int(kind), {"Retry-After": "0", "Content-Type": "text/plain"}, b"busy\n")
                    return True
                if kind == "slow":
                    time.sleep(front.faults.slow_seconds if front.faults else 0.2)
                    return False
                if kind == "stall":
                    time.sleep(front.faults.stall_seconds if front.faults else 1.0)
                    self.close_connection = True
                    return True
                if kind == "drop":
                    self.close_connection = True
                    return True
                if kind == "truncate":
                    self._send(200, {"Content-Type": "application/json"}, b'{"trunc', length=500, cut=True)
                    return True
                self._send(200, {"Content-Type": "text/html"}, b"<html><body>gateway says hi</body></html>")
                return True

            def _fault_after(self, kind: str, status: int, headers: dict[str, str], payload: bytes) -> None:
                """The registry did the request; the client gets a broken answer instead of its own."""
                if kind == "drop":
                    self.close_connection = True
                elif kind == "stall":
                    time.sleep(front.faults.stall_seconds if front.faults else 1.0)
                    self._send(status, headers, payload)
                elif kind == "truncate":
                    self._send(status, headers, payload[: len(payload) // 2], length=len(payload) + 100, cut=True)
                else:  # html
                    self._send(200, {"Content-Type": "text/html"}, b"<html><body>gateway says hi</body></html>")

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]  # a client gone
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def atomically(self, action: Callable[[], None]) -> None:
        """Run another party's action (several requests straight to the registry) as one step between the
        requests coming through here: after those in flight are answered, before any other goes on. So what a
        concurrent client saw is decided by the order of events, not by how fast either side runs."""
        with self._gate.exclusive():
            with self._events_lock:
                self.events.append(ACTION)
            action()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
