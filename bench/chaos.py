"""Benchmark: ci-tags under faults and races, for figures (never part of pass/fail).

1. plan, retag, untag, janitor and publish through a proxy injecting 503, 429, dropped connections, truncated
   bodies, slow and HTML answers (before or after the registry saw the request) at several rates, each run
   followed by a clean re-run; the registry's true state is read directly after each (tests/support/chaos.py).
2. Races with threads and added latency: two publishes at once (pipelines 11 and 12), and a janitor run while
   another job moves latest: the final state is checked.
3. The janitor on a repository of 283 tags (200 to remove, 20 old content tags kept in use by one stamp each;
   tests/support/chaos.py, janitor_repository) under each fault kind alone (503, 429, a connection dropped
   before or after the registry saw the request, truncated bodies, HTML 200) at 5, 20 and 50 %, each run
   followed by a clean re-run that must leave exactly the tags the rules keep.
Prints tables: runs, faults injected, runs that failed (and said so), wrong tags, non-converged states,
tracebacks; for the janitor: kept tags lost, wrong, leftover and not converged after the clean re-run.
Run: .venv/bin/python -m bench.chaos [--seeds 10] [--races 20] [--janitor-seeds 1] [--janitor-only]
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
from ci_tags.oci.client import Registry
from ci_tags.oci.http import Http
from ci_tags.oci.registries import Registries
from tests.support.chaos import SCENARIOS, Tally, janitor_under_faults, run_scenario
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


# fault kind -> (the proxy's kind, share of faults after the registry saw the request)
JANITOR_FAULTS = {"503": ("503", 0.0), "429": ("429", 0.0), "drop before": ("drop", 0.0),
                  "drop after": ("drop", 1.0), "truncated": ("truncate", 0.5), "HTML 200": ("html", 0.5),
                  "all mixed": ("503,429,drop,truncate,html", 0.5)}


def janitor_table(registry: object, reg: object, rates: list[float], seeds: int) -> list[list[object]]:
    """Rows of part 3: per fault kind and rate, the faulty runs over the 283-tag repository and their re-runs."""
    rows: list[list[object]] = []
    for label, (kind, after) in JANITOR_FAULTS.items():
        for rate in rates:
            runs = faults_met = failed = lost = wrong = leftover = not_converged = tracebacks = 0
            for seed in range(seeds):
                faults = Faults(rate, kinds=tuple(kind.split(",")), seed=seed, after_share=after)
                proxy = RegistryFront(registry.url, faults=faults)  # type: ignore[attr-defined]
                repo = f"bench/janitor-{label}-{rate:.2f}-{seed}".replace(".", "").replace(" ", "-").lower()
                try:
                    run = janitor_under_faults(reg, registry.host, proxy.host, repo, cli)  # type: ignore[arg-type,attr-defined]
                finally:
                    proxy.close()
                runs += 1
                faults_met += faults.total
                failed += run.code != 0
                lost += len(run.lost)
                wrong += len(run.wrong)
                leftover += len(run.leftover)
                not_converged += run.not_converged or run.clean_code != 0
                tracebacks += run.traceback
                for what, tags in (("lost", run.lost), ("wrong", run.wrong), ("leftover", run.leftover)):
                    if tags:
                        print(f"problem: {label} {rate:.0%} seed {seed}: {what} {', '.join(tags[:5])}")
            rows.append([label, f"{rate:.0%}", runs, faults_met, failed, lost, wrong, leftover, not_converged,
                         tracebacks])
    return rows


def print_table(header: list[object], rows: list[list[object]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))


def main_() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--rates", default="0.05,0.15,0.3,0.5")
    parser.add_argument("--races", type=int, default=20)
    parser.add_argument("--janitor-rates", default="0.05,0.2,0.5")
    parser.add_argument("--janitor-seeds", type=int, default=1)
    parser.add_argument("--janitor-only", action="store_true", help="part 3 alone")
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
        janitor_rows: list[list[object]] = []
        try:
            if args.janitor_seeds:
                rates = [float(r) for r in args.janitor_rates.split(",")]
                janitor_rows = janitor_table(registry, reg, rates, args.janitor_seeds)
            for name in SCENARIOS if not args.janitor_only else ():
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
            races = (("2 publishes at once", publish_race), ("janitor vs moved latest", janitor_race))
            try:
                for label, race in races if not args.janitor_only else ():
                    bad = sum(not race(reg, registry.host, proxy.host, work, k) for k in range(args.races))
                    rows.append([label, "race", args.races, 0, "", bad, "", ""])
            finally:
                proxy.close()
        finally:
            regs.http.close()
            registry.stop()
    if not args.janitor_only:
        print_table(["command", "fault rate", "runs", "faults", "failed (said so)", "wrong tags", "not converged",
                     "tracebacks"], rows)
    if janitor_rows:
        print("\njanitor, 283 tags (200 to remove), then a clean re-run:")
        print_table(["fault", "rate", "runs", "faults", "failed (said so)", "kept tags lost", "wrong", "leftover",
                     "not converged", "tracebacks"], janitor_rows)
    for p in problems[:20]:
        print("problem:", p)


if __name__ == "__main__":
    main_()
