"""An image's labels, read from its config blob alone: no layer is pulled."""

from __future__ import annotations

from ci_tags.core.manifest import Manifest
from ci_tags.oci.client import Registry
from ci_tags.oci.image import read_config


def image_labels(registry: Registry, repository: str, manifest: Manifest) -> dict[str, str]:
    """The labels of an image; for an index, of its linux/amd64 image (else its first), as a pull on such a host
    would see them."""
    if manifest.is_index:
        children = manifest.children
        if not children:
            return {}
        chosen = next((c for c in children if (c.platform or {}).get("architecture") == "amd64"
                       and (c.platform or {}).get("os") == "linux"), children[0])
        manifest = registry.get_manifest(repository, chosen.digest)
    return {str(k): str(v) for k, v in read_config(registry, repository, manifest).labels.items()}
