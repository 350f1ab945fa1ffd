"""Can this machine run a build's RUN steps for an architecture? Natively, or through a qemu handler registered
with the kernel's binfmt_misc. Without either, building arm64 on an amd64 runner fails deep inside the build
with "exec format error"; ``ci-tags build`` says so before it starts. A Dockerfile without RUN steps (FROM and
COPY only) builds for any architecture anywhere. Pure but for reading the machine's name and a folder."""

from __future__ import annotations

import platform
from pathlib import Path

from ci_tags.core.arches import BY_NAME, arch_of_machine

BINFMT = Path("/proc/sys/fs/binfmt_misc")


def host_arch(machine: str | None = None) -> str | None:
    return arch_of_machine(machine if machine is not None else platform.machine())


def can_run(arch: str, machine: str | None = None, binfmt: Path = BINFMT) -> bool:
    """True when binaries of ``arch`` run here: the host's own, one it runs natively, or a registered qemu."""
    host = host_arch(machine)
    if host is None or arch == host or arch in BY_NAME[host].runs_too:
        return True  # an unknown host: let the build tell
    known = BY_NAME.get(arch)
    return known is not None and (binfmt / f"qemu-{known.qemu}").exists()
