"""The set-up the build benchmarks share: a local registry holding a busybox base image (no internet needed), and a
git checkout of N images FROM it, as a project's ci-tags.yml names them."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.project import buildah_env, push_busybox_base
from tests.support.registry import RunningRegistry, start_registry

GIT_IDENTITY = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.com", "GIT_COMMITTER_NAME": "b",
                "GIT_COMMITTER_EMAIL": "b@example.com"}


@contextmanager
def registry_with_base(work: Path) -> Iterator[tuple[RunningRegistry, dict[str, str], str]]:
    """A registry under ``work`` with the busybox base pushed: (the registry, buildah's environment, the base's
    reference). The registry stops when the block ends."""
    registry = start_registry(work / "registry")
    try:
        env = buildah_env(work / "buildah")
        yield registry, env, push_busybox_base(registry.host, work, env)
    finally:
        registry.stop()


def write_images(root: Path, prefix: str, base: str, images: int, *, publish: bool = True) -> Path:
    """``images`` images img00, img01, ... under ``root/docker``, each FROM ``base`` copying a file of its own, and
    the ci-tags.yml that names them under the registry prefix ``prefix`` (publishing ``latest`` with ``publish``)."""
    lines = [f"registry: {prefix}", "images:"]
    for i in range(images):
        d = root / "docker" / f"img{i:02d}"
        d.mkdir(parents=True)
        (d / "Dockerfile").write_text(f"FROM {base}\nCOPY file.txt /file{i}.txt\n")
        (d / "file.txt").write_text(f"image {i}\n")
        lines += [f"  img{i:02d}:", f"    dockerfile: docker/img{i:02d}/Dockerfile"]
    (root / "ci-tags.yml").write_text("\n".join(lines) + ("\npublish: [latest]\n" if publish else "\n"))
    return root / "ci-tags.yml"


def commit_all(root: Path, *, origin: str | None = None) -> str:
    """``root`` as a git repository with everything in it committed on main (and ``origin`` as its remote): the
    commit."""
    env = {**os.environ, **GIT_IDENTITY}
    steps = [["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "bench"]]
    if origin:
        steps.append(["remote", "add", "origin", origin])
    for args in steps:
        subprocess.run(["git", *args], cwd=root, env=env, check=True)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, check=True, capture_output=True,
                          text=True).stdout.strip()
