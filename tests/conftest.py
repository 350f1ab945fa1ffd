from __future__ import annotations

import io
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from ci_tags.cli import main
from ci_tags.registry.client import Registries, Registry
from ci_tags.registry.http import Http
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
def cli(clean_env: dict[str, str]):  # type: ignore[no-untyped-def]
    """Run ``ci-tags`` in-process: ``cli("tags", ref, env={...})`` -> CliResult."""

    def run(*argv: str, env: Mapping[str, str] | None = None) -> CliResult:
        out, err = io.StringIO(), io.StringIO()
        try:
            code = main(list(argv), env={**clean_env, **(env or {})}, stdout=out, stderr=err)
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
        return CliResult(code, out.getvalue(), err.getvalue())

    return run
