"""Authentication under concurrency: concurrent first requests to a registry that answers 401 authenticate once
per host and scope set; a token that expires under concurrent requests is fetched again once."""

from __future__ import annotations

from ci_tags.oci.auth import scope
from ci_tags.oci.http import Http
from ci_tags.oci.registries import Registries
from ci_tags.oci.resolve import resolve_tags
from tests.support.auth import BASIC_USERS, TOKEN_USERS
from tests.support.images import push_image


def test_retag_from_an_open_registry_into_a_basic_auth_one_never_races(cli, reg, registry, basic_registry):
    """Was: "refused the credentials" in about 2 runs of 3 at the default concurrency. Every one of 20 runs, each a
    fresh process state, copies a 6-blob image with 8 requests in flight at the first 401."""
    push_image(reg, "race/src", "v1", layers=5)
    env = {"CI_TAGS_REGISTRY_USER": "alice", "CI_TAGS_REGISTRY_PASSWORD": BASIC_USERS["alice"]}
    failures = []
    for run in range(20):
        result = cli("retag", f"{registry.host}/race/src:v1", f"{basic_registry.host}/race/dst{run}:v1", env=env)
        if result.code != 0:
            failures.append(result.err.strip())
    assert failures == []


def test_concurrent_first_requests_fetch_one_token_per_scope_set(clean_env, token_registry, token_issuer, closing):
    regs = Registries(closing(Http()), clean_env, username="alice", password=TOKEN_USERS["alice"])
    registry = regs.get(token_registry.host)
    pushed = push_image(registry, "bearer/burst", "t0")
    tags = [f"t{i}" for i in range(16)]
    for tag in tags[1:]:
        registry.put_manifest("bearer/burst", tag, pushed.manifest)
    fresh = Registries(closing(Http()), clean_env, username="alice", password=TOKEN_USERS["alice"])
    mark = token_issuer.mark()
    digests, errors = resolve_tags(fresh.get(token_registry.host), "bearer/burst", tags, concurrency=8)
    assert errors == {}
    assert set(digests.values()) == {pushed.manifest.digest}
    asked = [r.scopes for r in token_issuer.since(mark)]
    assert asked == [(scope("bearer/burst", "pull"),)]  # one token for 8 concurrent first requests


def test_a_token_that_expires_under_concurrent_requests_is_fetched_again_once(
    clean_env, token_registry, token_issuer, monkeypatch, closing
):
    regs = Registries(closing(Http()), clean_env, username="alice", password=TOKEN_USERS["alice"])
    registry = regs.get(token_registry.host)
    pushed = push_image(registry, "bearer/expiry-burst", "t0")
    tags = [f"t{i}" for i in range(16)]
    for tag in tags[1:]:
        registry.put_manifest("bearer/expiry-burst", tag, pushed.manifest)
    monkeypatch.setattr(token_issuer, "expired_tokens", 1)  # the next token is refused by the registry
    mark = token_issuer.mark()
    digests, errors = resolve_tags(registry, "bearer/expiry-burst", tags, concurrency=8)
    assert errors == {}
    assert set(digests.values()) == {pushed.manifest.digest}
    pulls = [r for r in token_issuer.since(mark) if r.scopes == (scope("bearer/expiry-burst", "pull"),)]
    assert len(pulls) == 2  # the expired one, then exactly one refresh for all 8 threads
