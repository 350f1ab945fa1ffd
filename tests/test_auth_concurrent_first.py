"""Concurrent first requests to a Basic-auth registry: those sent before any thread learned the challenge are
retried with the credentials, not reported as refused credentials."""

from __future__ import annotations

from functools import partial

from ci_tags.concurrency import run_all
from ci_tags.oci.client import Registry
from ci_tags.oci.http import Http
from ci_tags.oci.registries import Registries
from tests.support.auth import BASIC_USERS


def head_of_race(registry: Registry, i: int) -> str | None:
    return registry.head_manifest(f"race/r{i}", "v1")


def test_concurrent_first_requests_all_authenticate(clean_env, basic_registry, closing) -> None:
    for _ in range(3):  # a fresh client each time: the race is on the first challenge
        regs = Registries(closing(Http()), clean_env, username="alice", password=BASIC_USERS["alice"])
        registry = regs.get(basic_registry.host)
        outcomes = run_all(partial(head_of_race, registry), list(range(8)), 8)
        assert [(digest, err) for _, digest, err in outcomes] == [(None, None)] * 8
