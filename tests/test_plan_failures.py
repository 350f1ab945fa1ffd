"""``ci-tags plan`` when the registry lets it read but not tag: each image it could not tag is warned after the
results, in text and --json alike, and the run fails with the count (the registry refuses writes here: the real
distribution registry in its read-only maintenance mode)."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from ci_tags.oci.http import Http
from ci_tags.oci.registries import Registries
from ci_tags.project.config import load_config
from ci_tags.project.imageset import resolve
from tests.support.images import push_image
from tests.support.registry import RunningRegistry, start_registry


def _restart_read_only(reg: RunningRegistry) -> None:
    """The same registry (data, port) again, refusing every write with 405."""
    reg.stop()
    config = yaml.safe_load((reg.root / "config.yml").read_text())
    config["storage"]["maintenance"] = {"readonly": {"enabled": True}}
    (reg.root / "config.yml").write_text(yaml.safe_dump(config))
    with reg.log_path.open("ab") as log:
        reg.process = subprocess.Popen(["docker-registry", "serve", str(reg.root / "config.yml")], stdout=log,
                                       stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            requests.get(f"{reg.url}/v2/", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("the read-only registry did not start within 20 s")


@pytest.fixture
def read_only_registry(tmp_path: Path) -> Iterator[RunningRegistry]:
    reg = start_registry(tmp_path / "registry")
    yield reg
    reg.stop()


@pytest.fixture
def read_only_project(tmp_path: Path, clean_env: dict[str, str], read_only_registry: RunningRegistry) -> Path:
    """Two single-arch images whose content tags are in a registry that then turns read-only."""
    reg = read_only_registry
    lines = [f"registry: {reg.host}/ro", "images:"]
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "Dockerfile").write_text(f"FROM scratch\nCOPY {name}.txt /\n")
        (tmp_path / name / f"{name}.txt").write_text(f"{name}\n")
        lines += [f"  {name}:", f"    dockerfile: {name}/Dockerfile"]
    (tmp_path / "ci-tags.yml").write_text("\n".join(lines) + "\n")
    regs = Registries(Http(), clean_env)
    for image in resolve(load_config(tmp_path / "ci-tags.yml", clean_env)):
        push_image(regs.get(reg.host), f"ro/{image.name}", image.content_tag)
    regs.http.close()
    _restart_read_only(reg)
    return tmp_path


def test_untagged_images_are_warned_after_the_table_and_fail_the_run(read_only_project, cli):
    result = cli("plan", "--pipeline-id", "7")
    assert result.code == 1
    assert result.out.splitlines()[-1] == "2 image(s) tagged pipeline-7 by metadata copy, 0 build(s) to run"
    warnings = result.err.splitlines()
    assert [line.split(":")[:2] for line in warnings[:2]] == [["warning", " one"], ["warning", " two"]]
    assert all("405" in line and ":pipeline-7" in line for line in warnings[:2])
    assert warnings[2:] == ["ci-tags: failed: could not tag 2 of 2 reused images"]


def test_json_names_each_untagged_image_and_the_error(read_only_project, cli):
    result = cli("plan", "--pipeline-id", "8", "--json")
    assert result.code == 1
    doc = json.loads(result.out)
    assert set(doc["errors"]) == {"one", "two"}
    assert doc["counts"]["reuse"] == 2
    assert doc["error"]["message"] == "could not tag 2 of 2 reused images"
    # stderr tells the same as the text run: one warning per image, then the error
    assert [line.split(":")[0] for line in result.err.splitlines()] == ["warning", "warning", "ci-tags"]
