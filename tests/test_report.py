"""The per-pipeline report (CI_TAGS_REPORT): plan, publish and janitor each append a Markdown section saying what
they did, against the real registry."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

from tests.support.images import push_image


def ago(days: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def checkout(root, registry_prefix):
    for name in ("one", "two"):
        (root / name).mkdir()
        (root / name / "Dockerfile").write_text(f"FROM scratch\nCOPY {name}.txt /\n")
        (root / name / f"{name}.txt").write_text(f"{name}\n")
    (root / "ci-tags.yml").write_text(f"registry: {registry_prefix}\nimages:\n  one:\n    dockerfile: one/Dockerfile\n"
                                      "  two:\n    dockerfile: two/Dockerfile\n")


def test_plan_publish_and_janitor_write_the_pipelines_report(registry, reg, tmp_path, cli):
    group = f"report-{uuid.uuid4().hex[:8]}"
    checkout(tmp_path, f"{registry.host}/{group}")
    env = {"CI_TAGS_PIPELINE_ID": "7", "CI_TAGS_BRANCH": "main", "CI_TAGS_DEFAULT_BRANCH": "main",
           "CI_TAGS_REPORT": str(tmp_path / "report.md")}
    tags = {i["image"]: i["content_tag"] for i in json.loads(cli("--json", "hash", env=env).out)["images"]}
    push_image(reg, f"{group}/one", tags["one"])  # one is there already: reused; two is to build

    assert cli("plan", "--dotenv", "ci.env", env=env).code == 0
    report = (tmp_path / "report.md").read_text()
    assert report.startswith("## ci-tags plan: pipeline 7\n")
    assert f"| one | amd64 | `{tags['one']}` | reuse |" in report
    assert f"| two | amd64 | `{tags['two']}` | build |" in report
    assert "- reused: 1 image(s), tagged `pipeline-7` by a metadata-only copy" in report
    assert "- to build: 1 image x arch build(s) (1 image(s))" in report
    assert "- blobs moved for reused and assembled images: none" in report
    assert "- time: " in report

    push_image(reg, f"{group}/two", tags["two"])  # as its build job would
    reg.put_manifest(f"{group}/two", "pipeline-7", reg.get_manifest(f"{group}/two", tags["two"]))
    assert cli("publish", env=env).code == 0
    publish = (tmp_path / "report.md").read_text()[len(report):]
    assert publish.startswith("## ci-tags publish\n")
    assert f"- moved `{registry.host}/{group}/one:latest`" in publish

    old = "hash-" + "0" * 64  # a content tag of an older checkout, built 30 days ago
    push_image(reg, f"{group}/one", old, created=ago(30))
    assert cli("janitor", env=env).code == 0
    janitor = (tmp_path / "report.md").read_text()[len(report) + len(publish):]
    assert janitor.startswith("## ci-tags janitor\n")
    assert f"Removed from {registry.host}/{group}/one:\n- `{old}`: expired (" in janitor  # and why


def test_without_the_variable_no_report_is_written(registry, tmp_path, cli):
    checkout(tmp_path, f"{registry.host}/report-{uuid.uuid4().hex[:8]}")
    assert cli("plan", "--dry-run").code == 0
    assert not list(tmp_path.glob("*.md"))


def test_a_report_that_cannot_be_written_is_a_warning(registry, tmp_path, cli):
    checkout(tmp_path, f"{registry.host}/report-{uuid.uuid4().hex[:8]}")
    result = cli("plan", "--dry-run", env={"CI_TAGS_REPORT": str(tmp_path / "no" / "such" / "report.md")})
    assert result.code == 0
    assert "warning: cannot write the report" in result.err
