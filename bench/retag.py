"""Benchmark: `ci-tags retag` vs `skopeo copy` for a same-repository retag on a local registry.

Prints a table of wall time (median of N runs) and requests per retag (counted from the registry's access log),
for a 1-layer and a 20-layer (200 MB) image: the `ci-tags retag` and `skopeo copy` commands as a CI job runs
them (a new process each), and ci-tags' copy inside one process over one connection pool, as `ci-tags plan`
does it for a whole set of images. Bytecode is compiled first, as a pip install does.

Then start-up (issues 15 and 20: a one-shot ``ci-tags retag`` in a release job), median of N new processes
each: Python alone, Python + ``import requests`` (the floor: a retag needs requests), ``ci-tags --version``,
``ci-tags retag --help``, the import + parse part of a retag (root parser, retag's parser, Options, Context,
the registries' HTTP session: everything up to the first request), and a whole one-shot retag of a 1-layer
image on the loopback registry by the installed program (requests included, and its exit without the
interpreter's teardown, cli.console; issue 20's goal: within 1.3x the floor's wall time; the import + parse row
runs under ``python -c`` and pays that teardown, as the floor does); "over
the floor" is what ci-tags adds, "x floor" the ratio. Wall
time and CPU time (user + system): on a shared machine the CPU time is the steadier figure. Below
the table, the modules that ci-tags adds to that import + parse, by their own import time (``-X importtime``,
one run). The machine may be shared: compare figures taken in the same run.
Run: .venv/bin/python -m bench.retag [--runs 9] [--startup-only]
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import ci_tags
from ci_tags.core.reference import parse_reference
from ci_tags.oci.copy import copy_image
from ci_tags.oci.http import Http
from ci_tags.oci.registries import Registries
from tests.support.images import push_image
from tests.support.registry import RunningRegistry, start_registry


def timed(cmd: list[str], env: dict[str, str] | None = None, cwd: str | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd)
    return time.perf_counter() - started


def measure(registry: RunningRegistry, cmd_for: Callable[[int], list[str]], runs: int) -> tuple[float, float]:
    """Median seconds and mean requests per run; cmd_for(i) builds the i-th command."""
    times, counts = [], []
    for i in range(runs):
        mark = registry.mark()
        times.append(timed(cmd_for(i)))
        counts.append(len(registry.since(mark)))
    return statistics.median(times), statistics.mean(counts)


# what a retag runs before its first request, in a new process (a retag in a CI job starts like this)
RETAG_UNTIL_FIRST_REQUEST = """
import requests  # the first request imports it (ci-tags imports it on first use)
from ci_tags.cli import main
from ci_tags.context import Context
import ci_tags.commands.retag as retag
calls = []
retag.run = lambda ctx, opts: calls.append((ctx.registries, opts)) or exit(0)
main(["retag", "localhost:5000/app:hash-abc", "v1.0.0"], env={})
"""


class Numbered:
    """A command whose last argument is numbered anew on every run (a retag's destination tag)."""

    def __init__(self, cmd: list[str]) -> None:
        self.cmd = cmd
        self.runs = 0

    def __iter__(self) -> Iterator[str]:
        self.runs += 1
        return iter([*self.cmd[:-1], f"{self.cmd[-1]}{self.runs}"])


def startup(runs: int, baseline: Path | None = None, source: str | None = None) -> None:
    """The start-up table; with ``baseline`` (a checkout of another version, e.g. ``git worktree add DIR main``),
    each ci-tags case is also run with that version's package first on PYTHONPATH, interleaved with this one.
    With ``source`` (an image on a loopback registry), also a whole one-shot retag of it, requests included."""
    python = sys.executable
    command = str(Path(python).parent / "ci-tags")
    ours: list[tuple[str, list[str] | Numbered]] = [
        ("ci-tags --version", [command, "--version"]),
        ("ci-tags retag --help", [command, "retag", "--help"]),
        ("retag: import + parse, up to the first request", [python, "-c", RETAG_UNTIL_FIRST_REQUEST]),
    ]
    if source:
        ours.append(("ci-tags retag, one-shot (1 layer, loopback registry)",
                     Numbered([command, "retag", source, "startup-"])))
    cases: list[tuple[str, list[str] | Numbered, dict[str, str] | None]] = [
        ("python -c pass", [python, "-c", "pass"], None),
        ("python -c 'import requests' (floor)", [python, "-c", "import requests"], None),
        *((label, cmd, None) for label, cmd in ours),
    ]
    if baseline is not None:
        compileall.compile_dir(str(baseline / "ci_tags"), quiet=1)
        baseline_env = {**os.environ, "PYTHONPATH": str(baseline)}
        cases += [(f"{label} (baseline {baseline.name})", cmd, baseline_env) for label, cmd in ours]
    elsewhere = tempfile.mkdtemp()  # not the checkout: its ci_tags/ would shadow the baseline's
    for _, cmd, case_env in cases:  # warm the page cache and the bytecode
        timed(list(cmd), case_env, elsewhere)
    walls: dict[str, list[float]] = {}
    cpus: dict[str, list[float]] = {}
    for _ in range(runs):  # interleaved, so a burst of load on the shared machine hits every case alike
        for label, cmd, case_env in cases:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            walls.setdefault(label, []).append(timed(list(cmd), case_env, elsewhere))
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.setdefault(label, []).append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    os.rmdir(elsewhere)
    # CPU time (user + system) of the process: what it costs, much less disturbed by other loads than wall time
    floor_wall, floor_cpu = statistics.median(walls[cases[1][0]]), statistics.median(cpus[cases[1][0]])
    print(f"| start-up ({runs} runs, medians) | wall time (ms) | over the floor | x floor | CPU time (ms) | "
          "over the floor | x floor |")
    print("|---|---|---|---|---|---|---|")
    for label, _, _ in cases:
        wall, cpu = statistics.median(walls[label]), statistics.median(cpus[label])
        print(f"| {label} | {wall * 1000:.1f} | {(wall - floor_wall) * 1000:+.1f} | {wall / floor_wall:.2f} | "
              f"{cpu * 1000:.1f} | {(cpu - floor_cpu) * 1000:+.1f} | {cpu / floor_cpu:.2f} |")
    print()
    _importtime(python)


def _importtime(python: str) -> None:
    """The modules the retag start-up imports beyond ``import requests``, by their own import time."""
    def modules(code: str) -> dict[str, int]:
        done = subprocess.run([python, "-X", "importtime", "-c", code], capture_output=True, text=True, check=False)
        found = {}
        for line in done.stderr.splitlines():
            if line.startswith("import time:") and "self [us]" not in line:
                own, _, name = line[len("import time:"):].split("|")
                found[name.strip()] = int(own)
        return found

    floor = modules("import requests")
    extra = {m: us for m, us in modules(RETAG_UNTIL_FIRST_REQUEST).items() if m not in floor}
    print(f"modules beyond requests: {len(extra)}, {sum(extra.values()) / 1000:.1f} ms of own import time; the top:")
    for name, us in sorted(extra.items(), key=lambda kv: -kv[1])[:12]:
        print(f"  {us / 1000:6.1f} ms  {name}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--startup-only", action="store_true", help="only the start-up table")
    parser.add_argument("--baseline", type=Path, help="a checkout of another version to compare start-up with")
    args = parser.parse_args()
    compileall.compile_dir(str(Path(ci_tags.__file__).parent), quiet=1)
    if args.startup_only:
        with tempfile.TemporaryDirectory() as tmp:
            registry = start_registry(Path(tmp) / "registry")
            try:
                regs = Registries(Http(), {})
                push_image(regs.get(registry.host), "bench/startup", "src")
                regs.http.close()
                startup(args.runs, args.baseline, f"{registry.host}/bench/startup:src")
            finally:
                registry.stop()
        return 0
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
                def retag_command(i: int, b: str = base) -> list[str]:
                    return [command, "retag", f"{b}:src", f"c{i}"]

                ours = measure(registry, retag_command, args.runs)
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
                    def skopeo_command(i: int, b: str = base, tool: str = skopeo) -> list[str]:
                        return [tool, "copy", "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false",
                                f"docker://{b}:src", f"docker://{b}:s{i}"]

                    theirs = measure(registry, skopeo_command, args.runs)
                    rows.append((label, "skopeo copy (new process)", *theirs))
            regs.http.close()
            print(f"| image | tool | median wall time (ms, {args.runs} runs) | requests per retag |")
            print("|---|---|---|---|")
            for label, tool, seconds, requests in rows:
                print(f"| {label} | {tool} | {seconds * 1000:.1f} | {requests:.0f} |")
            print()
            startup(args.runs, args.baseline, f"{registry.host}/bench/l1:src")
        finally:
            registry.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
