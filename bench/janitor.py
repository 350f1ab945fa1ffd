"""Benchmark: `ci-tags janitor` on one repository with 10,000 tags, 9,000 of them expired pipeline tags, vs a
loop of `skopeo delete` (unsafe: it deletes by digest) as a speed reference, on another repository of the same
size. Reports wall time, removals per second and registry requests per removed tag (counted from the registry's
access log). Distribution 2.8 reads every tag of a repository on each manifest delete, so on it both rates are
bound by the registry; a last row runs the janitor through an API that deletes single tags (the tests' fake
Docker Hub API, an in-process HTTP server), which shows what ci-tags itself can do.
Run: .venv/bin/python -m bench.janitor [--tags 10000] [--expired 9000] [--skopeo-sample 300]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import ci_tags
from ci_tags.registry.client import Registries
from ci_tags.registry.http import Http
from ci_tags.registry.manifest import ANNOTATION_CREATED, ANNOTATION_KIND, stamped_index
from tests.support.images import push_image
from tests.support.registry import start_registry


def ago(days: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def populate(reg: object, repo: str, tags: int, expired: int, prefix: str = "pipeline-") -> None:
    image = push_image(reg, repo, "hash-" + "a" * 64, created=ago(1))  # type: ignore[arg-type]

    def one(n: int) -> None:
        days = 30 if n < expired else 1
        index = stamped_index(image.manifest, {"os": "linux", "architecture": "amd64"},
                              {ANNOTATION_KIND: "pipeline", ANNOTATION_CREATED: ago(days), "n": str(n)})
        reg.put_manifest(repo, f"{prefix}{n}", index)  # type: ignore[attr-defined]

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, range(tags - 1)))


def hub_api_run(command: str, tmp: Path, tags: int, expired: int) -> tuple[str, int, float, int, int]:
    """The janitor through Docker Hub's API (single-tag DELETE) against the tests' fake of it."""
    from tests.support.fake_dockerhub import FakeDockerHub

    repo = {f"pipeline-{n}": ago(30 if n < expired else 1) for n in range(tags)}
    fake = FakeDockerHub("bench", "bench-token", {"bench/janitor": repo})
    try:
        env = {**os.environ, "CI_TAGS_BRANCH": "main", "CI_TAGS_REGISTRY_USER": "bench",
               "CI_TAGS_REGISTRY_PASSWORD": "bench-token"}
        started = time.perf_counter()
        done = subprocess.run([command, "janitor", "docker.io/bench/janitor", "--hub-url", fake.url, "--json"],
                              cwd=tmp, capture_output=True, text=True, env=env, check=False)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(done.stderr)
        removed = len(json.loads(done.stdout)["repositories"][0]["removed"])
        return ("ci-tags janitor via a single-tag DELETE API (fake Hub)", removed, wall, len(fake.requests),
                len(fake.repos["bench/janitor"]))
    finally:
        fake.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tags", type=int, default=10000)
    parser.add_argument("--expired", type=int, default=9000)
    parser.add_argument("--skopeo-sample", type=int, default=300)
    args = parser.parse_args()
    compileall.compile_dir(str(Path(ci_tags.__file__).parent), quiet=1)
    command = str(Path(sys.executable).parent / "ci-tags")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        registry = start_registry(Path(tmp) / "registry")
        try:
            regs = Registries(Http(pool_size=32), {})
            reg = regs.get(registry.host)
            started = time.perf_counter()
            populate(reg, "bench/janitor", args.tags, args.expired)
            print(f"populated {args.tags} tags in {time.perf_counter() - started:.0f} s", file=sys.stderr)
            mark = registry.mark()
            started = time.perf_counter()
            done = subprocess.run([command, "janitor", f"{registry.host}/bench/janitor", "--json"], cwd=tmp,
                                  capture_output=True, text=True, env={**os.environ, "CI_TAGS_BRANCH": "main"})
            wall = time.perf_counter() - started
            if done.returncode != 0:
                print(done.stderr, file=sys.stderr)
                return 1
            removed = len(json.loads(done.stdout)["repositories"][0]["removed"])
            requests = len(registry.since(mark))
            left = len(reg.tags("bench/janitor"))
            rows.append(("ci-tags janitor (concurrency 8)", removed, wall, requests, left))

            skopeo = shutil.which("skopeo")
            if skopeo and args.skopeo_sample:
                # the same size of repository as the janitor started on, since the registry's cost grows with it
                populate(reg, "bench/skopeo", args.tags, args.expired)
                # skopeo deletes by digest: every tag on that digest goes; give each tag its own digest here
                mark = registry.mark()
                started = time.perf_counter()
                for n in range(args.skopeo_sample):
                    subprocess.run([skopeo, "delete", "--tls-verify=false",
                                    f"docker://{registry.host}/bench/skopeo:pipeline-{n}"],
                                   check=True, capture_output=True)
                wall = time.perf_counter() - started
                rows.append((f"skopeo delete loop (first {args.skopeo_sample} tags)", args.skopeo_sample, wall,
                             len(registry.since(mark)), len(reg.tags("bench/skopeo"))))
            regs.http.close()
        finally:
            registry.stop()
        rows.append(hub_api_run(command, Path(tmp), args.tags, args.expired))
    print(f"| {args.tags} tags, {args.expired} expired | removed | wall time (s) | removals/s | requests per "
          "removal | tags left |")
    print("|---|---|---|---|---|---|")
    for tool, removed, wall, requests, left in rows:
        print(f"| {tool} | {removed} | {wall:.1f} | {removed / wall:.0f} | {requests / max(removed, 1):.2f} | {left} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
