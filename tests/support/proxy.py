"""A loopback HTTP front for a real registry: forwards every request, except those a test chooses to answer
itself (a 429, or pages of a tag list with Link headers). Used where the real registry cannot show a behaviour
(distribution 2.8 never paginates tag lists and never rate-limits)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import requests

# intercept(method, path, query) -> None to forward, or (status, headers, body) to answer
Intercept = Callable[[str, str, dict[str, list[str]]], "tuple[int, dict[str, str], bytes] | None"]


class RegistryFront:
    def __init__(self, upstream: str, intercept: Intercept) -> None:
        self.upstream = upstream
        self.intercept = intercept
        self.seen: list[tuple[str, str]] = []
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                front.seen.append((self.command, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                answer = front.intercept(self.command, parts.path, parse_qs(parts.query))
                if answer is None:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                    resp = requests.request(
                        self.command, upstream + self.path, headers=headers, data=body, allow_redirects=False
                    )
                    answer = (resp.status_code, dict(resp.headers), resp.content)
                status, headers, payload = answer
                self.send_response(status)
                for key, value in headers.items():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
