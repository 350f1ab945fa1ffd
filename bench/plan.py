"""Benchmark: `ci-tags plan` over N unchanged images against its request floor, on a local registry.

The floor: a bare `requests` loop in a new Python process, 8 threads over one pool, doing for each image what a
plan of an unchanged single-arch image cannot do without: HEAD its content tag and PUT a stamped index of it
(the same shape and size as plan's) under a new tag. Same registry, same images, same 8 threads; runs are
interleaved so that load from elsewhere on the machine hits both alike. Reported per size: median wall time,
median CPU time (user + system of the process: steadier on a shared machine), requests per image, blob requests
and manifest GETs per image (on Docker Hub a manifest GET is a pull against the rate limit, a HEAD is not), and
plan's ratio to its floor. With ``--skopeo``, also a shell loop of `skopeo inspect` + `skopeo copy` per image
(the way fdo ci-templates checks and retags), for the sizes up to 30 images.
Run: .venv/bin/python -m bench.plan [--images 30 300] [--runs 5] [--skopeo]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import ci_tags
from bench.project import write_images
from ci_tags.oci.http import Http
from ci_tags.oci.registries import Registries
from ci_tags.project.config import load_config
from ci_tags.project.imageset import resolve
from tests.support.images import push_image
from tests.support.registry import RunningRegistry, start_registry

THREADS = 8  # plan's default concurrency

# The floor, run as `python -c FLOOR BASE TAG IMAGES.json` (IMAGES.json: [[repository, content tag], ...]).
FLOOR = """
import json, sys, datetime
from concurrent.futures import ThreadPoolExecutor
import requests

base, tag, listing = sys.argv[1], sys.argv[2], sys.argv[3]
images = json.load(open(listing))
session = requests.Session()
session.mount("http://", requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=16))
ACCEPT = ", ".join(["application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
                    "application/vnd.docker.distribution.manifest.v2+json",
                    "application/vnd.docker.distribution.manifest.list.v2+json"])

def one(item):
    repository, content_tag = item
    head = session.head(f"{base}/v2/{repository}/manifests/{content_tag}", headers={"Accept": ACCEPT})
    head.raise_for_status()
    entry = {"mediaType": head.headers["Content-Type"], "digest": head.headers["Docker-Content-Digest"],
             "size": int(head.headers["Content-Length"]),
             "platform": {"architecture": "amd64", "os": "linux"}}
    created = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [entry],
             "annotations": {"org.opencontainers.image.created": created, "dev.ci-tags.kind": "pipeline",
                             "dev.ci-tags.pipeline": tag, "dev.ci-tags.content-tag": content_tag,
                             "dev.ci-tags.target": entry["digest"]}}
    put = session.put(f"{base}/v2/{repository}/manifests/{tag}",
                      data=json.dumps(index, separators=(",", ":"), sort_keys=True).encode(),
                      headers={"Content-Type": "application/vnd.oci.image.index.v1+json"})
    put.raise_for_status()

with ThreadPoolExecutor(THREADS) as pool:
    list(pool.map(one, images))
""".replace("THREADS", str(THREADS))


@dataclass
class Tool:
    label: str
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)
    blobs: list[int] = field(default_factory=list)
    gets: list[int] = field(default_factory=list)

    def run(self, registry: RunningRegistry, cmd: list[str], cwd: Path, env: dict[str, str]) -> None:
        mark = registry.mark()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        seen = registry.since(mark)
        self.requests.append(len(seen))
        self.blobs.append(sum(1 for r in seen if r.is_blob))
        self.gets.append(sum(1 for r in seen if r.method == "GET" and "/manifests/" in r.uri))


def bench_size(registry: RunningRegistry, tmp: Path, count: int, runs: int, skopeo: str | None) -> list[Tool]:
    """Plan, its floor (and skopeo) over ``count`` unchanged images pushed to ``registry``."""
    env = {**os.environ, "CI_TAGS_BRANCH": "main"}
    project = tmp / f"project-{count}"
    project.mkdir()
    config_path = write_images(project, f"{registry.host}/bench{count}", "debian:12", count, publish=False)
    regs = Registries(Http(), env)
    reg = regs.get(registry.host)
    images = resolve(load_config(config_path, env))
    listing = []
    for image in images:  # every content tag present: a pipeline where nothing changed
        repo = image.repository.split("/", 1)[1]
        push_image(reg, repo, image.content_tag, layers=1, layer_size=4096)
        listing.append([repo, image.content_tag])
    regs.http.close()
    (tmp / f"images-{count}.json").write_text(json.dumps(listing))
    python = sys.executable
    commands = (lambda run: [str(Path(python).parent / "ci-tags"), "plan", "--pipeline-id", f"{run}"],
                lambda run: [python, "-c", FLOOR, registry.url, f"floor-{run}", str(tmp / f"images-{count}.json")])
    tools = [Tool("ci-tags plan (one process)"), Tool(f"floor: requests HEAD + PUT, {THREADS} threads")]
    for command in commands:  # a first round warms the page cache and the bytecode; not counted
        Tool("warm-up").run(registry, command(0), project, env)
    for run in range(1, runs + 1):  # interleaved, so a burst of load elsewhere hits both alike
        for tool, command in zip(tools, commands, strict=True):
            tool.run(registry, command(run), project, env)
    if skopeo and count <= 30:
        theirs = Tool("skopeo inspect + copy loop")
        for run in range(runs):
            script = "".join(
                f"skopeo inspect --tls-verify=false docker://{i.repository}:{i.content_tag} >/dev/null && "
                f"skopeo copy --quiet --src-tls-verify=false --dest-tls-verify=false "
                f"docker://{i.repository}:{i.content_tag} docker://{i.repository}:sk-{run}\n"
                for i in images
            )
            theirs.run(registry, ["bash", "-ec", script], project, env)
        tools.append(theirs)
    return tools


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, nargs="+", default=[30, 300])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skopeo", action="store_true", help="also time a skopeo loop (sizes up to 30)")
    args = parser.parse_args()
    compileall.compile_dir(str(Path(ci_tags.__file__).parent), quiet=1)
    skopeo = shutil.which("skopeo") if args.skopeo else None
    results: dict[int, list[Tool]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        registry = start_registry(Path(tmp) / "registry")
        try:
            for count in args.images:
                results[count] = bench_size(registry, Path(tmp), count, args.runs, skopeo)
        finally:
            registry.stop()
    print(f"| unchanged images | tool | median wall time (s, {args.runs} runs) | median CPU time (s) | "
          "requests per image | blob requests | manifest GETs per image |")
    print("|---|---|---|---|---|---|---|")
    for count, tools in results.items():
        for tool in tools:
            print(f"| {count} | {tool.label} | {statistics.median(tool.walls):.3f} "
                  f"| {statistics.median(tool.cpus):.3f} "
                  f"| {statistics.mean(tool.requests) / count:.2f} | {statistics.mean(tool.blobs):.0f} "
                  f"| {statistics.mean(tool.gets) / count:.2f} |")
    print()
    for count, (plan, floor, *_) in results.items():
        ratios = [p / f for p, f in zip(plan.walls, floor.walls, strict=True)]
        print(f"{count} images: plan / floor = {statistics.median(plan.walls) / statistics.median(floor.walls):.2f}x "
              f"wall (medians; run by run {min(ratios):.2f}-{max(ratios):.2f}x), "
              f"{statistics.median(plan.cpus) / statistics.median(floor.cpus):.2f}x CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
