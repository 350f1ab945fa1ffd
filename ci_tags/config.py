"""Kept import path of 0.1 (public): ``from ci_tags.config import load_config``
(the module is ci_tags/project/config.py)."""

from ci_tags.project.config import load_config

__all__ = ["load_config"]
