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
from tests.support.scenes import is_placeholder, janitor_scene, one_image_config, stamp_at, state, target_of

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


# -- the janitor on a large repository under one kind of fault (bench/chaos.py --janitor, tests/test_janitor_faults.py)

CONTENT_OLD_DAYS = 40
PIPELINE_TAGS, EXPIRED_PIPELINE_TAGS = 244, 190


@dataclass
class LargeJanitorScene:
    """A repository of 283 tags, 200 to remove: 190 expired pipeline tags and 10 expired content tags nobody
    names; kept: 54 young pipeline tags, 5 young content tags, 20 old content tags kept in use (19 each named by
    one young pipeline tag's stamp only, 1 by latest's), latest, a foreign tag sharing a doomed content tag's
    image, a signature tag and a foreign copy of a doomed pipeline stamp."""

    repo: str
    keep: dict[str, str]  # tag -> the digest it must keep
    remove: set[str]
    in_use: dict[str, str]  # old content tag kept in use -> the one tag whose stamp names it

    @property
    def all(self) -> set[str]:
        return set(self.keep) | self.remove


def _content_tag(n: int) -> str:
    return f"hash-{n:064x}"


def janitor_repository(reg: Registry, repo: str) -> LargeJanitorScene:
    """Build :class:`LargeJanitorScene` on the real registry (by 8 threads)."""
    from ci_tags.core.manifest import ANNOTATION_CONTENT_TAG, ANNOTATION_CREATED, ANNOTATION_KIND, stamped_index
    from tests.support.images import in_parallel
    from tests.support.scenes import ago

    young = [(_content_tag(n), 2.0) for n in range(5)]
    in_use = [(_content_tag(n), float(CONTENT_OLD_DAYS)) for n in range(5, 25)]
    old = [(_content_tag(n), float(CONTENT_OLD_DAYS)) for n in range(25, 35)]
    images = dict(zip([t for t, _ in young + in_use + old],
                      in_parallel(lambda td: push_image(reg, repo, td[0], created=ago(td[1]), layer_size=64).manifest,
                                  young + in_use + old), strict=True))
    keep = {t: images[t].digest for t, _ in young + in_use}
    remove = {t for t, _ in old}
    # pipeline numbers grow with time: 1..190 are 30 to 8 days old, 191..244 are 6.9 days to 2 hours old
    named_by = {192 + 2 * i: t for i, (t, _) in enumerate(in_use[:-1])}  # 192, 194, ..., 228
    plan = []
    for n in range(1, PIPELINE_TAGS + 1):
        if n <= EXPIRED_PIPELINE_TAGS:
            days, content = 30 - 22 * (n - 1) / EXPIRED_PIPELINE_TAGS, old[n % len(old)][0]
        else:
            days = 6.9 - 6.8 * (n - EXPIRED_PIPELINE_TAGS - 1) / (PIPELINE_TAGS - EXPIRED_PIPELINE_TAGS - 1)
            content = named_by.get(n, young[n % len(young)][0])
        plan.append((f"pipeline-{n}", days, content))

    def stamp(item: tuple[str, float, str]) -> str:
        tag, days, content = item
        index = stamped_index(images[content], {"os": "linux", "architecture": "amd64"},
                              {ANNOTATION_CREATED: ago(days), ANNOTATION_KIND: "pipeline",
                               ANNOTATION_CONTENT_TAG: content, "dev.ci-tags.pipeline": tag.split("-")[1]})
        reg.put_manifest(repo, tag, index)
        return index.digest

    for (tag, days, _), digest in zip(plan, in_parallel(stamp, plan), strict=True):
        if days > 7:
            remove.add(tag)
        else:
            keep[tag] = digest
    publish = stamped_index(images[in_use[-1][0]], {"os": "linux", "architecture": "amd64"},
                            {ANNOTATION_CREATED: ago(20), ANNOTATION_KIND: "publish",
                             ANNOTATION_CONTENT_TAG: in_use[-1][0]})
    reg.put_manifest(repo, "latest", publish)
    keep["latest"] = publish.digest
    reg.put_manifest(repo, "v1.0", images[old[0][0]])  # foreign, on a doomed content tag's image
    keep["v1.0"] = images[old[0][0]].digest
    reg.put_manifest(repo, f"sha256-{'a' * 64}.sig", images[young[0][0]])
    keep[f"sha256-{'a' * 64}.sig"] = images[young[0][0]].digest
    copied = reg.get_manifest(repo, "pipeline-7")  # a foreign copy of a doomed pipeline stamp
    reg.put_manifest(repo, "foreign-copy", copied)
    keep["foreign-copy"] = copied.digest
    return LargeJanitorScene(repo, keep, remove, {**{t: f"pipeline-{n}" for n, t in named_by.items()},
                                                  in_use[-1][0]: "latest"})


@dataclass
class JanitorFaultRun:
    """A faulty janitor run over :class:`LargeJanitorScene` and its clean re-run, as the registry shows them."""

    code: int  # the faulty run's exit code
    clean_code: int
    lost: list[str]  # kept tags lost or changed after the faulty run
    wrong: list[str]  # tags to remove in a state they must not be in (a placeholder after a run that exited 0)
    leftover: list[str]  # after the clean re-run: tags to remove still there (whole, on a placeholder, dangling)
    not_converged: bool  # after the clean re-run: the repository is not exactly the kept tags
    traceback: bool
    err: str = ""


def listed_state(reg: Registry, repo: str) -> dict[str, str]:
    """tag -> digest, 'placeholder', or 'dangling' (listed, but the manifest is gone), read directly."""
    found = {}
    for tag in reg.tags(repo):
        digest = reg.head_manifest(repo, tag)
        if digest is None:
            found[tag] = "dangling"
        else:
            found[tag] = "placeholder" if is_placeholder(reg.get_manifest(repo, tag)) else digest
    return found


def janitor_under_faults(reg: Registry, direct: str, proxy: str, repo: str, run: Run,
                         scene: LargeJanitorScene | None = None) -> JanitorFaultRun:
    """``janitor --max-age 7d`` through ``proxy`` (its faults set by the caller), then straight to the registry."""
    scene = scene or janitor_repository(reg, repo)
    before = listed_state(reg, repo)
    code, _, err = run(["janitor", f"{proxy}/{repo}", "--max-age", "7d"], {})
    now = listed_state(reg, repo)
    lost = sorted(t for t, d in scene.keep.items() if now.get(t) != d)
    wrong = sorted(t for t in scene.remove
                   if now.get(t) is not None and (code == 0 or now[t] not in ("placeholder", "dangling", before[t])))
    wrong += sorted(t for t in set(now) - scene.all)
    code2, _, err2 = run(["janitor", f"{direct}/{repo}", "--max-age", "7d"], {})
    after = listed_state(reg, repo)
    leftover = sorted(f"{t} ({after[t] if after[t] in ('placeholder', 'dangling') else 'whole'})"
                      for t in scene.remove if t in after)
    traceback = any("Traceback" in e or "internal error" in e for e in (err, err2))
    return JanitorFaultRun(code, code2, lost, wrong, leftover, after != scene.keep, traceback, err + err2)

