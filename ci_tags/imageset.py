"""Kept import path of 0.1 (public): ``from ci_tags.imageset import resolve``
(the module is ci_tags/project/imageset.py)."""

from ci_tags.project.imageset import resolve

__all__ = ["resolve"]
