"""Registry authentication: parse ``WWW-Authenticate``, Basic auth, and the Bearer token flow.

Tokens are cached per set of scopes, and fetched once per set even when many requests need one at the same time
(a first burst of concurrent requests, or a token that expired under them). A 401 is judged by what its request
carried, not by what other threads learned meanwhile. A token whose grant is narrower than asked is remembered,
so that the refusal that follows can say which action was missing instead of a bare 401.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ci_tags.core.credentials import Credentials
from ci_tags.errors import AuthError, BadInput, RegistryError

if TYPE_CHECKING:
    from ci_tags.oci.http import Http

NO_CREDENTIALS_HINT = "pass --username/--password, set CI_TAGS_REGISTRY_USER/_PASSWORD, or log in with docker/podman"
_PARAM_RE = re.compile(r'([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))')


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lowercase: "bearer" or "basic"
    params: dict[str, str] = field(default_factory=dict)


def parse_challenge(header: str) -> Challenge:
    """Parse one ``WWW-Authenticate`` challenge, e.g. ``Bearer realm="...",service="...",scope="..."``."""
    scheme, _, rest = header.strip().partition(" ")
    params = {
        m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3)) for m in _PARAM_RE.finditer(rest)
    }
    params = {k: v.replace('\\"', '"') for k, v in params.items()}
    return Challenge(scheme.lower(), params)


def scope(repository: str, *actions: str) -> str:
    return f"repository:{repository}:{','.join(actions)}"


def _granted_actions(token: str) -> dict[str, set[str]] | None:
    """What a JWT's ``access`` claim grants, by ``type:name``; None when the token is opaque."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, json.JSONDecodeError):
        return None
    access = payload.get("access") if isinstance(payload, dict) else None
    if not isinstance(access, list):
        return None
    granted: dict[str, set[str]] = {}
    for item in access:
        if isinstance(item, dict):
            key = f"{item.get('type')}:{item.get('name')}"
            granted.setdefault(key, set()).update(item.get("actions") or [])
    return granted


def missing_actions(scopes: Iterable[str], granted: dict[str, set[str]] | None) -> list[str]:
    """The ``type:name:action`` entries asked for in ``scopes`` that ``granted`` does not hold."""
    if granted is None:
        return []
    missing = []
    for item in scopes:
        kind, _, rest = item.partition(":")
        name, _, actions = rest.rpartition(":")
        have = granted.get(f"{kind}:{name}", set())
        missing += [f"{kind}:{name}:{a}" for a in actions.split(",") if a and a not in have and "*" not in have]
    return missing


class Authenticator:
    """Auth state for one registry host: the last challenge seen and a token cache keyed by scopes."""

    def __init__(
        self,
        registry: str,
        credentials: Credentials | None,
        http: Http,
        plain_http_ok: Callable[[str], bool] = lambda host: False,
    ) -> None:
        self.registry = registry
        self.credentials = credentials
        self.http = http
        self.plain_http_ok = plain_http_ok  # may this host (a realm's) be reached over plain HTTP?
        self.challenge: Challenge | None = None
        self._tokens: dict[frozenset[str], tuple[str, float, list[str]]] = {}
        # What the last token for each set of scopes lacked; kept apart from the cache, which 401s empty.
        self._missing: dict[frozenset[str], list[str]] = {}
        self._fetching: dict[frozenset[str], threading.Lock] = {}  # one token request in flight per scope set
        self._lock = threading.Lock()

    def header(self, scopes: Iterable[str]) -> dict[str, str]:
        """The Authorization header to send for an operation needing ``scopes`` (empty when anonymous)."""
        challenge = self.challenge
        if challenge is None:
            return {}
        if challenge.scheme == "basic":
            if not self.credentials:
                return {}
            raw = f"{self.credentials.username}:{self.credentials.password}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
        if challenge.scheme == "bearer":
            token, _ = self._token(frozenset(scopes))
            return {"Authorization": f"Bearer {token}"} if token else {}
        return {}

    def unauthorized(self, www_authenticate: str | None, scopes: Iterable[str], sent: str | None = None) -> bool:
        """Handle a 401 to a request that carried the Authorization header ``sent`` (None: none): learn the
        challenge, drop the token it carried if it is still the cached one; True when a retry may succeed."""
        if not www_authenticate:
            return False
        challenge = parse_challenge(www_authenticate)
        if challenge.scheme not in ("basic", "bearer"):
            raise AuthError(f"{self.registry} asks for unsupported auth scheme {challenge.scheme!r}")
        key = frozenset(scopes)
        with self._lock:
            self.challenge = Challenge(challenge.scheme, {k: v for k, v in challenge.params.items() if k != "scope"})
            if challenge.scheme == "basic":
                # Another thread may have learned the challenge first: what counts is whether this request had
                # credentials. A refused Basic login is final; no credentials at all is final too.
                return self.credentials is not None and not (sent or "").lower().startswith("basic ")
            cached = self._tokens.get(key)
            sent_token = sent[len("Bearer "):] if sent and sent.lower().startswith("bearer ") else None
            if cached and cached[0] == sent_token:
                del self._tokens[key]  # expired or revoked: the next header fetches a new one, once
        # Bearer: no token sent, or one that is no longer current (refreshed by another thread, or just dropped)
        return True

    def refusal(self, scopes: Iterable[str], status: int) -> AuthError:
        """The error for a request still refused after authenticating: names the user, never the secret."""
        who = f"as {self.credentials.username}" if self.credentials else "anonymously"
        with self._lock:
            missing = self._missing.get(frozenset(scopes), [])
        if missing:
            return AuthError(
                f"{self.registry} granted less than asked {who}: missing {', '.join(missing)}",
                hint="the credentials lack permission for this repository or action"
                if self.credentials
                else NO_CREDENTIALS_HINT,
            )
        if status == 403:
            return AuthError(f"{self.registry} denied access {who}", hint="the account lacks permission")
        if self.credentials:
            return AuthError(
                f"{self.registry} refused the credentials of {self.credentials.username} "
                f"(from {self.credentials.source})",
                hint="check the user name and password or token",
            )
        return AuthError(
            f"{self.registry} requires authentication and no credentials were found", hint=NO_CREDENTIALS_HINT
        )

    def _token(self, key: frozenset[str]) -> tuple[str, list[str]]:
        with self._lock:
            cached = self._tokens.get(key)
            if cached and cached[1] > time.monotonic():
                return cached[0], cached[2]
            flight = self._fetching.setdefault(key, threading.Lock())
        with flight:  # concurrent first requests for one scope set: one asks, the others take its token
            with self._lock:
                cached = self._tokens.get(key)
                if cached and cached[1] > time.monotonic():
                    return cached[0], cached[2]
            token, lifetime, missing = self._fetch_token(key)
            with self._lock:
                self._tokens[key] = (token, time.monotonic() + max(lifetime - 30, lifetime / 2), missing)
                self._missing[key] = missing
        return token, missing

    def _fetch_token(self, key: frozenset[str]) -> tuple[str, float, list[str]]:
        assert self.challenge is not None
        realm = self.challenge.params.get("realm")
        if not realm:
            raise AuthError(f"{self.registry} sent a Bearer challenge without a realm")
        realm_host = urlsplit(realm).netloc.rpartition("@")[2]
        if not realm.startswith("https://") and not (realm.startswith("http://") and self.plain_http_ok(realm_host)):
            raise BadInput(
                f"{self.registry} asks for a token from {realm_host} over plain HTTP; refusing to send credentials",
                hint=f"name {realm_host} with --insecure-registry if this is intended",
            )
        self.http.trust.share(realm_host, self.registry)  # the container tools trust a realm as its registry
        params: list[tuple[str, str]] = []
        if "service" in self.challenge.params:
            params.append(("service", self.challenge.params["service"]))
        params += [("scope", s) for s in sorted(key)]
        auth = (self.credentials.username, self.credentials.password) if self.credentials else None
        resp = self.http.request("GET", realm, params=params, auth=auth)
        if resp.status_code in (401, 403):
            if self.credentials:
                raise self.refusal((), 401)
            raise AuthError(f"the token service of {self.registry} refused anonymous access", hint=NO_CREDENTIALS_HINT)
        if resp.status_code != 200:
            raise RegistryError(f"the token service of {self.registry} answered {resp.status_code}")
        try:
            body = resp.json()
        except (ValueError, RecursionError):
            raise RegistryError(f"the token service of {self.registry} did not answer JSON") from None
        if not isinstance(body, dict):
            raise RegistryError(f"the token service of {self.registry} did not answer a JSON object")
        token = body.get("token") or body.get("access_token") or ""
        if not isinstance(token, str) or not token:
            raise RegistryError(f"the token service of {self.registry} sent no token (or one that is not a string)")
        try:
            lifetime = float(body.get("expires_in") or 60)
        except (TypeError, ValueError):
            lifetime = 60.0
        return token, lifetime, missing_actions(key, _granted_actions(token))
