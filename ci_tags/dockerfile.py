"""Kept import path of 0.1 (public): ``from ci_tags.dockerfile import parse_dockerfile``
(the module is ci_tags/core/dockerfile.py)."""

from ci_tags.core.dockerfile import parse_dockerfile

__all__ = ["parse_dockerfile"]
