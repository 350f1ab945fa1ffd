"""Image builders: buildah, podman, docker — one small adapter each, found on PATH in that order."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping

from ci_tags.builders.base import Builder, BuildRequest
from ci_tags.builders.cli import BuildahBuilder, DockerBuilder, PodmanBuilder
from ci_tags.errors import BadInput

BUILDERS: dict[str, type[Builder]] = {"buildah": BuildahBuilder, "podman": PodmanBuilder, "docker": DockerBuilder}


def find_builder(name: str | None, env: Mapping[str, str], log: Callable[[str], None] = lambda line: None) -> Builder:
    """The builder named, or the first of buildah, podman, docker found on PATH."""
    path = env.get("PATH")
    if name:
        if name not in BUILDERS:
            raise BadInput(f"unknown builder {name!r}", hint=f"choose one of {', '.join(BUILDERS)}")
        program = shutil.which(name, path=path)
        if not program:
            raise BadInput(f"builder {name} is not on PATH")
        return BUILDERS[name](program, env, log)
    for candidate, cls in BUILDERS.items():
        program = shutil.which(candidate, path=path)
        if program:
            return cls(program, env, log)
    raise BadInput("no image builder found", hint="install buildah, podman or docker, or pass --builder")


__all__ = ["BUILDERS", "BuildRequest", "Builder", "find_builder"]
