"""``hash``: each image's content tag, from the checkout alone (the registry only for --pin-base)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ci_tags.errors import CiTagsError
from ci_tags.project.imageset import ResolvedImage, resolve
from ci_tags.services.pipeline import Pin, Report

# Stands in for CI_REGISTRY_IMAGE outside CI: a content tag hashes files, not where the image is pushed.
LOCAL_REGISTRY = "localhost/ci-tags"


@dataclass(frozen=True)
class Hashed:
    images: tuple[ResolvedImage, ...]
    failure: CiTagsError | None = None

    def document(self) -> Mapping[str, Any]:
        return {
            "images": [
                {
                    "image": i.name,
                    "repository": i.repository,
                    "content_tag": i.content_tag,
                    "arches": [{"arch": a.arch, "hash": a.hash, "content_tag": a.content_tag} for a in i.arches],
                }
                for i in self.images
            ]
        }


def content_tags(config_path: Path, env: Mapping[str, str], names: Sequence[str], *, pin: Pin | None,
                 report: Report) -> Hashed:
    """The content tags of the images ``names`` (all when empty) of the set at ``config_path``."""
    from ci_tags.project.config import load_config

    if "CI_REGISTRY_IMAGE" not in env:
        env = {**env, "CI_REGISTRY_IMAGE": LOCAL_REGISTRY}
        config = load_config(config_path, env)
        if config.registry == LOCAL_REGISTRY:
            report.local_registry(LOCAL_REGISTRY)
    else:
        config = load_config(config_path, env)
    images = resolve(config, list(names) or None, pin)
    if names:
        images = [i for i in images if i.name in names]
    for image in images:
        for warning in image.warnings:
            report.image_warning(warning)
    return Hashed(tuple(images))
