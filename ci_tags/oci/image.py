"""What an image says about itself: the config blob's creation time, labels and platform."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ci_tags.core.manifest import Manifest
from ci_tags.errors import RegistryError
from ci_tags.oci.client import Registry

MAX_CONFIG_BYTES = 16 << 20


@dataclass
class ImageConfig:
    created: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    os: str | None = None
    architecture: str | None = None
    variant: str | None = None


def read_config(registry: Registry, repository: str, manifest: Manifest) -> ImageConfig:
    """Fetch and parse an image manifest's config blob (small JSON; refused past 16 MiB)."""
    cfg = manifest.config
    if cfg is None:
        return ImageConfig()
    if cfg.size > MAX_CONFIG_BYTES:
        raise RegistryError(f"config blob {cfg.digest} is {cfg.size} bytes, too large to be an image config")
    resp = registry.open_blob(repository, cfg.digest, stream=False)
    try:
        data: Any = json.loads(resp.content)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        return ImageConfig()  # an artifact whose config is not an image config
    finally:
        resp.close()
    if not isinstance(data, dict):
        return ImageConfig()
    inner = data.get("config") or {}
    return ImageConfig(
        created=data.get("created"),
        labels=dict(inner.get("Labels") or {}),
        os=data.get("os"),
        architecture=data.get("architecture"),
        variant=data.get("variant"),
    )
