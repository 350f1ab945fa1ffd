"""Start the real CNCF distribution registry on a free loopback port: Debian's docker-registry (distribution 2.8),
or with ``CI_TAGS_TEST_REGISTRY=distribution3`` distribution 3's ``registry`` (built by .ci/go-tools into
/opt/ci-tags-tools/bin, or named by ``CI_TAGS_TEST_REGISTRY_BIN``).

Nothing is installed here: the test command installs docker-registry. The registry's access log gives one
line per request, which tests use to count the requests an operation made; ``mark``/``since`` wait for the log
to be complete (``sync``) instead of sleeping.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml

from tests.support.waiting import wait_for

_ACCESS_RE = re.compile(r'"(GET|HEAD|PUT|POST|PATCH|DELETE) (\S+) HTTP/[0-9.]+" (\d{3})')
_SYNC_QUERY = "ci-tags-test-sync="  # marks the requests that sync() sends: never counted as the tests' own


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Request:
    method: str
    uri: str
    status: int

    @property
    def is_blob(self) -> bool:
        return "/blobs/" in self.uri


DISTRIBUTION2, DISTRIBUTION3 = "distribution2", "distribution3"
V3_BINARY = "/opt/ci-tags-tools/bin/registry"


def implementation() -> str:
    """The registry the tests run on: CI_TAGS_TEST_REGISTRY, distribution 2.8 by default."""
    chosen = os.environ.get("CI_TAGS_TEST_REGISTRY", DISTRIBUTION2)
    if chosen not in (DISTRIBUTION2, DISTRIBUTION3):
        raise RuntimeError(f"CI_TAGS_TEST_REGISTRY={chosen!r}: use {DISTRIBUTION2} or {DISTRIBUTION3}")
    return chosen


def _binary(kind: str) -> list[str]:
    if kind == DISTRIBUTION3:
        binary = os.environ.get("CI_TAGS_TEST_REGISTRY_BIN", V3_BINARY)
        if not os.access(binary, os.X_OK):
            raise RuntimeError(f"distribution 3 is not at {binary}: run .ci/go-tools, or set CI_TAGS_TEST_REGISTRY_BIN")
        return [binary, "serve"]
    found = shutil.which("docker-registry")
    if not found:
        raise RuntimeError("docker-registry is not installed: run the README's test command (.ci/test)")
    return [found, "serve"]


@dataclass
class RunningRegistry:
    host: str
    root: Path
    log_path: Path
    process: subprocess.Popen[bytes]
    scheme: str = "http"
    implementation: str = DISTRIBUTION2

    @property
    def deletes_tags(self) -> bool:
        """Whether ``DELETE /v2/<name>/manifests/<tag>`` removes a tag (distribution 3) or is refused (2.8)."""
        return self.implementation == DISTRIBUTION3

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"

    def requests(self) -> list[Request]:
        """The requests in the access log so far (not those ``sync`` made)."""
        text = self.log_path.read_text(errors="replace")
        return [Request(m[1], m[2], int(m[3])) for m in _ACCESS_RE.finditer(text) if _SYNC_QUERY not in m[2]]

    def wait_for_log(self, pattern: str, *, start: int = 0, timeout: float = 10.0) -> re.Match[str]:
        """The first match of the regular expression ``pattern`` in the log from byte ``start`` on, once written."""
        compiled = re.compile(pattern)

        def found() -> re.Match[str] | None:
            with self.log_path.open("rb") as log:
                log.seek(start)
                return compiled.search(log.read().decode(errors="replace"))

        return wait_for(found, what=f"a line matching {pattern!r} in {self.log_path}", timeout=timeout)

    def sync(self) -> None:
        """Make the access log complete up to now: send a request of its own and wait for its line.

        The registry's logging handler writes a request's line when the app's handler returns, before Go's server
        sends the last buffered bytes of the response; so a request the tests saw answered is in the log once this
        later request's line is."""
        start = self.log_path.stat().st_size
        token = f"{_SYNC_QUERY}{uuid.uuid4().hex}"
        with warnings.catch_warnings():  # a TLS registry's certificate does not matter for this request
            warnings.simplefilter("ignore")
            requests.get(f"{self.url}/v2/?{token}", timeout=10, verify=False)  # 401 on an auth registry: logged too
        self.wait_for_log(re.escape(f"/v2/?{token} "), start=start)

    def mark(self) -> int:
        """A position in the request log; ``since(mark)`` gives what came after."""
        self.sync()
        return len(self.requests())

    def since(self, mark: int) -> list[Request]:
        self.sync()
        return self.requests()[mark:]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_registry(
    root: Path, auth: dict[str, Any] | None = None, tls: tuple[Path, Path] | None = None
) -> RunningRegistry:
    """The registry on a free loopback port; ``tls``: (certificate, key) files to serve HTTPS with."""
    kind = implementation()
    command = _binary(kind)
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "info", "formatter": "text", "accesslog": {"disabled": False}},
        "storage": {"filesystem": {"rootdirectory": str(root / "data")}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}"},
    }
    if auth:
        config["auth"] = auth
    if tls:
        config["http"]["tls"] = {"certificate": str(tls[0]), "key": str(tls[1])}
    scheme = "https" if tls else "http"
    (root / "config.yml").write_text(yaml.safe_dump(config))
    log_path = root / "registry.log"
    log = log_path.open("wb")
    proc = subprocess.Popen([*command, str(root / "config.yml")], stdout=log, stderr=subprocess.STDOUT)
    host = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{kind} registry exited: {log_path.read_text()[-2000:]}")
        try:
            with warnings.catch_warnings():  # only asking "is it up yet?": no verification needed
                warnings.simplefilter("ignore")
                requests.get(f"{scheme}://{host}/v2/", timeout=1, verify=False)
            break
        except requests.ConnectionError:
            time.sleep(0.05)
    else:
        proc.kill()
        raise RuntimeError(f"{kind} registry did not start within 20 s")
    return RunningRegistry(host, root, log_path, proc, scheme, kind)
