"""The release files (``promote``, ``sync``, ``prepare``): YAML composed to nodes, so that every problem names the
file, the line and the key, like ``ci-tags.yml``'s (``images.yml:12: images[3].tag: invalid tag 'a b'``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from ci_tags.errors import BadInput
from ci_tags.project.config import YamlLoader

T = TypeVar("T")


class MalformedFile(BadInput):
    """A release file with one or more malformed entries; ``problems`` lists each, one line per problem."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        more = f" (and {len(problems) - 1} more problems, listed above)" if len(problems) > 1 else ""
        super().__init__(f"{problems[0]}{more}; nothing was changed")
        self.path = path
        self.problems = problems


def compose(path: Path, env: Mapping[str, str] | None = None) -> tuple[YamlLoader, Any]:
    """The loader for ``path`` and the file's root node; a missing, empty or malformed file is bad input."""
    import yaml

    if not path.is_file():
        raise BadInput(f"no file {path}")
    try:
        root = yaml.compose(path.read_text(), Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise BadInput(f"{path}:{line}: malformed YAML: {problem}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read {path}: {exc}") from None
    if root is None:
        raise BadInput(f"{path}:1: the file is empty")
    return YamlLoader(path, env or {}), root


def line_of(node: Any) -> int:
    return int(node.start_mark.line) + 1 if node is not None and hasattr(node, "start_mark") else 1


class Collector:
    """Collects problems instead of stopping at the first, so a reviewer sees every malformed entry at once."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def check(self, fn: Callable[[], T]) -> T | None:
        try:
            return fn()
        except BadInput as exc:
            self.problems.append(exc.message)
            return None

    def raise_if_any(self, path: Path) -> None:
        if self.problems:
            raise MalformedFile(path, self.problems)
