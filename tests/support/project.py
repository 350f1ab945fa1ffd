"""Real builds for the tests: buildah (vfs storage, chroot isolation, in a temp folder) and a busybox base
image made from Debian's busybox-static, pushed to the test registry (no internet needed)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


def buildah_env(root: Path) -> dict[str, str]:
    """Environment for buildah as root with its storage under ``root``: nothing touches the machine's."""
    root.mkdir(parents=True, exist_ok=True)
    conf = root / "storage.conf"
    conf.write_text(
        f'[storage]\ndriver = "vfs"\ngraphroot = "{root}/storage"\nrunroot = "{root}/run"\n'
    )
    return {
        "CONTAINERS_STORAGE_CONF": str(conf),
        "STORAGE_DRIVER": "vfs",
        "BUILDAH_ISOLATION": "chroot",
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(root),
    }


def push_busybox_base(
    registry_host: str, work: Path, env: dict[str, str], *, repository: str = "base/busybox",
    push_args: tuple[str, ...] = ("--tls-verify=false",),
) -> str:
    """Build ``<registry>/<repository>:1`` FROM scratch with busybox and push it; return the reference.
    ``push_args``: how buildah reaches the registry (default: plain HTTP; e.g. ``--authfile FILE`` for a TLS
    registry whose CA is in certs.d)."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    rootfs = work / "busybox" / "rootfs" / "bin"
    rootfs.mkdir(parents=True, exist_ok=True)
    shutil.copy(busybox, rootfs / "busybox")
    if not (rootfs / "sh").exists():
        (rootfs / "sh").symlink_to("busybox")
    (work / "busybox" / "Dockerfile").write_text("FROM scratch\nCOPY rootfs/ /\n")
    ref = f"{registry_host}/{repository}:1"
    subprocess.run(["buildah", "bud", "--quiet", "-t", ref, str(work / "busybox")], env=env, check=True,
                   capture_output=True)
    subprocess.run(["buildah", "push", *push_args, ref, f"docker://{ref}"], env=env, check=True, capture_output=True)
    return ref


def write_project(root: Path, registry_host: str, base: str) -> Path:
    """A project with three images: ``base`` FROM busybox (a RUN step and copied files), ``app`` FROM base, and
    ``tools``, FROM scratch for amd64 and arm64 (no RUN step, so no emulator is needed for arm64)."""
    (root / "docker" / "base" / "files").mkdir(parents=True, exist_ok=True)
    (root / "docker" / "app").mkdir(parents=True, exist_ok=True)
    (root / "docker" / "base" / "Dockerfile").write_text(
        f"FROM {base}\nCOPY files/ /opt/files/\nRUN echo built > /opt/built\n"
    )
    (root / "docker" / "base" / "files" / "hello.txt").write_text("hello\n")
    (root / "docker" / "base" / "unused.txt").write_text("not copied\n")
    (root / "docker" / "app" / "Dockerfile").write_text(
        "ARG BASE=base\nFROM $BASE\nCOPY app.sh /usr/local/bin/app.sh\n"
    )
    (root / "docker" / "app" / "app.sh").write_text("#!/bin/sh\necho app\n")
    (root / "docker" / "tools").mkdir(parents=True, exist_ok=True)
    (root / "docker" / "tools" / "Dockerfile").write_text("FROM scratch\nCOPY tool.txt /tool.txt\n")
    (root / "docker" / "tools" / "tool.txt").write_text("a tool\n")
    (root / "ci-tags.yml").write_text(
        f"""registry: {registry_host}/ci
images:
  base:
    dockerfile: docker/base/Dockerfile
  app:
    dockerfile: docker/app/Dockerfile
  tools:
    dockerfile: docker/tools/Dockerfile
    arches: [amd64, arm64]
publish: [latest]
"""
    )
    return root / "ci-tags.yml"
