"""GitLab CI/CD components (templates/) as GitLab reads them: the spec header and the body, the body with its inputs
filled in, and a check against GitLab's CI schema (check-jsonschema's vendored copy, which works offline)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

INPUT_RE = re.compile(r"\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*\]\]")


def check_jsonschema() -> str:
    """The check-jsonschema command: on the PATH, else beside this Python (the venv's)."""
    found = shutil.which("check-jsonschema") or str(Path(sys.executable).parent / "check-jsonschema")
    if not Path(found).exists():
        pytest.fail("check-jsonschema is missing: .ci/setup installs it into the venv")
    return found


def validate(tmp_path: Path, name: str, document: Any) -> subprocess.CompletedProcess[str]:
    """check-jsonschema's verdict on ``document`` (written to ``tmp_path/name``) against GitLab's CI schema."""
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return subprocess.run([check_jsonschema(), "--builtin-schema", "vendor.gitlab-ci", str(path)],
                          capture_output=True, text=True, check=False)


def component(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(spec header, body) of a component file: two YAML documents."""
    docs = list(yaml.safe_load_all(path.read_text()))
    assert len(docs) == 2, f"{path.name}: a component is a spec header, ---, then the jobs"
    return docs[0], docs[1]


def fill_inputs(path: Path, **given: object) -> dict[str, Any]:
    """The component's body as GitLab sees it after interpolation, with the inputs given, else their defaults.

    As GitLab does it: the YAML is read first; a value (or key) that is one ``$[[ inputs.x ]]`` block and nothing
    else takes the input's typed value (a boolean stays a boolean); a block inside a longer string becomes text."""
    spec, _ = component(path)
    inputs = spec["spec"]["inputs"]

    def value(name: str) -> object:
        return given[name] if name in given else inputs[name].get("default")

    def text(v: object) -> str:
        return str(v).lower() if isinstance(v, bool) else str(v)

    def fill(node: Any) -> Any:
        if isinstance(node, dict):
            return {fill(k): fill(v) for k, v in node.items()}
        if isinstance(node, list):
            return [fill(v) for v in node]
        if isinstance(node, str):
            whole = INPUT_RE.fullmatch(node.strip())
            if whole:
                return value(whole[1])
            return INPUT_RE.sub(lambda m: text(value(m[1])), node)
        return node

    body: dict[str, Any] = fill(yaml.safe_load(path.read_text().split("\n---\n", 1)[1]))
    return body


def job_with_extends(body: dict[str, Any], name: str) -> dict[str, Any]:
    """A job merged with the hidden job it extends (one level, as the component uses it)."""
    job = dict(body[name])
    parent = body.get(job.pop("extends", ""), {})
    merged = {**parent, **job}
    merged["variables"] = {**parent.get("variables", {}), **job.get("variables", {})}
    return merged
