"""The ``--json`` reference, made from ``schemas/<command>.json`` (the schemas the tests validate every command's
output against): each command's keys, their JSON types and whether they are always there."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from commands import cell

ROOT = Path(__file__).resolve().parents[2]


def kind(node: dict[str, Any]) -> str:
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    if "enum" in node:
        return "one of " + ", ".join(f"`{json.dumps(v)}`" for v in node["enum"])
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return "the failure object (`kind`, `message`, `exit_code`, `hint`)" if name == "error" else f"`{name}` (below)"
    types = node.get("type", "any")
    types = types if isinstance(types, list) else [types]
    if "array" in types and isinstance(node.get("items"), dict) and node["items"].get("type") not in (None, "object"):
        return f"array of {kind(node['items'])}"
    return " or ".join(f"`{t}`" for t in types)


def walk(node: dict[str, Any], prefix: str, required: bool, out: list[str]) -> None:
    """One row per key, nested keys as ``a.b`` and ``a[].b``."""
    props = node.get("properties", {})
    needed = set(node.get("required", []))
    for name, child in props.items():
        path = f"{prefix}{name}"
        out.append(f"| `{path}` | {kind(child)} | {'yes' if required and name in needed else ''} | "
                   f"{cell(child.get('description', ''))} |")
        if child.get("type") == "object" or "properties" in child:
            walk(child, f"{path}.", required and name in needed, out)
        items = child.get("items")
        if isinstance(items, dict) and ("properties" in items):
            walk(items, f"{path}[].", required and name in needed, out)


def section(path: Path) -> list[str]:
    schema = json.loads(path.read_text())
    command = path.stem
    rows = ["| key | type | always | what it is |", "|---|---|---|---|"]
    walk(schema, "", True, rows)
    for name, definition in sorted(schema.get("$defs", {}).items()):
        if name == "error":
            continue  # the same in every schema: described once, above
        rows.append(f"| `{name}` (definition) | {kind(definition)} | | {cell(definition.get('description', ''))} |")
        walk(definition, f"{name}.", False, rows)
    return [f"### `ci-tags {command} --json`", "", cell(schema.get("description", "")), "",
            f"Schema: `schemas/{command}.json`.", "", *rows, ""]


def reference() -> str:
    lines: list[str] = []
    for path in sorted((ROOT / "schemas").glob("*.json")):
        lines += section(path)
    return "\n".join(lines)
