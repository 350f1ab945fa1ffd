"""Reading the checkout's YAML files (the release files of ``promote``, ``sync``, ``prepare``); their text is
read into nodes by ci_tags/core/yamlnodes.py, so that every problem names the file, the line and the key, like
``ci-tags.yml``'s (``images.yml:12: images[3].tag: invalid tag 'a b'``)."""

from __future__ import annotations

from pathlib import Path

from ci_tags.core.yamlnodes import MalformedFile as MalformedFile  # where 0.1's callers import it from
from ci_tags.errors import BadInput


def read_document(path: Path) -> str:
    """The text of ``path``; a missing or unreadable file is bad input."""
    if not path.is_file():
        raise BadInput(f"no file {path}")
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read {path}: {exc}") from None
