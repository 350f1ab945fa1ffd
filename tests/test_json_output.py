"""What a script relies on: every command's ``--json`` is one object that its published schema
(``schemas/<command>.json``) accepts, on success and on failure; --json and --debug go before or after the
command; every command's --help shows examples. Real registry, real buildah builds.

The conftest's ``cli`` validates every ``--json`` output of every test against the schemas; the tests here make
sure each command is run both ways at least once."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from typing import Any

import jsonschema
import pytest

from ci_tags.cli import COMMANDS
from tests.support.project import buildah_env, push_busybox_base, write_project
from tests.support.schemas import SCHEMAS, schema, validated


def test_every_command_has_a_valid_schema_and_nothing_else_does():
    assert {p.stem for p in SCHEMAS.glob("*.json")} == set(COMMANDS)
    for name in COMMANDS:
        jsonschema.Draft202012Validator.check_schema(schema(name))


@pytest.mark.parametrize("command", list(COMMANDS))
def test_help_shows_examples(cli, command, capsys):
    result = cli(command, "--help")
    assert result.code == 0
    examples = capsys.readouterr().out.split("examples:\n", 1)[1]  # argparse prints help on sys.stdout
    assert f"ci-tags {command}" in examples.splitlines()[0]


@pytest.mark.parametrize("argv", [["--help"], ["--help", "retag"], ["-h", "tags", "x"]])
def test_the_root_help_lists_every_command_also_before_a_command_name(cli, argv, capsys):
    """Only the chosen command's parser is built (start-up), but the root's --help still lists every command."""
    assert cli(*argv).code == 0
    listed = capsys.readouterr().out.split("  COMMAND\n", 1)[1]
    assert [line.split()[0] for line in listed.splitlines() if line.startswith("    ") and line[4] != " "] == list(
        COMMANDS)


def test_global_options_go_before_or_after_the_command(cli):
    before, after = cli("--json", "slug", "Feature/X"), cli("slug", "Feature/X", "--json")
    assert before.code == after.code == 0
    assert json.loads(before.out) == json.loads(after.out) == {
        "schema_version": 1, "command": "slug", "branch": "Feature/X", "slug": "feature-x"}
    assert cli("--debug", "--json", "slug", "x").code == 0


# one failing run per command: (argv, error kind, exit code)
FAILURES = {
    "slug": (["slug"], "usage", 2),
    "inspect": (["inspect", "Not A Ref"], "bad_input", 2),
    "tags": (["tags", "Bad Ref"], "bad_input", 2),
    "retag": (["retag", "Bad Ref", "x"], "bad_input", 2),
    "untag": (["untag", "localhost:5000/app"], "bad_input", 2),
    "hash": (["hash", "--config", "missing.yml"], "bad_input", 2),
    "plan": (["plan", "--config", "missing.yml", "--pipeline-id", "1"], "bad_input", 2),
    "build": (["build", "app", "--config", "missing.yml", "--pipeline-id", "1"], "bad_input", 2),
    "manifest": (["manifest", "app", "--config", "missing.yml", "--pipeline-id", "1"], "bad_input", 2),
    "publish": (["publish", "--config", "missing.yml", "--pipeline-id", "1"], "bad_input", 2),
    "janitor": (["janitor", "--config", "missing.yml"], "bad_input", 2),
    "prune": (["prune", "nohost", "--tag", "x"], "bad_input", 2),
    "promote": (["promote", "missing.yml"], "bad_input", 2),
    "sync": (["sync", "missing.yml"], "bad_input", 2),
    "prepare": (["prepare", "missing.yml", "--images", "missing.yml", "--output-env-file", "out.yml"],
                "bad_input", 2),
}


def test_failures_cover_every_command():
    assert set(FAILURES) == set(COMMANDS)


@pytest.mark.parametrize("command", list(FAILURES))
def test_a_failure_is_one_error_document_with_the_exit_code(cli, command):
    argv, kind, code = FAILURES[command]
    result = cli(*argv, "--json")
    assert result.code == code, result.err
    doc = validated(result.out)
    assert doc["command"] == command
    assert doc["error"]["kind"] == kind
    assert doc["error"]["exit_code"] == result.code
    assert doc["error"]["message"] in result.err  # the same words a human reads on stderr
    assert "Traceback" not in result.err


pytestmark_buildah = pytest.mark.skipif(shutil.which("buildah") is None, reason="buildah is installed by .ci/setup")


@pytest.fixture(scope="module")
def builds(registry, tmp_path_factory):
    work = tmp_path_factory.mktemp("json-builds")
    env = buildah_env(work / "buildah")
    return env, push_busybox_base(registry.host, work, env)


def local_images(env):
    listed = subprocess.run(["buildah", "images", "--format", "{{.Name}}:{{.Tag}}"], env=env, check=True,
                            capture_output=True, text=True).stdout
    return set(listed.split())


@pytestmark_buildah
def test_every_command_succeeds_with_its_schema_shape(registry, builds, cli, tmp_path, monkeypatch):
    env, base = builds
    root = tmp_path / "proj"
    root.mkdir()
    prefix = f"{registry.host}/j{hashlib.sha256(str(tmp_path).encode()).hexdigest()[:10]}"
    write_project(root, prefix, base)
    monkeypatch.chdir(root)
    ci = {**env, "CI_TAGS_PIPELINE_ID": "1", "CI_TAGS_BRANCH": "main", "CI_TAGS_DEFAULT_BRANCH": "main"}

    def run(*argv: str) -> dict[str, Any]:
        result = cli(*argv, "--json", env=ci)
        assert result.code == 0, result.err
        return validated(result.out)

    hashed = run("hash")
    assert [i["image"] for i in hashed["images"]] == ["base", "app", "tools"]

    plan = run("plan", "--gitlab-child", "child.yml")
    assert plan["counts"] == {"images": 3, "reuse": 0, "assemble": 0, "build_jobs": 4}
    assert {r["action"] for r in plan["rows"]} == {"build"}
    assert plan["dry_run"] is False
    assert "&id0" not in (root / "child.yml").read_text()  # shared lists (needs) written out, not anchored

    built = run("build", "base")
    target = f"{prefix}/ci/base:{built['content_tag']}"
    assert (built["action"], built["local_image_removed"]) == ("build", True)
    assert target not in local_images(env)  # pushed, then gone from the runner's storage
    kept = run("build", "app", "--keep-image")
    assert kept["local_image_removed"] is False
    assert f"{prefix}/ci/app:{kept['content_tag']}" in local_images(env)
    assert run("build", "base")["action"] == "reuse"  # present already: nothing built
    for arch in ("amd64", "arm64"):
        run("build", "tools", "--arch", arch)
    assert run("manifest", "tools")["arches"] == ["amd64", "arm64"]

    again = run("plan")
    assert again["counts"] == {"images": 3, "reuse": 3, "assemble": 0, "build_jobs": 0}
    assert {r["action"] for r in again["rows"]} == {"reuse"}

    dry = run("publish", "--dry-run")
    assert (dry["dry_run"], dry["published"]) == (True, False)
    assert all(m["move"] for m in dry["moves"])
    done = run("publish")
    assert (done["dry_run"], done["published"]) == (False, True)

    repo = f"{prefix}/ci/base"
    listed = run("tags", repo)
    assert {"tag": "latest", "digest": None} in listed["tags"]
    with_digests = run("tags", repo, "--digests")
    assert [t["tag"] for t in with_digests["tags"]] == [t["tag"] for t in listed["tags"]]
    assert all(t["digest"].startswith("sha256:") for t in with_digests["tags"])
    assert run("inspect", f"{repo}:latest")["reference"] == f"{repo}:latest"
    assert run("retag", f"{repo}:latest", "copy")["destination"] == f"{repo}:copy"

    would = run("untag", f"{repo}:copy", "--dry-run")
    assert (would["dry_run"], would["removed"]) == (True, [f"{repo}:copy"])
    assert run("untag", f"{repo}:copy")["removed"] == [f"{repo}:copy"]

    janitor = run("janitor", "--dry-run")
    assert janitor["dry_run"] is True
    assert janitor["counts"]["removed"] == sum(len(r["removed"]) for r in janitor["repositories"])
    pruned = run("prune", f"{prefix}", "--repo-prefix", "ci/", "--tag", "latest", "--dry-run")
    assert sorted(pruned["removed"]) == [f"{prefix}/ci/{n}" for n in ("app", "base", "tools")]
    assert (pruned["dry_run"], pruned["counts"]["removed"]) == (True, 3)
