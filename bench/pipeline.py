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
from tests.support.project import buildah_env, push_busybox_base
from tests.support.registry import start_registry

ROOT = Path(__file__).resolve().parent.parent
_FINISHED_RE = re.compile(r"^\s*(?:\[[^\]]+\] -> )?(\S+)\s+finished in ([0-9.]+) (ms|s|min)", re.M)


def make_project(root: Path, registry: str, base: str, images: int) -> None:
    lines = [f"registry: {registry}/bench", "images:"]
    for i in range(images):
        d = root / "docker" / f"img{i:02d}"
        d.mkdir(parents=True)
        (d / "Dockerfile").write_text(f"FROM {base}\nCOPY file.txt /file{i}.txt\n")
        (d / "file.txt").write_text(f"image {i}\n")
        lines += [f"  img{i:02d}:", f"    dockerfile: docker/img{i:02d}/Dockerfile"]
    (root / "ci-tags.yml").write_text("\n".join(lines) + "\npublish: [latest]\n")
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
        registry = start_registry(work / "registry")
        try:
            env = buildah_env(work / "buildah")
            base = push_busybox_base(registry.host, work, env)
            project = work / "project"
            project.mkdir()
            make_project(project, registry.host, base, args.images)
            env = {**env, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}", "NO_COLOR": "1",
                   "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.com", "GIT_COMMITTER_NAME": "b",
                   "GIT_COMMITTER_EMAIL": "b@example.com"}
            for git in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "bench"],
                        ["remote", "add", "origin", "https://gitlab.example.com/g/p.git"]):
                subprocess.run(["git", *git], cwd=project, env=env, check=True)
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
        finally:
            registry.stop()
    return 0


def _version() -> str:
    done = subprocess.run(["gitlab-ci-local", "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip()


if __name__ == "__main__":
    raise SystemExit(main())
