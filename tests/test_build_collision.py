"""Two pipelines building the same content tag at once on one host (a shell runner, a Jenkins agent with two
executors) share buildah's storage. Each build uses a local name of its own, pushes to the real tags from it and
removes only it: both succeed, and the content tag ends on one of the two builds.

Real buildah on one shared vfs storage, a real registry. A wrapper on PATH holds each ``buildah push`` until both
builds have built (a barrier, no timing): the interleaving that made one of them fail when both used
``<repository>:<content tag>`` locally (the second build took the name; the first pushed the second's image, then
one removal found nothing to remove). bench/build_collision.py runs the free-running race 20 times.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.project import buildah_env
from tests.support.registry import RunningRegistry

# Holds `buildah push` until the other build has built too: each push marks its arrival in BARRIER_DIR and waits
# (polling the folder, bounded) until two have arrived. Other verbs run straight through.
WRAPPER = """#!/bin/sh
if [ "$1" = push ]; then
  touch "$BARRIER_DIR/$$"
  n=0
  while [ "$(ls "$BARRIER_DIR" | wc -l)" -lt 2 ]; do
    n=$((n + 1)); if [ $n -gt 6000 ]; then echo "barrier: the other build never came" >&2; exit 99; fi
    sleep 0.05
  done
fi
exec BUILDAH "$@"
"""


def write_project(root: Path, registry: RunningRegistry) -> None:
    (root / "docker").mkdir(parents=True)
    (root / "docker" / "Dockerfile").write_text("FROM scratch\nCOPY hello.txt /hello.txt\n")
    (root / "docker" / "hello.txt").write_text("hello\n")
    (root / "ci-tags.yml").write_text(
        f"registry: {registry.host}/collide\nimages:\n  hello:\n    dockerfile: docker/Dockerfile\n")


def start_build(root: Path, env: dict[str, str], pipeline: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ci_tags", "build", "hello", "--force", "--json", "--pipeline-id", pipeline],
        cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def local_images(env: dict[str, str]) -> list[str]:
    listed = subprocess.run(["buildah", "images", "--json"], env=env, capture_output=True, text=True, check=True)
    return [name for image in json.loads(listed.stdout or "[]") for name in image.get("names") or []]


@pytest.mark.parametrize("round_", range(3))
def test_two_builds_of_one_content_tag_on_one_storage_both_succeed(registry, reg, tmp_path, round_):
    buildah = shutil.which("buildah")
    assert buildah, ".ci/setup installs buildah"
    write_project(tmp_path, registry)
    env = buildah_env(tmp_path / "shared-buildah")  # one storage for both builds, as on one runner host
    bin_dir, barrier = tmp_path / "bin", tmp_path / "barrier"
    bin_dir.mkdir()
    barrier.mkdir()
    (bin_dir / "buildah").write_text(WRAPPER.replace("BUILDAH", buildah))
    (bin_dir / "buildah").chmod(0o755)
    run_env = {**env, "PATH": f"{bin_dir}:{env['PATH']}", "BARRIER_DIR": str(barrier),
               "PYTHONPATH": str(Path(__file__).resolve().parents[1])}

    builds = {pipeline: start_build(tmp_path, run_env, pipeline) for pipeline in (f"{round_}01", f"{round_}02")}
    outcomes = {pipeline: (proc.wait(timeout=600), *proc.communicate()) for pipeline, proc in builds.items()}

    for pipeline, (code, _, err) in outcomes.items():
        assert code == 0, f"pipeline {pipeline}: {err[-2000:]}"
    documents = {pipeline: json.loads(out) for pipeline, (_, out, _) in outcomes.items()}
    assert {doc["action"] for doc in documents.values()} == {"build"}
    assert all(doc["local_image_removed"] for doc in documents.values())
    content_tags = {doc["content_tag"] for doc in documents.values()}
    assert len(content_tags) == 1
    # the content tag is one of the two builds; each pipeline tag (a stamped index) holds its own build
    digests = {doc["digest"] for doc in documents.values()}
    assert len(digests) == 2 and reg.head_manifest("collide/hello", content_tags.pop()) in digests
    for pipeline, doc in documents.items():
        assert doc["pipeline_tag"] == f"pipeline-{pipeline}"
        stamped = json.loads(reg.get_manifest("collide/hello", doc["pipeline_tag"]).data)
        assert [m["digest"] for m in stamped["manifests"]] == [doc["digest"]]
    # each removed its own local image and nothing else: the storage holds neither
    assert local_images(env) == []


def test_a_kept_image_stays_under_its_content_tag_and_the_build_name_goes(registry, tmp_path):
    write_project(tmp_path, registry)
    env = buildah_env(tmp_path / "buildah")
    run_env = {**env, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run(
        [sys.executable, "-m", "ci_tags", "build", "hello", "--force", "--json", "--pipeline-id", "5",
         "--keep-image"], cwd=tmp_path, env=run_env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    doc = json.loads(done.stdout)
    assert doc["local_image_removed"] is False
    assert local_images(env) == [f"{registry.host}/collide/hello:{doc['content_tag']}"]
