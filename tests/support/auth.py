"""Authenticated registries for the tests: the real distribution registry behind htpasswd Basic auth, and behind
Docker token auth with a small token issuer written here.

The issuer implements the Docker registry token flow: ``GET /token?service=...&scope=...`` with Basic auth
answers ``{"token", "access_token", "expires_in"}``, where the token is an RS256 JWT whose ``x5c`` header holds a
self-signed certificate that the registry trusts (``auth.token.rootcertbundle``). Distribution 2.8 checks the
issuer, that ``aud`` (a string in 2.8) is its service, ``exp``/``nbf`` (with a minute of leeway), the signature,
and that the ``access`` claim holds every action a request needs. Each user has grant rules, so a grant smaller
than asked can be tested; every token request is recorded.

``htpasswd`` (apache2-utils) makes the bcrypt password file: distribution only accepts bcrypt entries.
"""

from __future__ import annotations

import base64
import datetime
import fnmatch
import json
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.registry import RunningRegistry, start_registry

# Distinctive secrets, so that a test can assert they appear nowhere in the output.
BASIC_USERS = {"alice": "alice-basic-S3cret-41f7"}
TOKEN_USERS = {
    "alice": "alice-token-S3cret-9c2e",
    "reader": "reader-token-S3cret-07ab",
    "gitlab-ci-token": "glcbt-64_job-token-S3cret-5d1a",  # GitLab's CI_REGISTRY_USER and a job token
}


@dataclass(frozen=True)
class Grant:
    """Actions a user may have on resources matching ``pattern`` (fnmatch on ``type:name``)."""

    pattern: str
    actions: frozenset[str]


# user -> rules; "" holds the rules for anonymous requests (none: an empty grant), when they are allowed.
TOKEN_GRANTS: dict[str, list[Grant]] = {
    "alice": [Grant("repository:*", frozenset({"pull", "push", "delete"}))],
    "reader": [Grant("repository:*", frozenset({"pull"}))],
    "gitlab-ci-token": [Grant("repository:gitlab/project*", frozenset({"pull", "push"}))],
    "": [],
}


def write_htpasswd(path: Path, users: Mapping[str, str]) -> None:
    """A bcrypt htpasswd file (cost 4, the lowest: the registry checks it on every request)."""
    binary = shutil.which("htpasswd")
    if not binary:
        raise RuntimeError("htpasswd is not installed: apt-get install -y apache2-utils")
    lines = []
    for user, password in users.items():
        done = subprocess.run(
            [binary, "-nbB", "-C", "4", user, password], capture_output=True, text=True, check=True
        )
        lines.append(done.stdout.strip())
    path.write_text("\n".join(lines) + "\n")


def start_basic_registry(
    root: Path, users: Mapping[str, str] = BASIC_USERS, tls: tuple[Path, Path] | None = None
) -> RunningRegistry:
    """The real registry behind htpasswd Basic auth (over TLS with ``tls``: certificate and key files)."""
    root.mkdir(parents=True, exist_ok=True)
    write_htpasswd(root / "htpasswd", users)
    return start_registry(root, auth={"htpasswd": {"realm": "ci-tags-test", "path": str(root / "htpasswd")}},
                          tls=tls)


def parse_scope(text: str) -> tuple[str, str, list[str]]:
    """``repository:group/name:pull,push`` -> ``("repository", "group/name", ["pull", "push"])``."""
    kind, _, rest = text.partition(":")
    name, _, actions = rest.rpartition(":")
    return kind, name, [a for a in actions.split(",") if a]


@dataclass(frozen=True)
class TokenRequest:
    """One request the issuer answered: who asked (None: anonymous), for what, and what it granted."""

    user: str | None
    service: str | None
    scopes: tuple[str, ...]
    status: int
    access: tuple[tuple[str, str, tuple[str, ...]], ...] = ()

    @property
    def repositories(self) -> list[str]:
        """The repository named by each scope, in order (a repository twice means scopes were not merged)."""
        return [parse_scope(s)[1] for s in self.scopes if s.startswith("repository:")]

    def asked(self) -> dict[str, set[str]]:
        """``{repository: actions}`` asked for."""
        return {parse_scope(s)[1]: set(parse_scope(s)[2]) for s in self.scopes if s.startswith("repository:")}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenIssuer:
    """A Docker registry token service on a free loopback port, for one registry (``service``)."""

    def __init__(
        self,
        root: Path,
        users: Mapping[str, str] = TOKEN_USERS,
        grants: Mapping[str, Sequence[Grant]] = TOKEN_GRANTS,
        *,
        service: str = "ci-tags-test-registry",
        issuer: str = "ci-tags-test-issuer",
        lifetime: int = 300,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        self.users = dict(users)
        self.grants = {k: list(v) for k, v in grants.items()}
        self.service = service
        self.issuer = issuer
        self.lifetime = lifetime
        self.allow_anonymous = False  # True: anonymous requests get a token with the "" rules (GitLab, Hub)
        self.requests: list[TokenRequest] = []
        self.issued: list[str] = []  # every token handed out, so tests can check none is ever printed
        self.expired_tokens = 0  # the next N tokens are signed already expired (a token that expired in use)
        self._lock = threading.Lock()

        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ci-tags test token issuer")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        self._x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
        root.mkdir(parents=True, exist_ok=True)
        self.cert_path = root / "token-issuer.pem"
        self.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))

        issuer_self = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                status, body, headers = issuer_self._answer(self.path, self.headers.get("Authorization"))
                payload = json.dumps(body).encode()
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        scheme = "http"
        if tls:
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.realm = f"{scheme}://127.0.0.1:{self.server.server_address[1]}/token"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def registry_auth(self) -> dict[str, Any]:
        """The registry's ``auth:`` section that trusts this issuer."""
        return {
            "token": {
                "realm": self.realm,
                "service": self.service,
                "issuer": self.issuer,
                "rootcertbundle": str(self.cert_path),
            }
        }

    def mark(self) -> int:
        """A position in the request record; ``since(mark)`` gives what came after."""
        with self._lock:
            return len(self.requests)

    def since(self, mark: int) -> list[TokenRequest]:
        with self._lock:
            return self.requests[mark:]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- the token flow --------------------------------------------------------------------------------------

    def _user(self, authorization: str | None) -> tuple[bool, str | None]:
        """``(accepted, user)``: user None for an anonymous request."""
        if not authorization:
            return self.allow_anonymous, None
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "basic":
            return False, None
        try:
            user, sep, password = base64.b64decode(value).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False, None
        return bool(sep) and user in self.users and self.users[user] == password, user

    def grant(self, user: str | None, scopes: Sequence[str]) -> list[dict[str, Any]]:
        """The ``access`` claim: for each scope, the asked actions that the user's rules allow."""
        rules = self.grants.get(user or "", [])
        access = []
        for item in scopes:
            kind, name, actions = parse_scope(item)
            allowed = set().union(*(g.actions for g in rules if fnmatch.fnmatchcase(f"{kind}:{name}", g.pattern)))
            granted = [a for a in actions if a in allowed]
            if granted:
                access.append({"type": kind, "name": name, "actions": granted})
        return access

    def _answer(self, path: str, authorization: str | None) -> tuple[int, dict[str, Any], dict[str, str]]:
        parts = urlsplit(path)
        query = parse_qs(parts.query)
        service = (query.get("service") or [""])[0] or None
        scopes = tuple(query.get("scope") or [])
        ok, user = self._user(authorization)
        if parts.path != "/token":
            return self._record(user, service, scopes, 404, []), {"details": "not found"}, {}
        if not ok:
            status = self._record(user, service, scopes, 401, [])
            challenge = {"WWW-Authenticate": 'Basic realm="ci-tags test token issuer"'}
            return status, {"details": "incorrect username or password"}, challenge
        if service != self.service:
            return self._record(user, service, scopes, 400, []), {"details": "unknown service"}, {}
        access = self.grant(user, scopes)
        with self._lock:
            expired, self.expired_tokens = self.expired_tokens > 0, max(0, self.expired_tokens - 1)
        # the answer still says expires_in=lifetime: the client learns of the expiry from the registry's 401
        token = self.sign(user or "", access, expires_in=-120 if expired else None)
        with self._lock:
            self.issued.append(token)
        self._record(user, service, scopes, 200, access)
        return 200, {"token": token, "access_token": token, "expires_in": self.lifetime}, {}

    def sign(self, subject: str, access: list[dict[str, Any]], *, expires_in: int | None = None) -> str:
        """An RS256 JWT for this issuer's registry, signed by the key of the certificate in ``x5c``."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self._x5c]}
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": now + (self.lifetime if expires_in is None else expires_in),
            "nbf": now - 1,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"

    def _record(
        self, user: str | None, service: str | None, scopes: tuple[str, ...], status: int, access: list[dict[str, Any]]
    ) -> int:
        granted = tuple((a["type"], a["name"], tuple(a["actions"])) for a in access)
        with self._lock:
            self.requests.append(TokenRequest(user, service, scopes, status, granted))
        return status
