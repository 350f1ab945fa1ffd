"""Benchmark: how long `ci-tags tags` takes to fail, per cause of a failed connection, and how many connection
attempts it made (from --debug). Version 0.1 retried every connection error 5 times (about 6 s of backoff).
Run: .venv/bin/python -m bench.network_errors
"""

from __future__ import annotations

import io
import re
import socket
import ssl
import tempfile
import threading
import time
from pathlib import Path

from ci_tags.cli import main
from tests.support.registry import free_port
from tests.support.tls import make_ca


def _serve(sock: socket.socket, context: ssl.SSLContext | None) -> None:
    while True:
        try:
            conn, _ = sock.accept()
        except OSError:
            return
        try:
            if context is not None:
                conn = context.wrap_socket(conn, server_side=True)
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        except OSError:
            pass
        conn.close()


def _server(context: ssl.SSLContext | None) -> tuple[socket.socket, str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    threading.Thread(target=_serve, args=(sock, context), daemon=True).start()
    return sock, f"127.0.0.1:{sock.getsockname()[1]}"


def run(host: str, *extra: str) -> tuple[float, int, str]:
    err = io.StringIO()
    started = time.perf_counter()
    main(["tags", f"{host}/group/app", "--debug", *extra], env={"HOME": "/nonexistent"}, stdout=io.StringIO(),
         stderr=err)
    elapsed = time.perf_counter() - started
    text = err.getvalue()
    attempts = len(re.findall(r"^debug: GET \S+ -> [a-z-]+ \(", text, re.M))
    line = next((x for x in text.splitlines() if x.startswith("ci-tags:")), "")
    return elapsed, attempts, line


def main_bench() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        ca = make_ca(Path(tmp) / "ca")
        cert = ca.issue("untrusted")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert.cert), str(cert.key))
        tls_sock, tls_host = _server(context)
        cases = [
            ("closed port", f"127.0.0.1:{free_port()}", ()),
            ("name not resolved", "registry.invalid", ()),
            ("untrusted TLS certificate", tls_host, ()),
        ]
        print(f"| {'cause':<32} | {'time to fail':>12} | attempts | first line of the error |")
        print(f"|{'-' * 34}|{'-' * 14}|----------|---|")
        for name, host, extra in cases:
            elapsed, attempts, line = run(host, *extra)
            print(f"| {name:<32} | {elapsed * 1000:9.0f} ms | {attempts:>8} | {line[:90]} |")
        tls_sock.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main_bench())
