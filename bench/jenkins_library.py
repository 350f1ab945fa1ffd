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
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.project import commit_all, registry_with_base, write_images
from tests.support.jenkins_harness import Agent, Harness

SCRIPT = """@Library('ci-tags') _
ciTagsPipeline(agentLabel: 'linux', install: 'path')
"""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=10)
    parser.add_argument("--unchanged", type=int, default=2, help="builds with nothing changed to measure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ci-tags-jbench-") as tmp:
        work = Path(tmp)
        with registry_with_base(work) as (registry, env, base):
            root = work / "project"
            root.mkdir()
            write_images(root, f"{registry.host}/jbench", base, args.images)
            commit = commit_all(root)
            path = f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"
            harness = Harness(work / "jenkins", [Agent("linux-1", ("linux", "amd64"), executors=4)],
                              {**env, "PATH": path, "NO_COLOR": "1"})
            rows: list[tuple[str, Any, float, list[Any]]] = []
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
