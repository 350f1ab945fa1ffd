"""Fault scenarios shared by tests/test_faults.py and bench/chaos.py: a command run through the fault-injecting
proxy, then a clean re-run straight to the registry, with the registry's true state checked after each.

A scenario's checks return what is wrong (empty when right): after the faulty run, no tag that must stay is
lost or changed, and every tag the command writes or removes is either done or untouched (an untag placeholder
only where the command failed and said so); after the clean re-run, everything converged."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ci_tags.oci.client import Registry
from tests.support.images import push_image
from tests.support.scenes import janitor_scene, one_image_config, stamp_at, state, target_of

# run(argv, env) -> (exit code, stdout, stderr)
Run = Callable[[list[str], dict[str, str]], tuple[int, str, str]]


@dataclass
class Scenario:
    faulty: list[str]  # argv through the proxy
    clean: list[str]  # argv straight to the registry
    env: dict[str, str]
    after_faulty: Callable[[int], list[str]]
    converged: Callable[[int, str], list[str]]


def _maybe(tag: str, now: str | None, allowed: set[str | None], failed: bool) -> list[str]:
    if now in allowed or (failed and now == "placeholder"):
        return []
    return [f"{tag} is {now}"]


def untag(reg: Registry, direct: str, proxy: str, work: Path, key: str) -> Scenario:
    repo = f"chaos/untag-{key}"
    image = push_image(reg, repo, "hash-abc").manifest.digest
    for tag in ("pipeline-1", "latest"):
        reg.put_manifest(repo, tag, reg.get_manifest(repo, "hash-abc"))

    def after(code: int) -> list[str]:
        now = state(reg, repo)
        wrong = [f"{t} lost or changed" for t in ("hash-abc", "latest") if now.get(t) != image]
        allowed: set[str | None] = {None} if code == 0 else {None, image}
        return wrong + _maybe("pipeline-1", now.get("pipeline-1"), allowed, code != 0)

    def converged(code: int, out: str) -> list[str]:
        return [] if state(reg, repo) == {"hash-abc": image, "latest": image} else [f"state {state(reg, repo)}"]

    return Scenario(["untag", f"{proxy}/{repo}:pipeline-1"], ["untag", "--missing-ok", f"{direct}/{repo}:pipeline-1"],
                    {}, after, converged)


def retag(reg: Registry, direct: str, proxy: str, work: Path, key: str) -> Scenario:
    repo = f"chaos/retag-{key}"
    image = push_image(reg, repo, "hash-abc").manifest.digest

    def after(code: int) -> list[str]:
        now = state(reg, repo)
        wrong = [] if now.get("hash-abc") == image else ["hash-abc lost or changed"]
        return wrong + _maybe("release", now.get("release"), {image} if code == 0 else {None, image}, False)

    def converged(code: int, out: str) -> list[str]:
        return [] if state(reg, repo) == {"hash-abc": image, "release": image} else [f"state {state(reg, repo)}"]

    return Scenario(["retag", f"{proxy}/{repo}:hash-abc", "release"], ["retag", f"{direct}/{repo}:hash-abc", "release"],
                    {}, after, converged)


def janitor(reg: Registry, direct: str, proxy: str, work: Path, key: str) -> Scenario:
    repo = f"chaos/janitor-{key}"
    scene = janitor_scene(reg, repo)
    before = state(reg, repo)

    def after(code: int) -> list[str]:
        now = state(reg, repo)
        wrong = [f"kept {t} lost or changed" for t, d in scene.keep.items() if now.get(t) != d]
        for tag in scene.remove:
            wrong += _maybe(tag, now.get(tag), {None, before[tag]}, code != 0)
        return wrong + [f"unexpected {t}" for t in set(now) - set(before)]

    def converged(code: int, out: str) -> list[str]:
        return [] if state(reg, repo) == scene.keep else [f"state {state(reg, repo)}"]

    return Scenario(["janitor", f"{proxy}/{repo}", "--max-age", "7d"],
                    ["janitor", f"{direct}/{repo}", "--max-age", "7d"], {}, after, converged)


def plan(reg: Registry, direct: str, proxy: str, work: Path, key: str) -> Scenario:
    from ci_tags.project.config import load_config
    from ci_tags.project.imageset import resolve

    prefix = f"chaos/plan-{key}"
    via_proxy = one_image_config(work / prefix, f"{proxy}/{prefix}", "proxy.yml")
    straight = one_image_config(work / prefix, f"{direct}/{prefix}", "direct.yml")
    (content_tag,) = {i.content_tag for i in resolve(load_config(straight, {}))}
    repo = f"{prefix}/app"
    image = push_image(reg, repo, content_tag).manifest.digest

    def after(code: int) -> list[str]:
        wrong = [] if reg.head_manifest(repo, content_tag) == image else ["content tag lost or changed"]
        tagged = target_of(reg, repo, "pipeline-3")
        return wrong + _maybe("pipeline-3", tagged, {image} if code == 0 else {None, image}, False)

    def converged(code: int, out: str) -> list[str]:
        wrong = [] if target_of(reg, repo, "pipeline-3") == image else ["pipeline-3 not on the image"]
        return wrong + ([] if json.loads(out)["images"][0]["action"] == "reuse" else ["not reused"])

    return Scenario(["plan", "--config", str(via_proxy)], ["plan", "--json", "--config", str(straight)],
                    {"CI_TAGS_PIPELINE_ID": "3"}, after, converged)


def publish(reg: Registry, direct: str, proxy: str, work: Path, key: str) -> Scenario:
    prefix = f"chaos/publish-{key}"
    via_proxy = one_image_config(work / prefix, f"{proxy}/{prefix}", "proxy.yml")
    straight = one_image_config(work / prefix, f"{direct}/{prefix}", "direct.yml")
    repo = f"{prefix}/app"
    old, new = (push_image(reg, repo, None).manifest for _ in range(2))
    stamp_at(reg, repo, old, "latest", 3, "10", kind="publish")
    stamp_at(reg, repo, new, "pipeline-12", 0.01, "12")

    def after(code: int) -> list[str]:
        now = target_of(reg, repo, "latest")
        allowed = {new.digest} if code == 0 else {old.digest, new.digest}
        return [] if now in allowed else [f"latest is {now}"]

    def converged(code: int, out: str) -> list[str]:
        return [] if target_of(reg, repo, "latest") == new.digest else ["latest not on pipeline 12's image"]

    env = {"CI_TAGS_PIPELINE_ID": "12", "CI_TAGS_BRANCH": "main", "CI_TAGS_DEFAULT_BRANCH": "main"}
    return Scenario(["publish", "--config", str(via_proxy)], ["publish", "--json", "--config", str(straight)],
                    env, after, converged)


SCENARIOS = {"plan": plan, "retag": retag, "untag": untag, "janitor": janitor, "publish": publish}


@dataclass
class Tally:
    runs: int = 0
    faults: int = 0
    failed_runs: int = 0  # faulty runs that exited non-zero (allowed: they said so)
    wrong: int = 0  # tags wrong after a faulty run
    not_converged: int = 0  # states still wrong after the clean re-run
    tracebacks: int = 0


def run_scenario(name: str, reg: Registry, direct: str, proxy: str, work: Path, key: str, run: Run,
                 tally: Tally, faults_before: int, faults_after: Callable[[], int]) -> list[str]:
    """One faulty run and its clean re-run; adds to ``tally``; returns every problem found."""
    scenario = SCENARIOS[name](reg, direct, proxy, work, key)
    code, _, err = run(scenario.faulty, scenario.env)
    tally.runs += 1
    tally.faults += faults_after() - faults_before
    tally.failed_runs += code != 0
    problems = [f"{name} faulty run: {p}" for p in scenario.after_faulty(code)]
    if "Traceback" in err or "internal error" in err:
        tally.tracebacks += 1
        problems.append(f"{name}: {err}")
    tally.wrong += len(problems)
    code2, out2, err2 = run(scenario.clean, scenario.env)
    late = [f"{name} clean re-run ({code2}, {err2.strip()}): {p}" for p in scenario.converged(code2, out2)]
    tally.not_converged += bool(late)
    return problems + late
