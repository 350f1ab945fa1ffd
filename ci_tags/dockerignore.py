"""Kept import path of 0.1 (public): ``from ci_tags.dockerignore import DockerIgnore``
(the module is ci_tags/core/dockerignore.py)."""

from ci_tags.core.dockerignore import DockerIgnore

__all__ = ["DockerIgnore"]
