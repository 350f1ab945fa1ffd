"""Benchmark: two pipelines build the same content tag at once on one host (one buildah storage), free-running (no
barrier: tests/test_build_collision.py forces the bad interleaving; this measures how often users meet it).
Each round starts two ``ci-tags build --force`` processes together; prints the rounds in which both succeeded and,
for the others, the failure lines.
Run: .venv/bin/python -m bench.build_collision [--rounds 20] [--checkout /path/to/another/ci-tags]
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.project import buildah_env
from tests.support.registry import start_registry

HERE = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--checkout", type=Path, default=HERE, help="the ci-tags checkout to run (default: this)")
    args = parser.parse_args()
    failures: collections.Counter[str] = collections.Counter()
    both = 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        registry = start_registry(work / "registry")
        try:
            (work / "docker").mkdir()
            (work / "docker" / "Dockerfile").write_text("FROM scratch\nCOPY hello.txt /hello.txt\n")
            (work / "docker" / "hello.txt").write_text("hello\n")
            (work / "ci-tags.yml").write_text(
                f"registry: {registry.host}/collide\nimages:\n  hello:\n    dockerfile: docker/Dockerfile\n")
            env = {**buildah_env(work / "buildah"), "PYTHONPATH": str(args.checkout)}
            started = time.perf_counter()
            for round_ in range(args.rounds):
                procs = [subprocess.Popen(
                    [sys.executable, "-m", "ci_tags", "build", "hello", "--force", "--pipeline-id", f"{round_}0{n}"],
                    cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                    for n in (1, 2)]
                outcomes = [(proc.wait(), proc.communicate()[1]) for proc in procs]
                both += all(code == 0 for code, _ in outcomes)
                for code, err in outcomes:
                    if code != 0:
                        said = next((line for line in err.splitlines() if line.startswith("ci-tags:")), err)
                        failures[said[:90]] += 1
            elapsed = time.perf_counter() - started
        finally:
            registry.stop()
    print(f"{args.checkout}: both builds succeeded in {both} of {args.rounds} rounds ({elapsed:.0f} s)")
    for line, count in failures.most_common():
        print(f"  {count:3d}  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
