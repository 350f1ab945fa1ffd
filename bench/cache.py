"""Benchmark: the layer cache (``cache: registry``). A 3-step Dockerfile (a slow step, then two quick ones) is built
by ``ci-tags build``; then its last step is changed and it is rebuilt in fresh container storage (another runner),
with and without the cache. Prints the steps re-run (from buildah's log) and the seconds of each rebuild.
Run: .venv/bin/python -m bench.cache [--slow 5] [--runs 3]
"""

from __future__ import annotations

import argparse
import io
import re
import statistics
import tempfile
import time
from pathlib import Path

from bench.project import registry_with_base
from ci_tags.cli import main as ci_tags
from tests.support.project import buildah_env

STEP_RE = re.compile(r"^STEP \d+/\d+: (RUN .*)$")


def steps_run(log: str) -> int:
    """RUN steps the builder executed: each STEP line not followed by 'Using cache'."""
    ran, pending = 0, False
    for line in log.splitlines():
        if STEP_RE.match(line) or line.startswith("STEP "):
            ran += pending
            pending = bool(STEP_RE.match(line))
        elif "Using cache" in line:
            pending = False
    return ran + pending


def build(root: Path, storage: Path, base: str, slow: int, last: str, prefix: str, cache: bool) -> tuple[float, int]:
    (root / "app").mkdir(parents=True, exist_ok=True)
    (root / "ci-tags.yml").write_text(f"registry: {prefix}\n" + ("cache: registry\n" if cache else "") +
                                      "images:\n  app:\n    dockerfile: app/Dockerfile\n")
    (root / "app" / "Dockerfile").write_text(
        f"FROM {base}\nRUN sleep {slow} && echo slow > /slow\nRUN echo quick > /quick\nRUN echo {last} > /last\n")
    err = io.StringIO()
    env = {**buildah_env(storage), "CI_TAGS_PIPELINE_ID": "1"}
    started = time.perf_counter()
    code = ci_tags(["build", "app", "--config", str(root / "ci-tags.yml")], env=env, stdout=io.StringIO(), stderr=err)
    elapsed = time.perf_counter() - started
    if code != 0:
        raise SystemExit(err.getvalue())
    return elapsed, steps_run(err.getvalue())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slow", type=int, default=5, help="seconds of the slow step (default 5)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with registry_with_base(work) as (registry, _, base):
            for cache in (False, True):
                times, steps = [], []
                for run in range(args.runs):
                    prefix = f"{registry.host}/{'cached' if cache else 'plain'}{run}"
                    root = work / f"proj-{cache}-{run}"
                    build(root, work / f"s-{cache}-{run}-a", base, args.slow, "one", prefix, cache)
                    elapsed, ran = build(root, work / f"s-{cache}-{run}-b", base, args.slow, "two", prefix, cache)
                    times.append(elapsed)
                    steps.append(ran)
                rows.append(("cache: registry" if cache else "no cache", steps[0], statistics.median(times),
                             min(times), max(times)))
    print(f"rebuild after changing the last of 3 RUN steps (slow step {args.slow} s), fresh storage, "
          f"{args.runs} runs")
    print(f"{'':18} {'steps re-run':>12} {'median s':>9} {'min s':>7} {'max s':>7}")
    for name, ran, med, lo, hi in rows:
        print(f"{name:18} {ran:>12} {med:>9.1f} {lo:>7.1f} {hi:>7.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
