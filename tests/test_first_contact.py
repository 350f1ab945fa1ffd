"""What a new user meets first (issue 24's trial): the commands run by hand outside CI, in a checkout."""

from __future__ import annotations

import json
import uuid
from pathlib import Path


def checkout(root: Path, registry: str) -> None:
    (root / "one").mkdir()
    (root / "one" / "Dockerfile").write_text("FROM scratch\nCOPY one.txt /\n")
    (root / "one" / "one.txt").write_text("one\n")
    (root / "ci-tags.yml").write_text(f"registry: {registry}\nimages:\n  one:\n    dockerfile: one/Dockerfile\n")


def test_plan_dry_run_outside_ci_needs_no_pipeline_id(registry, tmp_path, cli):
    checkout(tmp_path, f"{registry.host}/first-{uuid.uuid4().hex[:8]}")
    result = cli("plan", "--dry-run", "--dotenv", "ci.env")
    assert result.code == 0, result.err
    assert "no pipeline id outside CI: shown as pipeline 'preview'" in result.out
    assert "one:pipeline-preview" in result.out  # the dotenv text, as it would be written
    assert not (tmp_path / "ci.env").exists()
    doc = cli("--json", "plan", "--dry-run")
    assert doc.code == 0, doc.err
    assert json.loads(doc.out)["pipeline_id"] == "preview"


def test_a_real_plan_outside_ci_still_needs_a_pipeline_id(registry, tmp_path, cli):
    checkout(tmp_path, f"{registry.host}/first-{uuid.uuid4().hex[:8]}")
    result = cli("plan")
    assert result.code == 2
    assert "no pipeline id" in result.err and "--pipeline-id" in result.err


def test_hash_shows_a_multi_arch_images_own_content_tag(tmp_path, cli):
    checkout(tmp_path, "registry.example.com/group")
    with (tmp_path / "ci-tags.yml").open("a") as f:
        f.write("  multi:\n    dockerfile: one/Dockerfile\n    arches: [amd64, arm64]\n")
    doc = json.loads(cli("--json", "hash").out)["images"]
    multi = next(i for i in doc if i["image"] == "multi")
    one = next(i for i in doc if i["image"] == "one")
    lines = cli("hash").out.splitlines()
    assert lines == [
        f"one {one['content_tag']}",
        f"multi index {multi['content_tag']}",  # what the pipeline tag stands for
        *(f"multi {a['arch']} {a['content_tag']}" for a in multi["arches"]),
    ]
