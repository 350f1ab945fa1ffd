"""YAML text composed to nodes, read so that every problem names the file, the line and the key
(``ci-tags.yml:7: images.qemu/debian.arches[1]: unknown architecture 'arm65'``). Pure: text in; ``path`` only
names the file in messages (ci_tags/project/yamlfile.py reads files).

YAML nodes are PyYAML's ``yaml.Node`` (imported lazily, so ``Any`` stands for them here)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from ci_tags.errors import BadInput

T = TypeVar("T")
Node = Any  # a yaml.Node (or None where a key is absent): PyYAML is imported only when a file is read
_VAR_RE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


MAX_DEPTH = 100  # collections inside collections: no file ci-tags reads needs a tenth of it


def compose_text(text: str, path: Path) -> Node:
    """The root node of ``text`` (None for an empty document); malformed YAML is bad input naming the line, and
    so is YAML nested deeper than :data:`MAX_DEPTH`. Composed by libyaml where PyYAML has it (a tenth of the
    time of its pure-Python composer, the same nodes and marks)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    too_deep = BadInput(f"{path}: nested too deeply (more than {MAX_DEPTH} levels)")
    try:
        root = yaml.compose(text, Loader=loader)
    except RecursionError:  # the pure-Python composer
        raise too_deep from None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if "nesting depth" in problem:  # libyaml's own limit, hit before ours
            raise too_deep from None
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise BadInput(f"{path}:{line}: malformed YAML: {problem}") from None
    if _depth(root) > MAX_DEPTH:
        raise too_deep
    return root


def _depth(root: Node) -> int:
    """How many collections deep the deepest node lies (aliases are the same node objects, each counted once)."""
    deepest = 0
    stack = [(root, 1)] if root is not None else []
    seen: set[int] = set()
    while stack:
        node, depth = stack.pop()
        if id(node) in seen or not isinstance(node.value, list):
            continue
        seen.add(id(node))
        deepest = max(deepest, depth)
        for item in node.value:
            children = item if isinstance(item, tuple) else (item,)  # a mapping's (key, value) pairs
            stack += [(child, depth + 1) for child in children]
    return deepest


def compose_document(text: str, path: Path, env: Mapping[str, str] | None = None) -> tuple[NodeReader, Node]:
    """A reader for ``path`` and the root node of its ``text``; an empty document is bad input."""
    root = compose_text(text, path)
    if root is None:
        raise BadInput(f"{path}:1: the file is empty")
    return NodeReader(path, env or {}), root


def line_of(node: Node) -> int:
    return int(node.start_mark.line) + 1 if node is not None and hasattr(node, "start_mark") else 1


class NodeReader:
    """Reads nodes of one file into plain values; each problem is a :class:`BadInput` naming file, line, key."""

    def __init__(self, path: Path, env: Mapping[str, str]) -> None:
        self.path = path
        self.env = env

    def fail(self, node: Node, key: str, message: str) -> BadInput:
        line = line_of(node)
        return BadInput(f"{self.path}:{line}: {key}: {message}" if key else f"{self.path}:{line}: {message}")

    def mapping(self, node: Node, key: str, allowed: tuple[str, ...] | None) -> dict[str, tuple[Node, Node]]:
        """``{name: (key node, value node)}``; duplicate keys, and keys not in ``allowed``, are refused."""
        import yaml

        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, key, "expected a mapping")
        out: dict[str, tuple[Node, Node]] = {}
        for k, v in node.value:
            if not isinstance(k, yaml.ScalarNode):
                raise self.fail(k, key, "keys must be strings")
            name = str(k.value)
            where = f"{key}.{name}" if key else name
            if name in out:
                raise self.fail(k, where, "duplicate key")
            if allowed is not None and name not in allowed:
                raise self.unknown_key(k, where, allowed)
            out[name] = (k, v)
        return out

    def unknown_key(self, node: Node, where: str, allowed: tuple[str, ...]) -> BadInput:
        close = difflib.get_close_matches(where.rsplit(".", 1)[-1], allowed, n=1)
        return self.fail(node, where, "unknown key" + (f" (did you mean {close[0]!r}?)" if close else ""))

    def scalar(self, node: Node, key: str) -> str:
        import yaml

        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, key, "expected a single value")
        return str(node.value)

    def strings(self, node: Node, key: str) -> list[tuple[str, Node]]:
        import yaml

        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, key, "expected a list")
        return [(self.scalar(item, f"{key}[{i}]"), item) for i, item in enumerate(node.value)]

    def expand(self, text: str, node: Node, key: str) -> str:
        """``$NAME`` and ``${NAME}`` replaced from the environment; an unset one is bad input."""

        def var(match: re.Match[str]) -> str:
            name = match.group(1) or match.group(2)
            if name not in self.env:
                raise UnsetVariable(self.fail(node, key, f"environment variable {name} is not set").message)
            return self.env[name]

        return _VAR_RE.sub(var, text)


class UnsetVariable(BadInput):
    """A ``$NAME`` in a file whose variable is not set."""


class MalformedFile(BadInput):
    """A file with one or more malformed entries; ``problems`` lists each, one line per problem."""

    def __init__(self, path: Path, problems: list[str], *, unchanged: bool = True) -> None:
        others = len(problems) - 1
        more = f" (and {others} more problem{'s' if others > 1 else ''}, listed above)" if others else ""
        super().__init__(f"{problems[0]}{more}" + ("; nothing was changed" if unchanged else ""))
        self.path = path
        self.problems = problems


class Collector:
    """Collects problems instead of stopping at the first, so a reviewer sees every malformed entry at once."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.first: BadInput | None = None  # kept whole (with its hint), for a file with one problem

    def check(self, fn: Callable[[], T]) -> T | None:
        try:
            return fn()
        except MalformedFile as exc:  # a part that collected its own problems
            self.problems += exc.problems
            return None
        except BadInput as exc:
            self.first = self.first or exc
            self.problems.append(exc.message)
            return None

    def raise_if_any(self, path: Path, *, unchanged: bool = True, one_as_found: bool = False) -> None:
        """Raise a :class:`MalformedFile` listing each problem; ``one_as_found``: a single problem as it was
        raised (with its hint)."""
        if one_as_found and len(self.problems) == 1 and self.first is not None:
            raise self.first
        if self.problems:
            raise MalformedFile(path, self.problems, unchanged=unchanged)
