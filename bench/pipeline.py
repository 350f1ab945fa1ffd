"""Benchmark: whole pipelines of 30 images through the GitLab component (templates/pipeline.yml) under
gitlab-ci-local, on a local registry with real buildah builds. Pipeline 1 builds every image; the next ones change
nothing. For each: the jobs that ran, the wall time, the time spent in ci-tags' own jobs, and the blob requests
the registry answered (a blob request means image data moved).
Run: .venv/bin/python -m bench.pipeline [--images 30] [--unchanged 3]
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ci_tags
from bench.project import GIT_IDENTITY, commit_all, registry_with_base, write_images

ROOT = Path(__file__).resolve().parent.parent
_FINISHED_RE = re.compile(r"^\s*(?:\[[^\]]+\] -> )?(\S+)\s+finished in ([0-9.]+) (ms|s|min)", re.M)


def make_project(root: Path, registry: str, base: str, images: int) -> None:
    write_images(root, f"{registry}/bench", base, images)
    shutil.copytree(ROOT / "templates", root / "templates")
    (root / ".gitlab-ci.yml").write_text(
        "include:\n  - local: templates/pipeline.yml\n    inputs:\n      version: bench\n      image: ci-tags-bench\n"
    )
    (root / ".gitignore").write_text(".gitlab-ci-local/\nci-tags-*\n")


def job_times(output: str) -> dict[str, float]:
    scale = {"ms": 0.001, "s": 1.0, "min": 60.0}
    return {name: float(value) * scale[unit] for name, value, unit in _FINISHED_RE.findall(output)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=30)
    parser.add_argument("--unchanged", type=int, default=3, help="pipelines with nothing changed to measure")
    args = parser.parse_args()
    compileall.compile_dir(str(Path(ci_tags.__file__).parent), quiet=1)
    with tempfile.TemporaryDirectory(prefix="ci-tags-bench-") as tmp:
        work = Path(tmp)
        with registry_with_base(work) as (registry, env, base):
            project = work / "project"
            project.mkdir()
            make_project(project, registry.host, base, args.images)
            commit_all(project, origin="https://gitlab.example.com/g/p.git")
            env = {**env, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}", "NO_COLOR": "1",
                   **GIT_IDENTITY}
            print(f"# {args.images} images, gitlab-ci-local {_version()}, registry {registry.host}")
            print("pipeline\tjobs\twall s\tci-tags jobs s\tplan s\tpublish s\tblob requests\tjobs run")
            for n in range(1 + args.unchanged):
                mark = registry.mark()
                started = time.perf_counter()
                done = subprocess.run(
                    ["gitlab-ci-local", "--force-shell-executor", "--no-color", "--variable",
                     "CI_DEFAULT_BRANCH=main", "--variable", "GITLAB_CI=true"],
                    cwd=project, env=env, capture_output=True, text=True, check=False,
                )
                wall = time.perf_counter() - started
                output = done.stdout + done.stderr
                if done.returncode != 0:
                    print(output[-3000:], file=sys.stderr)
                    return 1
                times = job_times(output)
                ours = {k: v for k, v in times.items() if k.startswith("ci-tags-")}
                blobs = sum(1 for r in registry.since(mark) if r.is_blob)
                label = "first (builds)" if n == 0 else "unchanged"
                names = sorted(times)
                shown = ", ".join(names) if len(names) <= 6 else f"{', '.join(names[:4])}, ... ({len(names)})"
                print(f"{label}\t{len(times)}\t{wall:.2f}\t{sum(ours.values()):.2f}\t"
                      f"{ours.get('ci-tags-plan', 0):.2f}\t{ours.get('ci-tags-publish', 0):.2f}\t{blobs}\t{shown}")
    return 0


def _version() -> str:
    done = subprocess.run(["gitlab-ci-local", "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip()


if __name__ == "__main__":
    raise SystemExit(main())
