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


@cache
def validator(command: str) -> Any:
    """The command's schema, checked against its metaschema once: ``jsonschema.validate`` checks it again on every
    call, ~25 ms each, and every ``--json`` output of the suite goes through here."""
    import jsonschema

    cls = jsonschema.validators.validator_for(schema(command))
    cls.check_schema(schema(command))
    return cls(schema(command), format_checker=jsonschema.FormatChecker())


def validated(text: str) -> dict[str, Any]:
    """``text`` as one JSON object that its command's schema accepts (raises the best-matching mismatch, as
    ``jsonschema.validate`` does)."""
    import jsonschema

    doc = json.loads(text)
    assert isinstance(doc, dict), f"--json printed a {type(doc).__name__}, not one object"
    command = doc.get("command")
    assert command in {p.stem for p in SCHEMAS.glob("*.json")}, f"no schema for command {command!r}"
    error = jsonschema.exceptions.best_match(validator(command).iter_errors(doc))
    if error is not None:
        raise error
    return doc
