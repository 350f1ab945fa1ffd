"""Benchmark: ci-tags under faults and races, for figures (never part of pass/fail).

1. plan, retag, untag, janitor and publish through a proxy injecting 503, 429, dropped connections, truncated
   bodies, slow and HTML answers (before or after the registry saw the request) at several rates, each run
   followed by a clean re-run; the registry's true state is read directly after each (tests/support/chaos.py).
2. Races with threads and added latency: two publishes at once (pipelines 11 and 12), and a janitor run while
   another job moves latest: the final state is checked.
Prints a table: runs, faults injected, runs that failed (and said so), wrong tags, non-converged states, tracebacks.
Run: .venv/bin/python -m bench.chaos [--seeds 10] [--races 20]
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import threading
from functools import partial
from pathlib import Path

from ci_tags.cli import main
from ci_tags.oci.client import Registries, Registry
from ci_tags.oci.http import Http
from tests.support.chaos import SCENARIOS, Tally, run_scenario
from tests.support.images import push_image
from tests.support.proxy import Faults, RegistryFront
from tests.support.registry import start_registry
from tests.support.scenes import janitor_scene, one_image_config, stamp_at, state, target_of


def total_of(faults: Faults) -> int:
    return faults.total

def cli(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, env={"HOME": "/nonexistent", "PATH": "/usr/bin:/bin", **env}, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def publish_race(reg: Registry, direct: str, proxy: str, work: Path, k: int) -> bool:
    """Two publishes at once through the slow proxy; True when latest ends on pipeline 12's image."""
    prefix = f"bench/pubrace-{k}"
    config = one_image_config(work / prefix, f"{proxy}/{prefix}", "proxy.yml")
    repo = f"{prefix}/app"
    images = {p: push_image(reg, repo, None).manifest for p in ("11", "12")}
    for p, image in images.items():
        stamp_at(reg, repo, image, f"pipeline-{p}", 0.01, p)
    runs = [threading.Thread(target=cli, args=(["publish", "--config", str(config)],
                                               {"CI_TAGS_PIPELINE_ID": p, "CI_TAGS_BRANCH": "main",
                                                "CI_TAGS_DEFAULT_BRANCH": "main"})) for p in ("11", "12")]
    for t in runs:
        t.start()
    for t in runs:
        t.join()
    return target_of(reg, repo, "latest") == images["12"].digest


def janitor_race(reg: Registry, direct: str, proxy: str, work: Path, k: int) -> bool:
    """A janitor run while latest moves to a new image; True when latest stays on the new image."""
    repo = f"bench/janrace-{k}"
    scene = janitor_scene(reg, repo)
    run = threading.Thread(target=cli, args=(["janitor", f"{proxy}/{repo}", "--max-age", "7d"], {}))
    run.start()
    threading.Event().wait(0.02 * (k % 10))
    reg.put_manifest(repo, "latest", scene.images["fresh"])
    run.join()
    return state(reg, repo).get("latest") == scene.images["fresh"].digest


def main_() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--rates", default="0.05,0.15,0.3,0.5")
    parser.add_argument("--races", type=int, default=20)
    args = parser.parse_args()
    Http._backoff = lambda self, attempt: 0.01  # type: ignore[method-assign]  # same faults, shorter waits
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        os.chdir(work)  # no ci-tags.yml of this checkout is read by the janitor runs
        registry = start_registry(work / "registry")
        regs = Registries(Http(), {})
        reg = regs.get(registry.host)
        rows: list[list[object]] = []
        total = Tally()
        problems: list[str] = []
        try:
            for name in SCENARIOS:
                for rate in (float(r) for r in args.rates.split(",")):
                    tally = Tally()
                    for seed in range(args.seeds):
                        faults = Faults(rate, seed=seed, slow_seconds=0.05)
                        proxy = RegistryFront(registry.url, faults=faults)
                        try:
                            problems += run_scenario(name, reg, registry.host, proxy.host, work,
                                                     f"{rate}-{seed}".replace(".", ""), cli, tally, 0,
                                                     partial(total_of, faults))
                        finally:
                            proxy.close()
                    rows.append([name, f"{rate:.0%}", tally.runs, tally.faults, tally.failed_runs, tally.wrong,
                                 tally.not_converged, tally.tracebacks])
                    for f in ("runs", "faults", "failed_runs", "wrong", "not_converged", "tracebacks"):
                        setattr(total, f, getattr(total, f) + getattr(tally, f))
            rows.append(["all", "", total.runs, total.faults, total.failed_runs, total.wrong, total.not_converged,
                         total.tracebacks])
            proxy = RegistryFront(registry.url, latency=0.01)
            try:
                for label, race in (("2 publishes at once", publish_race), ("janitor vs moved latest", janitor_race)):
                    bad = sum(not race(reg, registry.host, proxy.host, work, k) for k in range(args.races))
                    rows.append([label, "race", args.races, 0, "", bad, "", ""])
            finally:
                proxy.close()
        finally:
            regs.http.close()
            registry.stop()
    header: list[object] = ["command", "fault rate", "runs", "faults", "failed (said so)", "wrong tags",
                            "not converged", "tracebacks"]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
    for p in problems[:20]:
        print("problem:", p)


if __name__ == "__main__":
    main_()
