"""Resolve many tags of one repository to digests, concurrently, once each."""

from __future__ import annotations

from collections.abc import Iterable

from ci_tags.concurrency import run_all
from ci_tags.errors import CiTagsError
from ci_tags.oci.client import Registry


def resolve_tags(
    registry: Registry, repository: str, tags: Iterable[str], concurrency: int
) -> tuple[dict[str, str], dict[str, CiTagsError]]:
    """``({tag: digest}, {tag: error})``; a tag that vanished meanwhile is in neither."""
    digests: dict[str, str] = {}
    errors: dict[str, CiTagsError] = {}
    for tag, digest, err in run_all(lambda t: registry.head_manifest(repository, t), tags, concurrency):
        if err:
            errors[tag] = err
        elif digest:
            digests[tag] = digest
    return digests, errors


def tags_by_digest(digests: dict[str, str]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for tag, digest in sorted(digests.items()):
        grouped.setdefault(digest, []).append(tag)
    return grouped
