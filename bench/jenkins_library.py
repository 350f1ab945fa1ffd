"""Benchmark: ci-tags' Jenkins shared library (ciTagsPipeline) run under the Groovy harness of the tests
(tests/jenkins/run_pipeline.groovy), on a local registry with real buildah builds, for a project of N images.
Build 1 builds every image; the next ones change nothing. For each: the ci-tags builds that ran, the wall time,
the `sh` steps and their summed time, and the blob requests the registry answered. A pipeline that only echoes
gives the harness' fixed cost.
Run: .venv/bin/python -m bench.jenkins_library [--images 10] [--unchanged 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.jenkins_harness import Agent, Harness
from tests.support.project import buildah_env, push_busybox_base
from tests.support.registry import start_registry

SCRIPT = """@Library('ci-tags') _
ciTagsPipeline(agentLabel: 'linux', install: 'path')
"""


def make_project(root: Path, registry: str, base: str, images: int) -> str:
    lines = [f"registry: {registry}/jbench", "images:"]
    for i in range(images):
        d = root / "docker" / f"img{i:02d}"
        d.mkdir(parents=True)
        (d / "Dockerfile").write_text(f"FROM {base}\nCOPY file.txt /file{i}.txt\n")
        (d / "file.txt").write_text(f"image {i}\n")
        lines += [f"  img{i:02d}:", f"    dockerfile: docker/img{i:02d}/Dockerfile"]
    (root / "ci-tags.yml").write_text("\n".join(lines) + "\npublish: [latest]\n")
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.com", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@example.com"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "bench"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, check=True, capture_output=True,
                          text=True).stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=10)
    parser.add_argument("--unchanged", type=int, default=2, help="builds with nothing changed to measure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ci-tags-jbench-") as tmp:
        work = Path(tmp)
        registry = start_registry(work / "registry")
        try:
            env = buildah_env(work / "buildah")
            base = push_busybox_base(registry.host, work, env)
            root = work / "project"
            root.mkdir()
            commit = make_project(root, registry.host, base, args.images)
            path = f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"
            harness = Harness(work / "jenkins", [Agent("linux-1", ("linux", "amd64"), executors=4)],
                              {**env, "PATH": path, "NO_COLOR": "1"})
            rows = []
            started = time.monotonic()
            echo = harness.run("echo 'hello'\n", scm_url=str(root), commit=commit, branch="main", number=1)
            rows.append(("echo only", echo, time.monotonic() - started, []))
            for number in range(1, 2 + args.unchanged):
                mark = registry.mark()
                started = time.monotonic()
                done = harness.run(SCRIPT, scm_url=str(root), commit=commit, branch="main", number=number)
                wall = time.monotonic() - started
                if done.result != "SUCCESS":
                    print(done.text[-3000:], file=sys.stderr)
                    return 1
                label = "first (builds all)" if number == 1 else "unchanged"
                rows.append((label, done, wall, registry.since(mark)))
        finally:
            registry.stop()
    print(f"{args.images} images, one agent with 4 executors, 2 cores shared")
    print(f"{'build':<20} {'builds':>6} {'wall s':>7} {'sh steps':>8} {'sh s (summed)':>13} {'blob reqs':>9}")
    for label, done, wall, requests in rows:
        in_sh = sum(s["seconds"] for s in done.shells)
        print(f"{label:<20} {len(done.commands('build')):>6} {wall:>7.1f} {len(done.shells):>8} {in_sh:>13.1f} "
              f"{sum(1 for r in requests if r.is_blob):>9}")
    print("'echo only' is the harness' fixed cost (JVM and Groovy start, no library step); sh seconds of parallel "
          "branches add up")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
