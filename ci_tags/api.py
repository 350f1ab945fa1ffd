"""The supported Python API of ci-tags: the names below keep their meaning across minor versions (documented in
docs/reference/python-api.md). Every other module is internal and may change in any release; the 0.1 import paths
(ci_tags.config, ci_tags.dockerfile, ci_tags.dockerignore, ci_tags.imageset) keep working.

    from pathlib import Path
    from ci_tags.api import load_config, resolve

    tags = {image.name: image.content_tag for image in resolve(load_config(Path("ci-tags.yml"), {}))}
"""

from __future__ import annotations

from ci_tags import __version__
from ci_tags.core.dockerfile import parse_dockerfile
from ci_tags.core.dockerignore import DockerIgnore
from ci_tags.core.policy import Decision, Policy, TagInfo, decide, template_regex
from ci_tags.core.reference import Reference, parse_reference, slugify
from ci_tags.errors import AuthError, BadInput, CiTagsError, NotFound, OperationFailed, RegistryError, Unreachable
from ci_tags.oci.client import Registry
from ci_tags.oci.copy import CopyResult, copy_image
from ci_tags.oci.http import Http
from ci_tags.oci.registries import Registries
from ci_tags.oci.untag import Removal, Untagger
from ci_tags.project.config import Config, ImageSpec, load_config
from ci_tags.project.hashing import HashResult, content_hash
from ci_tags.project.imageset import ArchImage, ResolvedImage, resolve

# grouped in docs/reference/python-api.md: the image set, content hashing, references, the registry client, the
# retention policy, errors
__all__ = [
    "ArchImage",
    "AuthError",
    "BadInput",
    "CiTagsError",
    "Config",
    "CopyResult",
    "Decision",
    "DockerIgnore",
    "HashResult",
    "Http",
    "ImageSpec",
    "NotFound",
    "OperationFailed",
    "Policy",
    "Reference",
    "Registries",
    "Registry",
    "RegistryError",
    "Removal",
    "ResolvedImage",
    "TagInfo",
    "Unreachable",
    "Untagger",
    "__version__",
    "content_hash",
    "copy_image",
    "decide",
    "load_config",
    "parse_dockerfile",
    "parse_reference",
    "resolve",
    "slugify",
    "template_regex",
]
