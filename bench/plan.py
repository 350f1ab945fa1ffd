"""Benchmark: `ci-tags plan` over 30 unchanged images vs a shell loop of `skopeo inspect` + `skopeo copy` per
image (the way fdo ci-templates checks and retags), on a local registry. Also counts blob requests, and manifest
GETs per unchanged image (on Docker Hub a manifest GET is a pull against the rate limit, a HEAD is not; goal 0).
Run: .venv/bin/python -m bench.plan [--images 30] [--runs 5]
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ci_tags
from bench.project import write_images
from ci_tags.oci.client import Registries
from ci_tags.oci.http import Http
from ci_tags.project.config import load_config
from ci_tags.project.imageset import resolve
from tests.support.images import push_image
from tests.support.registry import RunningRegistry, start_registry


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - started


def blob_requests(registry: RunningRegistry, mark: int) -> int:
    return sum(1 for r in registry.since(mark) if r.is_blob)


def manifest_gets(registry: RunningRegistry, mark: int) -> int:
    return sum(1 for r in registry.since(mark) if r.method == "GET" and "/manifests/" in r.uri)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    compileall.compile_dir(str(Path(ci_tags.__file__).parent), quiet=1)
    command = str(Path(sys.executable).parent / "ci-tags")
    skopeo = shutil.which("skopeo")
    env = {**os.environ, "CI_TAGS_BRANCH": "main"}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        registry = start_registry(Path(tmp) / "registry")
        try:
            project = Path(tmp) / "project"
            project.mkdir()
            config_path = write_images(project, f"{registry.host}/bench", "debian:12", args.images,
                                       publish=False)
            config = load_config(config_path, env)
            regs = Registries(Http(), env)
            reg = regs.get(registry.host)
            images = resolve(config)
            for image in images:  # every content tag present: a pipeline where nothing changed
                repo = image.repository.split("/", 1)[1]
                push_image(reg, repo, image.content_tag, layers=5, layer_size=256 << 10)
            ours, ours_blobs, ours_requests, ours_gets = [], [], [], []
            for run in range(args.runs):
                mark = registry.mark()
                ours.append(timed([command, "plan", "--pipeline-id", f"{run + 1}"], project, env))
                ours_blobs.append(blob_requests(registry, mark))
                ours_requests.append(len(registry.since(mark)))
                ours_gets.append(manifest_gets(registry, mark))
            rows.append(("ci-tags plan (one process)", statistics.median(ours), statistics.mean(ours_requests),
                         statistics.mean(ours_blobs), statistics.mean(ours_gets) / args.images))
            if skopeo:
                theirs, their_blobs, their_requests, their_gets = [], [], [], []
                for run in range(args.runs):
                    script = "".join(
                        f"skopeo inspect --tls-verify=false docker://{i.repository}:{i.content_tag} >/dev/null && "
                        f"skopeo copy --quiet --src-tls-verify=false --dest-tls-verify=false "
                        f"docker://{i.repository}:{i.content_tag} docker://{i.repository}:sk-{run}\n"
                        for i in images
                    )
                    mark = registry.mark()
                    theirs.append(timed(["bash", "-ec", script], project, env))
                    their_blobs.append(blob_requests(registry, mark))
                    their_requests.append(len(registry.since(mark)))
                    their_gets.append(manifest_gets(registry, mark))
                rows.append(("skopeo inspect + copy loop", statistics.median(theirs), statistics.mean(their_requests),
                             statistics.mean(their_blobs), statistics.mean(their_gets) / args.images))
            regs.http.close()
        finally:
            registry.stop()
    print(f"| {args.images} unchanged images | median wall time (s, {args.runs} runs) | requests | blob requests | "
          "manifest GETs per image |")
    print("|---|---|---|---|---|")
    for tool, seconds, requests, blobs, gets in rows:
        print(f"| {tool} | {seconds:.2f} | {requests:.0f} | {blobs:.0f} | {gets:.2f} |")
    if len(rows) == 2:
        print(f"\nci-tags plan is {rows[1][1] / rows[0][1]:.1f}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
