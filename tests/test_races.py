"""Races, each swept over every moment of a run: a proxy in front of the real registry runs the other party's
action exactly when the k-th request of the command under test arrives, for every k (with added latency, so
the command's own concurrent requests interleave too). The registry's true state is read directly afterwards.

Each of these failed on ci-tags 0.1 (the janitor and untag putting back what they read at the start, over a tag
moved or removed meanwhile; two publishes landing in the wrong order; plan stamping a placeholder; an
interrupted removal leaving the tag on a placeholder)."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial

import pytest

from ci_tags.core.manifest import OCI_MANIFEST, Manifest, sha256_digest, stamp_of, throwaway_manifest
from ci_tags.oci.http import Http
from ci_tags.oci.untag import Untagger
from tests.support.images import push_image
from tests.support.proxy import ACTION, RegistryFront
from tests.support.scenes import AtRequest, janitor_scene, one_image_config, stamp_at, state, target_of

LATENCY = 0.003


@pytest.fixture(autouse=True)
def _quick_backoff(monkeypatch):
    """Retries wait milliseconds here, not seconds: the faults are the same, the test stays quick."""
    monkeypatch.setattr(Http, "_backoff", lambda self, attempt: 0.005)


@pytest.fixture
def front(registry):
    proxy = RegistryFront(registry.url, latency=LATENCY)
    yield proxy
    proxy.close()


def both(first, second):
    def hook(method, path):
        first(method, path)
        second(method, path)

    return hook


def count_requests(front, run) -> int:
    before = len(front.seen)
    run()
    return len(front.seen) - before


def test_janitor_never_moves_back_a_tag_moved_or_removed_during_its_run(reg, cli, front):
    """At each moment of a janitor run, someone moves latest to a new image, removes v1.0.0 and re-makes the
    expired content tag on a new build: the janitor removes its expired tags and leaves those three as the other
    party left them.

    The other party's action is one step between the janitor's requests (``front.atomically``), and the one
    gap is told from the order of events the front saw, never from timing: the janitor's requests run
    concurrently, so under load the action may fire on another thread's request while the content tag's check
    and its placeholder PUT are apart."""
    n = count_requests(front, lambda: cli("janitor", f"{front.host}/race/jan-probe", "--max-age", "7d")) or 1
    janitor_scene(reg, "race/jan-probe")
    n = count_requests(front, lambda: cli("janitor", f"{front.host}/race/jan-probe", "--max-age", "7d"))
    content = "hash-" + "a" * 64
    wrong, gap = [], 0
    for k in range(n):
        repo = f"race/jan-{k}"
        scene = janitor_scene(reg, repo)
        fresh, rebuilt = scene.images["fresh"], scene.images["rebuilt"]

        def meanwhile(repo=repo, fresh=fresh, rebuilt=rebuilt):
            reg.put_manifest(repo, "latest", fresh)
            Untagger(reg, repo).remove("v1.0.0")
            reg.put_manifest(repo, content, rebuilt)

        mark = len(front.events)
        def at_request(meanwhile: Callable[[], None] = meanwhile) -> None:
            front.atomically(meanwhile)

        front.hook = AtRequest(k, at_request)
        result = cli("janitor", f"{front.host}/{repo}", "--max-age", "7d")
        front.hook = None
        after = state(reg, repo)
        expected = {"latest": fresh.digest, "v0.9": scene.keep["v0.9"], "pipeline-9": scene.keep["pipeline-9"],
                    content: rebuilt.digest}
        if in_check_to_write_gap(front.events[mark:], f"/v2/{repo}/manifests/{content}") and after == {
                t: d for t, d in expected.items() if t != content}:
            # The one gap no client can close without compare-and-swap: the build re-made the tag between the
            # janitor's check of it (a HEAD) and its write there (the placeholder PUT; on a registry that deletes
            # tags, distribution 3, the tag DELETE).
            gap += 1
            continue
        if after != expected or result.code != 0:
            wrong.append((k, sorted(set(expected.items()) ^ set(after.items())), result.err))
    assert n >= 8 and gap < n
    assert wrong == []


def in_check_to_write_gap(events: list[tuple[str, str]], path: str) -> bool:
    """Whether the action came after the janitor's last read of ``path`` and right before its next write there (a
    placeholder PUT, or a tag DELETE where the registry deletes tags)."""
    if ACTION not in events:
        return False
    at = events.index(ACTION)
    before = [method for method, p in events[:at] if p == path]
    after = [method for method, p in events[at + 1:] if p == path]
    return bool(before) and before[-1] in ("HEAD", "GET") and bool(after) and after[0] in ("PUT", "DELETE")


def test_untag_never_brings_back_a_sibling_someone_else_removed(reg, cli, front):
    def scene(repo):
        image = push_image(reg, repo, "hash-abc").manifest
        for tag in ("pipeline-1", "latest"):
            reg.put_manifest(repo, tag, image)
        return image

    scene("race/untag-probe")
    n = count_requests(front, lambda: cli("untag", f"{front.host}/race/untag-probe:pipeline-1"))
    wrong = []
    for k in range(n):
        repo = f"race/untag-{k}"
        image = scene(repo)
        front.hook = AtRequest(k, partial(Untagger(reg, repo).remove, "latest"))
        result = cli("untag", f"{front.host}/{repo}:pipeline-1")
        front.hook = None
        if state(reg, repo) != {"hash-abc": image.digest} or result.code != 0:
            wrong.append((k, state(reg, repo), result.err))
    assert n >= 5
    assert wrong == []


def _publish_env(pipeline: str) -> dict[str, str]:
    return {"CI_TAGS_PIPELINE_ID": pipeline, "CI_TAGS_BRANCH": "main", "CI_TAGS_DEFAULT_BRANCH": "main"}


@pytest.mark.parametrize("slow", ["11", "12"])
def test_two_publishes_at_once_end_on_the_newest(reg, registry, cli, front, tmp_path, slow):
    """Pipeline ``slow`` publishes through the proxy; the other one runs whole at each moment of it. Whatever the
    order, latest ends on pipeline 12's image, and a re-run changes nothing."""
    fast = "12" if slow == "11" else "11"

    def scene(prefix):
        via_proxy = one_image_config(tmp_path / prefix, f"{front.host}/{prefix}", "proxy.yml")
        direct = one_image_config(tmp_path / prefix, f"{registry.host}/{prefix}", "direct.yml")
        repo = f"{prefix}/app"
        images = {p: push_image(reg, repo, None).manifest for p in ("11", "12")}
        for p, image in images.items():
            stamp_at(reg, repo, image, f"pipeline-{p}", 0.01, p)
        stamp_at(reg, repo, push_image(reg, repo, None).manifest, "latest", 1, "10", kind="publish")
        return via_proxy, direct, repo, images

    via_proxy, _, _, _ = scene(f"race/pub{slow}-probe")
    n = count_requests(front, lambda: cli("publish", "--config", str(via_proxy), env=_publish_env(slow)))
    wrong: list[tuple[object, ...]] = []
    for k in range(n):
        via_proxy, direct, repo, images = scene(f"race/pub{slow}-{k}")

        def other(direct=direct):
            assert cli("publish", "--config", str(direct), env=_publish_env(fast)).code == 0

        front.hook = AtRequest(k, other)
        result = cli("publish", "--config", str(via_proxy), "--json", env=_publish_env(slow))
        front.hook = None
        final = target_of(reg, repo, "latest")
        if result.code != 0 or final != images["12"].digest:
            wrong.append((k, "latest on 11" if final == images["11"].digest else final, result.out, result.err))
        rerun = cli("publish", "--config", str(direct), "--json", env=_publish_env("12"))
        if json.loads(rerun.out)["published"] or target_of(reg, repo, "latest") != images["12"].digest:
            wrong.append((k, "re-run moved latest", rerun.out))
    assert n >= 5
    assert wrong == []


def test_plan_never_reuses_a_placeholder_or_an_image_removed_meanwhile(reg, registry, cli, front, tmp_path):
    """At each moment of a plan, another branch's janitor puts its placeholder over the content tag and, a
    request later, deletes it. A plan that says 'reused' has a pipeline tag whose image exists."""
    from ci_tags.project.config import load_config
    from ci_tags.project.imageset import resolve

    def placeholder() -> Manifest:
        data = throwaway_manifest("race")
        return Manifest(data, OCI_MANIFEST, sha256_digest(data))

    wrong, reused, n, k = [], 0, None, 0
    while n is None or k < n:
        prefix = f"race/plan-{k}-{'probe' if n is None else 'run'}"
        config = one_image_config(tmp_path / prefix, f"{front.host}/{prefix}", "ci-tags.yml")
        (content_tag,) = {i.content_tag for i in resolve(load_config(config, {}))}
        repo = f"{prefix}/app"
        push_image(reg, repo, content_tag)
        Untagger(reg, repo)._ensure_empty_blob()
        ph = placeholder()

        def put(repo=repo, content_tag=content_tag, ph=ph):
            reg.put_manifest(repo, content_tag, ph)

        def delete(repo=repo, ph=ph):
            reg.delete_manifest(repo, ph.digest)

        front.hook = both(AtRequest(k, put), AtRequest(k + 1, delete)) if n is not None else None
        before = len(front.seen)
        result = cli("plan", "--config", str(config), "--json", env={"CI_TAGS_PIPELINE_ID": "7"})
        front.hook = None
        if n is None:
            n = len(front.seen) - before
            continue
        assert result.code == 0, result.err
        action = json.loads(result.out)["images"][0]["action"]
        if action == "reuse":
            reused += 1
            tagged = reg.get_manifest(repo, "pipeline-7")
            child = tagged.children[0].digest
            if reg.head_manifest(repo, child) is None or stamp_of(tagged) is None:
                wrong.append((k, "reused an image that is gone"))
            elif "placeholder" in reg.get_manifest(repo, child).data.decode():
                wrong.append((k, "reused a placeholder"))
        k += 1
    assert n is not None and n >= 2 and reused >= 1  # HEAD + PUT: every moment between them is swept
    assert wrong == []


def test_plan_never_reuses_an_image_deleted_meanwhile(reg, registry, cli, front, tmp_path):
    """At each moment of a plan, someone deletes the content tag's image by digest (``untag --digest``). Plan reads
    no image back after its stamp: the registry refuses to store an index naming a manifest it no longer holds,
    and plan then builds. A plan that says 'reused' has a pipeline tag whose image exists; one that says 'build'
    left no pipeline tag."""
    from ci_tags.project.config import load_config
    from ci_tags.project.imageset import resolve

    wrong, outcomes, before_put, n, k = [], set(), 0, None, 0
    while n is None or k < n:
        prefix = f"race/gone-{k}-{'probe' if n is None else 'run'}"
        config = one_image_config(tmp_path / prefix, f"{front.host}/{prefix}", "ci-tags.yml")
        (content_tag,) = {i.content_tag for i in resolve(load_config(config, {}))}
        repo = f"{prefix}/app"
        image = push_image(reg, repo, content_tag).manifest

        def delete(repo=repo, digest=image.digest):
            reg.delete_manifest(repo, digest)

        hook = front.hook = AtRequest(k, delete) if n is not None else None
        before = len(front.seen)
        result = cli("plan", "--config", str(config), "--json", env={"CI_TAGS_PIPELINE_ID": "7"})
        front.hook = None
        if hook is None:
            n = len(front.seen) - before
            continue
        assert result.code == 0, result.err
        action = json.loads(result.out)["images"][0]["action"]
        outcomes.add(action)
        if hook.fired_on and hook.fired_on[0] == "PUT":  # gone between the read and the stamp: said, then built
            before_put += 1
            assert "was removed while it was being reused: building" in result.err
        tags = state(reg, repo)
        if action == "reuse" and reg.head_manifest(repo, image.digest) is None:
            wrong.append((k, "reused an image that is gone"))
        if action == "build" and "pipeline-7" in tags:
            wrong.append((k, "built, yet left a pipeline tag"))
        k += 1
    assert n is not None and n >= 2 and outcomes == {"build"} and before_put == 1
    assert wrong == []


@pytest.mark.parametrize(("failure", "after"), [("503", 0.0), ("truncate", 0.0), ("drop", 0.0), ("refused", 0.0),
                                              ("stall", 0.0), ("truncate", 1.0), ("drop", 1.0), ("stall", 1.0)])
def test_an_interrupted_removal_is_done_or_undone(reg, registry, cli, failure, after, monkeypatch, closing):
    """The placeholder's DELETE fails every time (retries exhausted, cut answers, dropped connections) or is
    refused. Before the registry saw it: the tag is back on its image and the command fails. After (the
    answer was lost): the removal is done and the command says so. Never a tag left on a placeholder."""
    repo = f"race/interrupted-{failure}-{after}"
    image = push_image(reg, repo, "hash-abc").manifest
    for tag in ("pipeline-1", "latest"):
        reg.put_manifest(repo, tag, image)

    def placeholder_delete(method, path):
        return method == "DELETE" and "/manifests/sha256:" in path  # the tag DELETE is refused (400) as usual

    def intercept(method, path, query):
        if method == "DELETE" and "/manifests/" in path and not placeholder_delete(method, path):
            # a tag DELETE refused as distribution 2.8 does (distribution 3 would remove the tag itself): the
            # placeholder route is what this test is about
            return 400, {"Content-Type": "application/json"}, b'{"errors":[{"code":"DIGEST_INVALID"}]}'
        if not placeholder_delete(method, path):
            return None
        if failure == "refused":
            return 405, {"Content-Type": "application/json"}, b'{"errors":[{"code":"UNSUPPORTED"}]}'
        if failure == "503":
            return 503, {"Retry-After": "0"}, b"busy"
        return None

    proxy = closing(RegistryFront(registry.url, intercept))
    if failure in ("truncate", "drop", "stall"):
        from tests.support.proxy import Faults

        # a stall outlasts a 0.3 s read timeout: the DELETE times out on every attempt
        monkeypatch.setitem(Http.__init__.__kwdefaults__, "timeout", (2.0, 0.3))
        faults = proxy.faults = Faults(1.0, kinds=(failure,), seed=1, after_share=after, stall_seconds=0.5)
        pick = faults.pick
        faults.pick = lambda: pick() if placeholder_delete(*proxy.seen[-1]) else None  # type: ignore[method-assign]  # the fault picker narrowed to one request
    result = cli("untag", f"{proxy.host}/{repo}:pipeline-1")
    assert "Traceback" not in result.err and result.err.count("\n") <= 3
    if after:
        assert result.code == 0, result.err
        assert state(reg, repo) == {"hash-abc": image.digest, "latest": image.digest}
    else:
        assert result.code == 1
        assert state(reg, repo) == {"hash-abc": image.digest, "pipeline-1": image.digest, "latest": image.digest}
