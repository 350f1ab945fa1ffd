"""The architectures ci-tags builds for, in one table: the name ``ci-tags.yml`` uses (``arm-v7``), the OCI
platform it stands for, the machine names ``uname -m`` reports for it and the name qemu-user-static registers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Arch:
    name: str  # as ci-tags.yml spells it: the OCI architecture, then ``-<variant>`` when there is one
    machines: tuple[str, ...]  # platform.machine() names of a host of this architecture
    qemu: str  # /proc/sys/fs/binfmt_misc/qemu-<qemu>
    runs_too: tuple[str, ...] = ()  # what a host of this architecture runs natively besides its own

    @property
    def architecture(self) -> str:
        return self.name.partition("-")[0]

    @property
    def variant(self) -> str:
        return self.name.partition("-")[2]


TABLE = (
    Arch("amd64", ("x86_64", "amd64"), "x86_64", runs_too=("386",)),
    Arch("arm64", ("aarch64", "arm64"), "aarch64", runs_too=("arm", "arm-v7", "arm-v6")),
    Arch("arm", ("armv7l",), "arm", runs_too=("arm-v7", "arm-v6")),
    Arch("arm-v7", (), "arm"),
    Arch("arm-v6", ("armv6l",), "arm"),
    Arch("386", ("i686", "i386"), "i386"),
    Arch("ppc64le", ("ppc64le",), "ppc64le"),
    Arch("s390x", ("s390x",), "s390x"),
    Arch("riscv64", ("riscv64",), "riscv64"),
)
BY_NAME = {a.name: a for a in TABLE}
ARCHES = tuple(BY_NAME)  # the names ci-tags.yml accepts, in the order errors list them


def arch_of_machine(machine: str) -> str | None:
    """``platform.machine()`` -> ci-tags' name for it; None for a machine not in the table."""
    return next((a.name for a in TABLE if machine.lower() in a.machines), None)


def oci_platform(arch: str) -> dict[str, str]:
    """The OCI platform of an index entry (``arm-v7`` -> arm, variant v7; plain ``arm`` has no variant)."""
    name, _, variant = arch.partition("-")
    return {"os": "linux", "architecture": name, **({"variant": variant} if variant else {})}


def platform_flag(arch: str) -> str:
    """``--platform`` of a build: ``linux/<arch>`` with the variant split out (``arm-v7`` -> ``linux/arm/v7``)."""
    return "linux/" + arch.replace("-", "/", 1)


def normalised_platform(arch: str) -> tuple[str, str]:
    """(architecture, variant) as containerd normalises them for a build's ``TARGET*`` ARGs: plain ``arm`` is v7."""
    name, _, variant = arch.partition("-")
    return name, ("v7" if name == "arm" and not variant else variant)
