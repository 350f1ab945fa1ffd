"""What the janitor tests through Docker Hub's and GitLab's APIs share: a one-image project, tags of mixed ages
and kinds with the ones the janitor must remove, and the removal lines of a run's output."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

SIG = f"sha256-{'c' * 64}.sig"


def ago(days: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def content(n: int) -> str:
    return f"hash-{n:02d}" + "0" * 62


def one_image_project(tmp_path: Path) -> Callable[[str], tuple[str, str]]:
    """A ci-tags.yml with one image; returns a function: registry -> (config path, the current content tag)."""
    from ci_tags.project.config import load_config
    from ci_tags.project.imageset import resolve

    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY a.txt /a.txt\n")
    (tmp_path / "a.txt").write_text("a\n")

    def make(registry: str) -> tuple[str, str]:
        config = tmp_path / "ci-tags.yml"
        config.write_text(f"registry: {registry}\nimages:\n  ci:\n    dockerfile: Dockerfile\npublish: [latest]\n")
        (current,) = {i.content_tag for i in resolve(load_config(config, {}))}
        return str(config), current

    return make


def tags_of_mixed_ages(current: str) -> tuple[dict[str, float], set[str]]:
    """tag -> age in days, and the tags the janitor must remove (older than 7 days, owned, not kept)."""
    ages = {
        current: 40,  # current content tag: kept at any age
        content(1): 30, content(2): 2, content(3) + "-arm64": 20,
        "pipeline-1": 20, "pipeline-2": 8, "pipeline-55": 1, "pipeline-56": 6.5,
        "latest": 60, "main": 60, "5.0.0": 60, "release-2": 60, SIG: 60,
    }
    return ages, {content(1), content(3) + "-arm64", "pipeline-1", "pipeline-2"}


def removal_lines(text: str, verb: str) -> list[str]:
    """``removed REPO:TAG (reason`` of each removal line: the age in the detail moves on between two runs."""
    return sorted(line.replace(verb, "removed", 1).split(": ")[0] for line in text.splitlines()
                  if line.startswith(verb))
