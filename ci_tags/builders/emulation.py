"""Can this machine run a build's RUN steps for an architecture? Natively, or through a qemu handler registered
with the kernel's binfmt_misc. Without either, building arm64 on an amd64 runner fails deep inside the build
with "exec format error"; ``ci-tags build`` says so before it starts. A Dockerfile without RUN steps (FROM and
COPY only) builds for any architecture anywhere. Pure but for reading the machine's name and a folder."""

from __future__ import annotations

import platform
from pathlib import Path

BINFMT = Path("/proc/sys/fs/binfmt_misc")
# platform.machine() -> ci-tags' architecture names (config.ARCHES)
HOST_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "armv7l": "arm",
             "armv6l": "arm-v6", "i686": "386", "i386": "386", "ppc64le": "ppc64le", "s390x": "s390x",
             "riscv64": "riscv64"}
# what a host runs natively besides its own architecture
NATIVE_TOO = {"amd64": {"386"}, "arm64": {"arm", "arm-v7", "arm-v6"}, "arm": {"arm-v7", "arm-v6"}}
# ci-tags' architecture -> the name qemu-user-static registers (/proc/sys/fs/binfmt_misc/qemu-<name>)
QEMU_NAME = {"amd64": "x86_64", "arm64": "aarch64", "arm": "arm", "arm-v7": "arm", "arm-v6": "arm",
             "386": "i386", "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


def host_arch(machine: str | None = None) -> str | None:
    return HOST_ARCH.get((machine if machine is not None else platform.machine()).lower())


def can_run(arch: str, machine: str | None = None, binfmt: Path = BINFMT) -> bool:
    """True when binaries of ``arch`` run here: the host's own, one it runs natively, or a registered qemu."""
    host = host_arch(machine)
    if host is None or arch == host or arch in NATIVE_TOO.get(host, set()):
        return True  # an unknown host: let the build tell
    name = QEMU_NAME.get(arch)
    return name is not None and (binfmt / f"qemu-{name}").exists()
