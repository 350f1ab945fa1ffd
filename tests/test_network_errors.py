"""Errors that name their cause, from real sockets: a closed port, a name that cannot resolve, a TLS server whose
CA is not trusted, a plain-HTTP server called over HTTPS, a server that never answers. Each is one line with its
exit code; a failure that a retry cannot mend is not retried (counted in connection attempts, never in seconds).
"""

from __future__ import annotations

import re
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ci_tags.errors import EXIT_FAILED, Unreachable
from ci_tags.oci.http import Http
from ci_tags.oci.trust import Trust
from tests.support.registry import RunningRegistry, free_port, start_registry
from tests.support.tls import PrivateCA, make_ca

_ATTEMPT_RE = re.compile(r"^debug: GET \S+ -> ", re.M)


@dataclass
class CountingServer:
    """A loopback socket server that counts the connections it accepts; TLS with ``context``, answering each
    request with ``answer`` (None: never answers)."""

    context: ssl.SSLContext | None = None
    answer: bytes | None = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    accepted: int = 0
    sock: socket.socket = field(default_factory=socket.socket)
    host: str = ""

    def __post_init__(self) -> None:
        self.sock.bind(("127.0.0.1", 0))
        self.host = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.sock.listen(16)
        self._held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            if self.context is not None:
                conn = self.context.wrap_socket(conn, server_side=True)
            conn.recv(65536)
            if self.answer is None:
                self._held.append(conn)  # hold it open, never answer
                return
            conn.sendall(self.answer)
        except (OSError, ssl.SSLError):
            pass
        conn.close()

    def close(self) -> None:
        self.sock.close()
        for conn in self._held:
            conn.close()


@pytest.fixture(scope="module")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> PrivateCA:
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> PrivateCA:
    return make_ca(tmp_path_factory.mktemp("other-ca"), "some other CA")


@pytest.fixture(scope="module")
def tls_registry(tmp_path_factory: pytest.TempPathFactory, test_ca: PrivateCA) -> Iterator[RunningRegistry]:
    cert = test_ca.issue("tls-registry")
    reg = start_registry(tmp_path_factory.mktemp("tls-registry"), tls=(cert.cert, cert.key))
    yield reg
    reg.stop()


def tls_server(ca: PrivateCA, name: str) -> CountingServer:
    cert = ca.issue(name)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert.cert), str(cert.key))
    return CountingServer(context=context)


def test_a_closed_port_is_connection_refused_in_one_attempt(cli):
    host = f"127.0.0.1:{free_port()}"
    result = cli("tags", f"{host}/group/app", "--debug")
    assert result.code == EXIT_FAILED
    assert f"ci-tags: registry error: cannot reach {host}: connection refused (" in result.err
    assert len(_ATTEMPT_RE.findall(result.err)) == 1, result.err  # nothing listens: no retry
    assert "ConnectionRefusedError" in result.err  # --debug shows the chain
    assert "Traceback" not in result.err


def test_a_name_that_does_not_resolve_fails_in_one_attempt(cli):
    result = cli("tags", "registry.invalid/group/app", "--debug")
    assert result.code == EXIT_FAILED
    lines = [line for line in result.err.splitlines() if line.startswith("ci-tags:")]
    assert lines == ["ci-tags: registry error: cannot reach registry.invalid: the host name does not resolve "
                     "(check the spelling of the registry's name and the machine's DNS)"]
    assert len(_ATTEMPT_RE.findall(result.err)) == 1, result.err


def test_an_untrusted_certificate_names_tls_and_what_to_trust_in_one_attempt(cli, other_ca, closing):
    server = closing(tls_server(other_ca, "untrusted"))
    result = cli("tags", f"{server.host}/group/app")
    assert result.code == EXIT_FAILED
    assert result.err.startswith(f"ci-tags: registry error: TLS verification failed for {server.host}: ")
    assert "--ca-cert" in result.err and f"/etc/containers/certs.d/{server.host}/ca.crt" in result.err
    assert result.err.count("\n") == 1
    # a loopback host's scheme is found by one unverified handshake first (network.speaks_tls), then one attempt:
    # a certificate does not become trusted on a retry, and no plain-HTTP fallback
    assert server.accepted == 2


def test_a_plain_http_server_called_over_https_is_named_so_in_one_attempt(closing):
    server = closing(CountingServer())
    http = closing(Http(max_attempts=5, sleep=lambda s: None))
    with pytest.raises(Unreachable) as raised:
        http.request("GET", f"https://{server.host}/v2/")
    assert raised.value.message == f"{server.host} answered an HTTPS request with plain HTTP"
    assert f"--insecure-registry {server.host}" in (raised.value.hint or "")
    assert server.accepted == 1


def test_a_loopback_registry_speaking_plain_http_is_reached_after_trying_https(cli, registry, reg):
    from tests.support.images import push_image

    push_image(reg, "fallback/app", "v1")
    result = cli("tags", f"{registry.host}/fallback/app", "--debug")
    assert result.code == 0, result.err
    assert result.out == "v1\n"
    assert f"{registry.host} answers plain HTTP: using http://" in result.err


def test_a_loopback_hosts_scheme_is_told_by_one_handshake_that_trusts_nothing(registry, tls_registry, closing):
    """TLS or plain HTTP, told before the first request without a CA store (a verifying context costs more CPU
    than a one-shot retag's requests): a TLS server whose CA nobody trusts still counts as TLS (the request over
    HTTPS then verifies and refuses it), a plain-HTTP registry as plain; nothing listening: cannot tell."""
    from ci_tags.oci.network import speaks_tls

    assert speaks_tls(tls_registry.host, 2.0) is True
    assert speaks_tls(registry.host, 2.0) is False
    assert speaks_tls(f"127.0.0.1:{free_port()}", 2.0) is None
    never = closing(CountingServer(answer=None))  # accepts, never answers the handshake
    assert speaks_tls(never.host, 0.3) is None


@pytest.mark.parametrize("variable", ["http_proxy", "HTTP_PROXY"])
def test_the_proxy_the_environment_names_is_used_and_no_proxy_bypasses_it(registry, monkeypatch, closing, variable):
    """Proxies are read once per origin (not on every request), with the same meaning as requests gives them."""
    for name in ("http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    proxy = closing(CountingServer())  # answers 200 to whatever it is asked
    monkeypatch.setenv(variable, f"http://{proxy.host}")
    http = closing(Http(max_attempts=1))
    for _ in range(2):
        assert http.request("GET", f"{registry.url}/v2/nothing/tags/list").status_code == 200  # the proxy's answer
    assert proxy.accepted >= 1
    monkeypatch.setenv("no_proxy" if variable.islower() else "NO_PROXY", registry.host.split(":")[0])
    direct = closing(Http(max_attempts=1))
    assert direct.request("GET", f"{registry.url}/v2/nothing/tags/list").status_code == 404  # the registry's


def test_a_server_that_never_answers_times_out_and_is_retried(test_ca, closing):
    server = closing(CountingServer(answer=None))
    waits: list[float] = []
    http = closing(Http(timeout=(0.5, 0.3), max_attempts=2, sleep=waits.append))
    with pytest.raises(Unreachable) as raised:
        http.request("GET", f"http://{server.host}/v2/")
    assert raised.value.message == f"{server.host} did not answer in time (connect 0.5 s, read 0.3 s)"
    assert server.accepted == 2 and len(waits) == 1  # a timeout may pass: retried


# -- trusting a private CA -------------------------------------------------------------------------------------


def test_ca_cert_option_trusts_a_private_ca(cli, tls_registry, test_ca):
    result = cli("tags", f"{tls_registry.host}/none/here", "--ca-cert", str(test_ca.cert))
    assert result.code == 4, result.err  # reached over verified TLS: the repository is simply not there
    assert "not found" in result.err


def test_without_the_ca_the_tls_registry_is_refused(cli, tls_registry):
    result = cli("tags", f"{tls_registry.host}/none/here")
    assert result.code == EXIT_FAILED
    assert f"TLS verification failed for {tls_registry.host}" in result.err


def test_the_users_certs_d_is_trusted_per_host(cli, tls_registry, test_ca, clean_env):
    folder = Path(clean_env["HOME"]) / ".config" / "containers" / "certs.d" / tls_registry.host
    folder.mkdir(parents=True)
    (folder / "ca.crt").write_bytes(test_ca.cert.read_bytes())
    result = cli("tags", f"{tls_registry.host}/none/here")
    assert result.code == 4, result.err


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"])
def test_ca_bundle_variables_are_trusted(cli, tls_registry, test_ca, variable):
    result = cli("tags", f"{tls_registry.host}/none/here", env={variable: str(test_ca.cert)})
    assert result.code == 4, result.err


def test_trust_reads_containers_and_docker_certs_d(tmp_path, test_ca):
    containers, docker = tmp_path / "containers", tmp_path / "docker"
    (containers / "reg.example:5050").mkdir(parents=True)
    (containers / "reg.example:5050" / "ca.crt").write_bytes(test_ca.cert.read_bytes())
    (docker / "reg.example").mkdir(parents=True)
    (docker / "reg.example" / "ca.crt").write_bytes(test_ca.cert.read_bytes())
    (docker / "reg.example" / "client.cert").write_text("not a CA")
    trust = Trust({}, system_certs_d=[containers, docker])
    assert trust.extra_files("reg.example:5050") == [containers / "reg.example:5050" / "ca.crt"]
    assert trust.extra_files("reg.example") == [docker / "reg.example" / "ca.crt"]
    assert trust.extra_files("other.example") == []
    trust.share("auth.example", "reg.example")  # a token service is trusted as its registry
    assert trust.extra_files("auth.example") == [docker / "reg.example" / "ca.crt"]


def test_a_missing_ca_cert_file_is_bad_input(cli, tmp_path):
    result = cli("tags", "127.0.0.1:1/x/y", "--ca-cert", str(tmp_path / "nope.crt"))
    assert result.code == 2
    assert "--ca-cert" in result.err and "no such file" in result.err


def test_an_https_registry_named_insecure_says_it_speaks_https(cli, tls_registry):
    result = cli("tags", f"{tls_registry.host}/x/y", "--insecure-registry", tls_registry.host)
    assert result.code == EXIT_FAILED
    assert result.err == (f"ci-tags: registry error: {tls_registry.host} speaks HTTPS and was called over plain HTTP "
                          f"(drop --insecure-registry {tls_registry.host} (or CI_TAGS_INSECURE_REGISTRIES))\n")
