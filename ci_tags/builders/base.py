"""What a build needs, and the interface every builder adapter implements."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ci_tags.core.arches import platform_flag
from ci_tags.errors import OperationFailed


@dataclass(frozen=True)
class BuildRequest:
    context: Path
    dockerfile: Path
    reference: str  # where the image is pushed, e.g. registry/group/image:hash-<hex>
    local_name: str  # its name in local storage, this build's own (ci_tags.core.reference.local_build_name)
    arch: str
    build_args: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    plain_http: bool = False  # a registry of the build speaks plain HTTP (loopback or named-insecure)
    cert_dir: Path | None = None  # the CAs to trust instead of the per-host certs.d lookup (buildah, podman)
    manifesto: str | None = None  # a command run in the built image before the push (ci_tags.builders.manifesto)
    extra_args: tuple[str, ...] = ()  # the user's own build options (--secret, --network, ...), passed as given
    cache: str | None = None  # a repository (registry/path/name/cache) to reuse and push layers through


class Builder:
    """Builds one image for one architecture and pushes it; returns the pushed manifest's digest."""

    name = "builder"
    runs_manifesto = False  # can run a manifesto command in the built image before pushing it

    def __init__(self, program: str, env: Mapping[str, str], log: Callable[[str], None] = lambda line: None) -> None:
        self.program = program
        self.env = dict(env)
        self.log = log

    def build_and_push(self, request: BuildRequest) -> str:
        raise NotImplementedError

    def remove_local(self, local_name: str) -> bool:
        """Remove this build's own name (``BuildRequest.local_name``) from local container storage, so a runner's
        storage does not fill with one image per build; False when this builder keeps none."""
        return False

    def discard_local(self, local_name: str) -> None:
        """After a failed build: remove its local name if there is one, never raising (the failure is the news)."""

    def keep_local(self, local_name: str, name: str) -> None:
        """``--keep-image``: also name the built image ``name`` (its content tag) in local storage."""
    def local_images(self, references: Sequence[str]) -> set[str]:
        """Which of ``references`` are in local container storage (none for a builder that keeps none)."""
        return set()

    def remove_pulled(self, reference: str) -> bool:
        """Remove an image a build pulled; one in use (a concurrent build on it) stays: False, logged."""
        return False

    def _run(self, args: Sequence[str], what: str) -> str:
        """Run the builder, passing each line of its output to ``log`` as it comes (the job log)."""
        with subprocess.Popen(
            [self.program, *args], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as proc:
            assert proc.stdout is not None
            lines = []
            for line in proc.stdout:
                lines.append(line)
                self.log(line.rstrip("\n"))
        if proc.returncode != 0:
            raise OperationFailed(f"{self.name} failed to {what} (exit {proc.returncode}); see its output above")
        return "".join(lines)


def build_flags(request: BuildRequest, name: str) -> list[str]:
    """The docker-compatible build flags shared by buildah bud, podman build and docker build; ``name``: the
    image's (``-t``)."""
    flags = ["--platform", platform_flag(request.arch), "-f", str(request.dockerfile), "-t", name]
    for key, value in sorted(request.build_args.items()):
        flags += ["--build-arg", f"{key}={value}"]
    if request.target:
        flags += ["--target", request.target]
    for key, value in sorted(request.labels.items()):
        flags += ["--label", f"{key}={value}"]
    return flags + list(request.extra_args)
