"""The layers of ARCHITECTURE.md, checked: each module imports only from the layers its own may use. A newcomer
who adds an import across the rules learns it here, with the module and the line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "ci_tags"

# layer -> the layers it may import (itself included). Imports under ``if TYPE_CHECKING:`` are not counted:
# they do not run, and type names may cross layers.
# every layer may use the error root, ``ci_tags.__version__`` and the option declarations (ci_tags/flags.py)
BASE = {"errors", "version", "flags"}
ALLOWED: dict[str, set[str]] = {
    "errors": {"errors"},
    "version": {"version"},
    "flags": {"flags"},
    "core": {"errors", "flags", "core"},
    "concurrency": BASE | {"concurrency"},
    "project": BASE | {"core", "project"},
    "oci": BASE | {"core", "concurrency", "oci"},
    "backends": BASE | {"core", "concurrency", "oci", "backends"},
    "ci": BASE | {"core", "oci", "ci"},
    "builders": BASE | {"core", "oci", "builders"},
    "services": BASE | {"core", "concurrency", "project", "oci", "backends", "ci", "builders", "services"},
    "output": BASE | {"core", "output"},
    "context": BASE | {"output", "oci", "context"},
    "commands": BASE | {"core", "concurrency", "project", "oci", "backends", "ci", "builders", "services",
                        "context", "output", "commands"},
    "cli": BASE | {"context", "output", "commands", "cli"},
    "api": BASE | {"core", "project", "oci", "api"},  # the supported Python names, re-exported
    "shims": {"core", "project"},
}
SHIMS = {"config", "dockerfile", "dockerignore", "imageset"}  # 0.1's public import paths, re-exported


def layer_of(module: str) -> str:
    parts = module.split(".")
    if parts[0] != "ci_tags" or len(parts) == 1:
        return "version"  # ``from ci_tags import __version__``
    first = parts[1]
    if first in SHIMS:
        return "shims"
    if first in ("__main__",):
        return "cli"
    return first


def runtime_imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for n in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ci_tags"):
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("ci_tags")]
    return found


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_each_module_imports_only_what_its_layer_may(path: Path) -> None:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    own = layer_of(".".join(p for p in relative.parts if p != "__init__"))
    wrong = [f"{path.relative_to(PACKAGE.parent)}:{line}: {own} may not import {module} ({layer_of(module)})"
             for line, module in runtime_imports(path) if layer_of(module) not in ALLOWED[own]]
    assert not wrong, "\n".join(wrong)


SHARED_BY_COMMANDS = ("ci_tags.commands.options", "ci_tags.commands.texts")  # shared options and help texts


def test_no_command_imports_another_command() -> None:
    wrong = []
    for path in sorted((PACKAGE / "commands").glob("*.py")):
        for line, module in runtime_imports(path):
            if module.startswith("ci_tags.commands.") and module not in SHARED_BY_COMMANDS:
                wrong.append(f"commands/{path.name}:{line}: imports {module}")
    assert not wrong, "\n".join(wrong)


def test_services_and_rules_never_print() -> None:
    """Only ci_tags/output writes to the terminal: no print() and no sys.stdout/stderr writes elsewhere."""
    wrong = []
    for path in modules():
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in ("output",) or rel.name in ("cli.py", "__main__.py"):
            continue
        text = path.read_text()
        for number, line in enumerate(text.splitlines(), 1):
            if "print(" in line.split("#")[0] or "sys.stdout" in line or "sys.stderr" in line:
                wrong.append(f"{rel}:{number}: {line.strip()}")
    assert not wrong, "\n".join(wrong)


def test_each_flag_is_declared_once_through_the_generator() -> None:
    """A flag is a field of an options dataclass (ci_tags/flags.py makes the parser from it): no ``add_argument``
    anywhere else, so a flag is never written twice (parser, options, service)."""
    wrong = []
    for path in modules():
        rel = path.relative_to(PACKAGE)
        if rel.name == "flags.py" and len(rel.parts) == 1:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ("add_argument", "add_argument_group"):
                wrong.append(f"{rel}:{node.lineno}: {node.attr}")
    assert not wrong, "\n".join(wrong)


def test_services_word_nothing_for_people() -> None:
    """Presentation lives in ci_tags/output: a service tells what happens through events and results (data), never
    a sentence for a person through warn/info/line/table (the output's live objects word the events)."""
    wrong = []
    for path in sorted((PACKAGE / "services").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name)):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
            worded = any(isinstance(a, ast.JoinedStr) or (isinstance(a, ast.Constant) and isinstance(a.value, str))
                         for a in node.args)
            if name in ("warn", "info", "line", "table") and worded:
                wrong.append(f"services/{path.relative_to(PACKAGE / 'services')}:{node.lineno}: {name}(...)")
    assert not wrong, "\n".join(wrong)
