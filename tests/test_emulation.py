"""Whether a build's RUN steps can execute for an architecture on this machine: a pure table, and `ci-tags build`
refusing, before it starts, what would fail deep inside the builder with "exec format error"."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ci_tags.builders.emulation import can_run, host_arch
from tests.support.project import buildah_env, push_busybox_base


@pytest.mark.parametrize(
    ("machine", "arch", "registered", "expected"),
    [
        ("x86_64", "amd64", [], True),
        ("x86_64", "386", [], True),
        ("x86_64", "arm64", [], False),
        ("x86_64", "arm64", ["qemu-aarch64"], True),
        ("x86_64", "arm-v7", ["qemu-arm"], True),
        ("x86_64", "s390x", ["qemu-aarch64"], False),
        ("aarch64", "arm64", [], True),
        ("aarch64", "arm-v7", [], True),
        ("aarch64", "amd64", [], False),
        ("aarch64", "amd64", ["qemu-x86_64"], True),
        ("mystery", "arm64", [], True),  # an unknown host: the build itself will tell
    ],
)
def test_can_run(machine: str, arch: str, registered: list[str], expected: bool, tmp_path: Path) -> None:
    for name in registered:
        (tmp_path / name).write_text("enabled\n")
    assert can_run(arch, machine, tmp_path) is expected


@pytest.mark.skipif(shutil.which("buildah") is None, reason="buildah is installed by .ci/setup")
@pytest.mark.skipif(host_arch() != "amd64" or can_run("arm64"), reason="needs an amd64 host without arm64 qemu")
def test_build_refuses_run_steps_it_cannot_execute_and_builds_what_it_can(registry, cli, tmp_path, monkeypatch):
    env = buildah_env(tmp_path / "buildah")
    base = push_busybox_base(registry.host, tmp_path, env)
    root = tmp_path / "proj"
    (root / "docker").mkdir(parents=True)
    (root / "docker" / "Dockerfile").write_text(f"FROM {base}\nCOPY a.txt /a.txt\nRUN cat /a.txt\n")
    (root / "docker" / "a.txt").write_text("a\n")
    (root / "docker" / "Copy.Dockerfile").write_text("FROM scratch\nCOPY a.txt /a.txt\n")
    (root / "ci-tags.yml").write_text(
        f"registry: {registry.host}/emu\nimages:\n"
        "  runs:\n    dockerfile: docker/Dockerfile\n    arches: [amd64, arm64]\n"
        "  copies:\n    dockerfile: docker/Copy.Dockerfile\n    arches: [arm64]\n"
    )
    monkeypatch.chdir(root)
    ci = {**env, "CI_TAGS_PIPELINE_ID": "3", "CI_TAGS_BRANCH": "main"}
    refused = cli("build", "runs", "--arch", "arm64", env=ci)
    assert refused.code == 1
    assert "docker/Dockerfile:3: RUN steps for arm64 cannot execute on this amd64 machine" in refused.err
    assert "qemu-user-static" in refused.err
    assert cli("build", "copies", "--arch", "arm64", env=ci).code == 0  # no RUN step: any architecture
    built = cli("build", "runs", "--arch", "amd64", env=ci)
    assert built.code == 0, built.err
