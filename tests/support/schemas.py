"""The published JSON Schemas (schemas/<command>.json), checked against real ``--json`` output."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


@cache
def schema(command: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / f"{command}.json").read_text())
    return loaded


def validated(text: str) -> dict[str, Any]:
    """``text`` as one JSON object that its command's schema accepts (jsonschema raises the first mismatch)."""
    import jsonschema

    doc = json.loads(text)
    assert isinstance(doc, dict), f"--json printed a {type(doc).__name__}, not one object"
    command = doc.get("command")
    assert command in {p.stem for p in SCHEMAS.glob("*.json")}, f"no schema for command {command!r}"
    jsonschema.validate(doc, schema(command), format_checker=jsonschema.FormatChecker())
    return doc
