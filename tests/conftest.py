from __future__ import annotations

import io
import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import pytest

from ci_tags.cli import main
from ci_tags.oci.client import Registry
from ci_tags.oci.http import Http
from ci_tags.oci.registries import Registries
from tests.support.registry import RunningRegistry, start_registry


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    """The real CNCF distribution registry on a free loopback port, delete enabled, anonymous."""
    reg = start_registry(tmp_path_factory.mktemp("registry"))
    yield reg
    reg.stop()


@pytest.fixture(scope="session")
def registry2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    """A second, independent registry, for cross-registry copies."""
    reg = start_registry(tmp_path_factory.mktemp("registry2"))
    yield reg
    reg.stop()


@pytest.fixture(autouse=True)
def _in_tmp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs in its own empty folder, so none reads this repository's own ci-tags.yml by accident."""
    monkeypatch.chdir(tmp_path)


class Closable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=Closable)


@pytest.fixture
def closing() -> Iterator[Callable[[C], C]]:
    """``closing(thing)`` hands ``thing`` back and closes it when the test ends, passed or failed, the last one
    first: a test's fronts, fake APIs, servers and HTTP clients, without a try/finally in the test."""
    with ExitStack() as stack:

        def close_at_end(thing: C) -> C:
            stack.callback(thing.close)
            return thing

        yield close_at_end


@pytest.fixture
def unique() -> Callable[[str], str]:
    """``unique("linaro")`` -> ``"linaro-3f9a0c1d"``: a namespace of this test's own (one suffix per test), for a
    test that lists a namespace of a session-wide registry, which other tests write to as well."""
    suffix = uuid.uuid4().hex[:8]
    return lambda name: f"{name}-{suffix}"


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    """An environment with no credentials from the machine: HOME points at an empty folder."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"HOME": str(home), "PATH": os.environ.get("PATH", "")}


@pytest.fixture
def client(clean_env: dict[str, str]) -> Iterator[Registries]:
    regs = Registries(Http(), clean_env)
    yield regs
    regs.http.close()


@pytest.fixture
def reg(client: Registries, registry: RunningRegistry) -> Registry:
    return client.get(registry.host)


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(clean_env: dict[str, str]):
    """Run ``ci-tags`` in-process: ``cli("tags", ref, env={...})`` -> CliResult."""

    def run(*argv: str, env: Mapping[str, str] | None = None, stdin: str = "") -> CliResult:
        out, err = io.StringIO(), io.StringIO()
        try:
            code = main(list(argv), env={**clean_env, **(env or {})}, stdout=out, stderr=err,
                        stdin=io.StringIO(stdin))
        except SystemExit as exc:  # --help, --version
            code = int(exc.code or 0)
        options = argv[: argv.index("--")] if "--" in argv else argv  # after --, "--json" is an argument
        if "--json" in options and "--help" not in options and out.getvalue():
            # every --json output any test produces must match the published schema of its command
            from tests.support.schemas import validated

            validated(out.getvalue())
        return CliResult(code, out.getvalue(), err.getvalue())

    return run


# -- authenticated registries (tests/support/auth.py) ------------------------------------------------------------

from tests.support.auth import TokenIssuer, start_basic_registry  # noqa: E402


@pytest.fixture(scope="session")
def basic_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    """The real registry behind htpasswd Basic auth; users and passwords in ``tests.support.auth.BASIC_USERS``."""
    reg = start_basic_registry(tmp_path_factory.mktemp("basic-registry"))
    yield reg
    reg.stop()


@pytest.fixture(scope="session")
def token_issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenIssuer]:
    """The token service of ``token_registry``; users in ``TOKEN_USERS``, grants in ``TOKEN_GRANTS``."""
    issuer = TokenIssuer(tmp_path_factory.mktemp("token-issuer"))
    yield issuer
    issuer.close()


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory: pytest.TempPathFactory, token_issuer: TokenIssuer) -> Iterator[RunningRegistry]:
    """The real registry behind Docker token auth, trusting ``token_issuer``."""
    reg = start_registry(tmp_path_factory.mktemp("token-registry"), auth=token_issuer.registry_auth())
    yield reg
    reg.stop()


# -- whole GitLab pipelines (tests/support/gitlab_pipeline.py): module-scoped, one project per test module ---------

from tests.support.gitlab_pipeline import gitlab_project, gitlab_registry  # noqa: E402, F401
