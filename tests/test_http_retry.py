"""The HTTP choke point's retries: 429/503 with and without ``Retry-After``, giving up, unreachable hosts."""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ci_tags.errors import EXIT_FAILED, RegistryError
from ci_tags.oci.http import Http, parse_retry_after
from tests.support.images import push_image
from tests.support.proxy import RegistryFront
from tests.support.registry import free_port
from tests.support.serving import serve, stop

Answer = tuple[int, dict[str, str]]


class Scripted:
    """A loopback server answering each request with the next scripted (status, headers); then 200."""

    def __init__(self) -> None:
        self.script: list[Answer] = []
        self.seen: list[tuple[str, str, bytes]] = []  # method, path, body
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    body = b""
                    while size := int(self.rfile.readline().strip(), 16):
                        body += self.rfile.read(size)
                        self.rfile.readline()
                    self.rfile.readline()
                    return body
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _handle(self) -> None:
                scripted.seen.append((self.command, self.path, self._body()))
                status, headers = scripted.script.pop(0) if scripted.script else (200, {})
                payload = b'{"ok": true}'
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_PUT = _handle

        self.server, self.url = serve(Handler)
        self.url += "/v2/app/tags/list"

    def close(self) -> None:
        stop(self.server)


@pytest.fixture
def server() -> Iterator[Scripted]:
    s = Scripted()
    yield s
    s.close()


@pytest.fixture
def waits() -> list[float]:
    """The waits Http asked for: its ``sleep`` records them instead of sleeping."""
    return []


@pytest.fixture
def make_http(waits: list[float]) -> Iterator[Callable[..., Http]]:
    made: list[Http] = []

    def make(**kwargs: Any) -> Http:
        made.append(Http(sleep=waits.append, **kwargs))
        return made[-1]

    yield make
    for http in made:
        http.close()


def test_429_waits_the_seconds_of_retry_after_then_succeeds(server, waits, make_http):
    server.script = [(429, {"Retry-After": "1"})]
    resp = make_http().request("GET", server.url)
    assert resp.status_code == 200 and resp.json() == {"ok": True}
    assert waits == [1.0]
    assert len(server.seen) == 2


def test_429_with_an_http_date_waits_until_that_date(server, waits, make_http):
    server.script = [(429, {"Retry-After": email.utils.formatdate(time.time() + 30, usegmt=True)})]
    resp = make_http().request("GET", server.url)
    assert resp.status_code == 200
    [wait] = waits
    assert 20 < wait <= 30  # the date has whole seconds; never longer than asked
    assert len(server.seen) == 2


def test_503_without_retry_after_backs_off_then_succeeds(server, waits, make_http):
    server.script = [(503, {})]
    resp = make_http(backoff=0.5).request("GET", server.url)
    assert resp.status_code == 200
    [wait] = waits
    assert 0.25 <= wait <= 0.5  # backoff with jitter
    assert len(server.seen) == 2


def test_attempts_are_bounded_and_backoff_grows(server, waits, make_http):
    server.script = [(503, {})] * 10
    resp = make_http(backoff=0.5, max_attempts=4).request("GET", server.url)
    assert resp.status_code == 503  # the last answer is handed back for the caller to report
    assert len(server.seen) == 4
    assert len(waits) == 3
    for attempt, wait in enumerate(waits):
        assert 0.5 * 2**attempt / 2 <= wait <= 0.5 * 2**attempt


@pytest.mark.parametrize(
    "retry_after",
    ["120", email.utils.format_datetime(datetime.now(timezone.utc) + timedelta(hours=1), usegmt=True)],
    ids=["seconds", "http-date"],
)
def test_retry_after_beyond_max_wait_gives_up_at_once(server, waits, make_http, retry_after):
    server.script = [(429, {"Retry-After": retry_after})]
    resp = make_http(max_wait=60).request("GET", server.url)
    assert resp.status_code == 429
    assert waits == []
    assert len(server.seen) == 1


@pytest.mark.parametrize("status", [400, 401, 404, 501])
def test_other_errors_are_not_retried(server, waits, make_http, status):
    server.script = [(status, {})]
    resp = make_http().request("GET", server.url)
    assert resp.status_code == status
    assert waits == [] and len(server.seen) == 1


def test_a_bytes_body_is_sent_again_on_retry(server, waits, make_http):
    server.script = [(503, {"Retry-After": "0"})]
    resp = make_http().request("PUT", server.url, data=b"manifest bytes")
    assert resp.status_code == 200
    assert [body for _, _, body in server.seen] == [b"manifest bytes", b"manifest bytes"]
    assert waits == [0.0]


def test_a_one_shot_stream_body_is_never_retried(server, waits, make_http):
    server.script = [(503, {"Retry-After": "0"})]
    resp = make_http().request("PUT", server.url, data=iter([b"layer ", b"bytes"]))
    assert resp.status_code == 503  # the caller restarts the whole transfer instead
    assert [body for _, _, body in server.seen] == [b"layer bytes"]
    assert waits == []


def test_connection_refused_by_a_host_never_reached_fails_at_once_naming_the_cause(waits, make_http):
    port = free_port()  # bound then released: nothing listens there
    with pytest.raises(RegistryError) as raised:
        make_http(max_attempts=3).request("GET", f"http://127.0.0.1:{port}/v2/")
    assert raised.value.message == f"cannot reach 127.0.0.1:{port}: connection refused"
    assert "the port" in (raised.value.hint or "")
    assert raised.value.exit_code == EXIT_FAILED
    assert waits == []  # nothing listens: a retry cannot help


def test_connection_refused_by_a_host_that_answered_before_is_retried(waits, make_http):
    """A registry restarting mid-operation refuses connections for a moment: that is worth a retry."""

    class Ok(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v2/"
    http = make_http(max_attempts=3)
    assert http.request("GET", url).status_code == 200
    server.shutdown()
    server.server_close()
    http.session.close()  # no kept-alive connection: the next request must connect again
    with pytest.raises(RegistryError) as raised:
        http.request("GET", url)
    assert raised.value.message.endswith("connection refused")
    assert len(waits) == 2  # 3 attempts


# -- parse_retry_after ---------------------------------------------------------------------------------------------

NOW = datetime(2015, 10, 21, 7, 27, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", 1.0),
        (" 120 ", 120.0),
        ("0", 0.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("\u00b2", None),  # a digit to str.isdigit(), not to float()
        ("Wed, 21 Oct 2015 07:28:00 GMT", 30.0),  # IMF-fixdate
        ("Wednesday, 21-Oct-15 07:28:00 GMT", 30.0),  # RFC 850
        ("Wed Oct 21 07:28:00 2015", 30.0),  # asctime
        ("Wed, 21 Oct 2015 09:28:00 +0200", 30.0),
        ("Wed, 21 Oct 2015 07:00:00 GMT", 0.0),  # in the past: no wait
    ],
)
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value, now=NOW) == expected


# -- end to end ------------------------------------------------------------------------------------------------------


def test_cli_tags_rides_out_a_rate_limit(reg, registry, cli, closing):
    push_image(reg, "ratelimit/app", "v1")
    limited: list[str] = []

    def first_listing_is_rate_limited(method, path, query):
        if method == "GET" and path == "/v2/ratelimit/app/tags/list" and not limited:
            limited.append(path)
            return 429, {"Retry-After": "1", "Content-Type": "application/json"}, b'{"errors": []}'
        return None

    front = closing(RegistryFront(registry.url, first_listing_is_rate_limited))
    result = cli("tags", f"{front.host}/ratelimit/app", "--debug")
    assert result.code == 0, result.err
    assert result.out == "v1\n"
    assert "retrying in 1.00 s" in result.err
    assert [m for m, p in front.seen if p.startswith("/v2/ratelimit/app/tags/list")] == ["GET", "GET"]


def test_cli_gives_up_when_the_registry_asks_to_wait_too_long(registry, cli, closing):
    def always_limited(method, path, query):
        return 429, {"Retry-After": "3600"}, b""

    front = closing(RegistryFront(registry.url, always_limited))
    result = cli("tags", f"{front.host}/ratelimit/app")
    assert result.code == EXIT_FAILED
    assert f"{front.host} kept rate-limiting GET repository ratelimit/app (try again later)" in result.err
    assert len(front.seen) == 1


# -- many threads, one session ---------------------------------------------------------------------------------------


def _yield_between_opcodes_of_http(frame: Any, event: str, arg: Any) -> Any:
    """A trace function that hands the GIL to another thread between every opcode of ci_tags/oci/http.py, so an
    unguarded read-modify-write there loses updates the way it can on any interpreter that switches threads
    between them (CPython 3.11 rarely does by itself)."""
    if not frame.f_code.co_filename.endswith("ci_tags/oci/http.py"):
        return None
    frame.f_trace_opcodes = True

    def local(frame: Any, event: str, arg: Any) -> Any:
        if event == "opcode":
            time.sleep(0)
        return local

    return local


@pytest.fixture
def thread_switches_in_http() -> Iterator[None]:
    """Threads started during the test hand the GIL over between every opcode of ci_tags/oci/http.py."""
    threading.settrace(_yield_between_opcodes_of_http)
    yield
    threading.settrace(None)


def test_every_request_sent_from_many_threads_is_sent_once(server, make_http, thread_switches_in_http):
    from ci_tags.concurrency import run_all

    http = make_http()
    outcomes = run_all(lambda i: http.request("GET", server.url).status_code, range(160), 8)
    assert [status for _, status, _ in outcomes] == [200] * 160
    assert len(server.seen) == 160
