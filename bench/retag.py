"""Benchmark: `ci-tags retag` vs `skopeo copy` for a same-repository retag on a local registry.

Prints a table of wall time (median of N runs) and requests per retag (counted from the registry's access log),
for a 1-layer and a 20-layer (200 MB) image: the `ci-tags retag` and `skopeo copy` commands as a CI job runs
them (a new process each), and ci-tags' copy inside one process over one connection pool, as `ci-tags plan`
does it for a whole set of images. Bytecode is compiled first, as a pip install does.
Run: .venv/bin/python -m bench.retag [--runs 9]
"""

from __future__ import annotations

import argparse
import compileall
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ci_tags
from ci_tags.core.reference import parse_reference
from ci_tags.oci.client import Registries
from ci_tags.oci.copy import copy_image
from ci_tags.oci.http import Http
from tests.support.images import push_image
from tests.support.registry import RunningRegistry, start_registry


def timed(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - started


def measure(registry: RunningRegistry, cmd_for: object, runs: int) -> tuple[float, float]:
    """Median seconds and mean requests per run; cmd_for(i) builds the i-th command."""
    times, counts = [], []
    for i in range(runs):
        mark = registry.mark()
        times.append(timed(cmd_for(i)))  # type: ignore[operator]
        counts.append(len(registry.since(mark)))
    return statistics.median(times), statistics.mean(counts)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    compileall.compile_dir(str(Path(ci_tags.__file__).parent), quiet=1)
    skopeo = shutil.which("skopeo")
    command = str(Path(sys.executable).parent / "ci-tags")
    with tempfile.TemporaryDirectory() as tmp:
        registry = start_registry(Path(tmp) / "registry")
        try:
            regs = Registries(Http(), {})
            reg = regs.get(registry.host)
            cases = {"1 layer": (1, 1 << 20), "20 layers, 200 MB": (20, 10 << 20)}
            rows = []
            for label, (layers, size) in cases.items():
                repo = f"bench/l{layers}"
                push_image(reg, repo, "src", layers=layers, layer_size=size)
                base = f"{registry.host}/{repo}"
                ours = measure(registry, lambda i, b=base: [command, "retag", f"{b}:src", f"c{i}"], args.runs)
                rows.append((label, "ci-tags retag (new process)", *ours))
                times, counts = [], []
                for i in range(args.runs):
                    mark = registry.mark()
                    started = time.perf_counter()
                    copy_image(regs, parse_reference(f"{base}:src"), parse_reference(f"{base}:p{i}"))
                    times.append(time.perf_counter() - started)
                    counts.append(len(registry.since(mark)))
                rows.append((label, "ci-tags copy (in one process)", statistics.median(times), statistics.mean(counts)))
                if skopeo:
                    theirs = measure(
                        registry,
                        lambda i, b=base: [skopeo, "copy", "--quiet", "--src-tls-verify=false",
                                           "--dest-tls-verify=false", f"docker://{b}:src", f"docker://{b}:s{i}"],
                        args.runs,
                    )
                    rows.append((label, "skopeo copy (new process)", *theirs))
            regs.http.close()
        finally:
            registry.stop()
    print(f"| image | tool | median wall time (ms, {args.runs} runs) | requests per retag |")
    print("|---|---|---|---|")
    for label, tool, seconds, requests in rows:
        print(f"| {label} | {tool} | {seconds * 1000:.1f} | {requests:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
