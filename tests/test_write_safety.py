"""Writes that are checked: a PUT counts only when the registry confirms the digest, every name is checked before
the first write, read errors are never dropped, truncated answers are retried, server texts are scrubbed of
credentials; untag placeholders are never taken for images and leftovers are finished; publish leaves a tag that
already holds the image as it is."""

from __future__ import annotations

import json

import pytest

from ci_tags.core.manifest import OCI_MANIFEST, Manifest, sha256_digest, stamp_of, throwaway_manifest
from ci_tags.core.policy import PIPELINE, Policy, TagInfo, decide, template_regex
from ci_tags.oci.http import Http
from ci_tags.oci.untag import Untagger
from tests.support.images import push_image
from tests.support.proxy import RegistryFront
from tests.support.scenes import one_image_config, stamp_at, state, target_of

HTML = (200, {"Content-Type": "text/html"}, b"<html><body>maintenance</body></html>")
PUBLISH_ENV = {"CI_TAGS_PIPELINE_ID": "12", "CI_TAGS_BRANCH": "main", "CI_TAGS_DEFAULT_BRANCH": "main"}


@pytest.fixture(autouse=True)
def _quick_backoff(monkeypatch):
    monkeypatch.setattr(Http, "_backoff", lambda self, attempt: 0.005)


def test_a_put_answered_with_an_html_page_is_not_a_success(reg, registry, cli, closing):
    image = push_image(reg, "safety/html", "hash-abc").manifest
    front = closing(RegistryFront(registry.url, lambda m, p, q: HTML if m == "PUT" else None))
    result = cli("retag", f"{front.host}/safety/html:hash-abc", "release")
    assert result.code == 1
    assert "does not serve" in result.err and "release" in result.err
    assert state(reg, "safety/html") == {"hash-abc": image.digest}


def publish_scene(reg, registry, tmp_path, prefix):
    config = one_image_config(tmp_path / prefix, f"{registry.host}/{prefix}", "ci-tags.yml")
    repo = f"{prefix}/app"
    old, new = (push_image(reg, repo, None).manifest for _ in range(2))
    stamp_at(reg, repo, old, "latest", 3, "10", kind="publish")
    stamp_at(reg, repo, new, "pipeline-12", 0.01, "12")
    return config, repo, old, new


@pytest.mark.parametrize("tags", [["../../victim/manifests/latest"], ["latest", "x y"], ["latest", "-x"],
                                  ["latest", "a" * 129]])
def test_publish_checks_every_tag_before_the_first_write(tags, reg, registry, cli, tmp_path):
    config, repo, _, _ = publish_scene(reg, registry, tmp_path, "safety/pubtags")
    victim = push_image(reg, "victim", "latest").manifest
    before = state(reg, repo)
    result = cli("publish", "--config", str(config), *[f"--tag={t}" for t in tags], env=PUBLISH_ENV)
    assert result.code == 2, result.err
    assert "invalid tag" in result.err and result.err.count("\n") == 1
    assert state(reg, repo) == before  # nothing moved, no intent written
    assert reg.head_manifest("victim", "latest") == victim.digest


def test_publish_never_drops_a_read_error(reg, registry, cli, tmp_path, closing):
    config, repo, old, _ = publish_scene(reg, registry, tmp_path, "safety/pubread")
    front_config = one_image_config(tmp_path / "front", "x", "ci-tags.yml")
    front = closing(RegistryFront(registry.url,
                                  lambda m, p, q: (500, {}, b"oops") if p.endswith("/pipeline-12") else None))
    front_config.write_text(config.read_text().replace(registry.host, front.host))
    result = cli("publish", "--config", str(front_config), "--json", env=PUBLISH_ENV)
    assert result.code == 1
    report = json.loads(result.out)
    assert report["published"] is False and "app" in report["errors"]
    assert "could not read the pipeline tag of 1 of 1 images" in result.err
    assert "half-built" not in result.out + result.err
    assert target_of(reg, repo, "latest") == old.digest


def test_a_failed_publish_put_fails_that_tag_alone_and_is_reported(reg, registry, cli, tmp_path, closing):
    """Issue 15: a PUT refused for one publish tag (a RegistryError after the retries) fails that tag: the other
    tags still move and are reported as moved, the failure is counted, and --json prints the whole report."""
    config, repo, _, new = publish_scene(reg, registry, tmp_path, "safety/pubput")
    front = closing(RegistryFront(registry.url, lambda m, p, q: (500, {}, b"oops") if m == "PUT" and p.endswith(
        "/manifests/stable") else None))
    front_config = one_image_config(tmp_path / "front", "x", "ci-tags.yml")
    front_config.write_text(config.read_text().replace(registry.host, front.host))
    result = cli("publish", "--config", str(front_config), "--tag", "stable", "--tag", "latest", "--json",
                 env=PUBLISH_ENV)
    human = cli("publish", "--config", str(front_config), "--tag", "stable", "--tag", "latest",
                env=PUBLISH_ENV)
    assert result.code == 1, result.err
    report = json.loads(result.out)
    assert [(m["tag"], m["status"], m["move"]) for m in report["moves"]] == [
        ("stable", "failed", False), ("latest", "move", True)]
    assert "500" in report["moves"][0]["error"] and set(report["errors"]) == {"app"}
    assert report["published"] is True
    assert report["error"]["message"] == "1 of 1 images could not be published; a re-run settles them"
    assert target_of(reg, repo, "latest") == new.digest and reg.head_manifest(repo, "stable") is None
    assert human.code == 1 and ":stable: " in human.err and "unchanged " in human.out and ":latest: " in human.out


def test_publish_leaves_a_tag_that_holds_the_image_unchanged(reg, registry, cli, tmp_path):
    config, repo, _, new = publish_scene(reg, registry, tmp_path, "safety/unchanged")
    first = cli("publish", "--config", str(config), "--json", env=PUBLISH_ENV)
    assert first.code == 0, first.err
    assert json.loads(first.out)["published"] is True
    digest = reg.head_manifest(repo, "latest")
    stamp_at(reg, repo, new, "pipeline-13", 0.001, "13")  # a later pipeline, nothing changed
    again = cli("publish", "--config", str(config), "--json", env={**PUBLISH_ENV, "CI_TAGS_PIPELINE_ID": "13"})
    report = json.loads(again.out)
    assert report["published"] is False and report["unchanged"] is True
    assert report["moves"][0]["status"] == "unchanged" and "unchanged" not in again.err
    assert reg.head_manifest(repo, "latest") == digest
    human = cli("publish", "--config", str(config), env={**PUBLISH_ENV, "CI_TAGS_PIPELINE_ID": "13"})
    assert human.out.startswith(f"unchanged {registry.host}/safety/unchanged/app:latest: it already holds")
    # pipeline 12 coming late again: latest stays (13 is newer, and holds the same image anyway)
    late = cli("publish", "--config", str(config), env=PUBLISH_ENV)
    assert "kept" in late.out and "later pipeline 13" in late.out
    assert reg.head_manifest(repo, "latest") == digest


def test_truncated_answers_are_retried_and_named(reg, registry, cli, closing):
    image = push_image(reg, "safety/trunc", "hash-abc").manifest
    cuts = {"left": 2}

    from tests.support.proxy import Faults

    faults = Faults(1.0, kinds=("truncate",), after_share=1.0)
    front = closing(RegistryFront(registry.url, faults=faults))

    def pick():
        if cuts["left"] <= 0:
            return None
        cuts["left"] -= 1
        return faults_pick()

    faults_pick = faults.pick
    faults.pick = pick  # type: ignore[method-assign]  # the first two answers are cut short
    ok = cli("inspect", f"{front.host}/safety/trunc:hash-abc", "--json")
    cuts["left"] = 99
    bad = cli("inspect", f"{front.host}/safety/trunc:hash-abc")
    assert ok.code == 0, ok.err
    assert image.digest in ok.out
    assert bad.code == 1
    assert "truncated answers to GET /v2/safety/trunc/manifests/hash-abc" in bad.err
    assert front.host.split(":")[0] in bad.err


def test_server_error_texts_are_scrubbed_of_credentials(reg, registry, cli, closing):
    push_image(reg, "safety/scrub", "hash-abc")
    echo = (b'{"errors":[{"code":"DENIED","message":"bad request: Authorization: Basic dXNlcjpzM2NyZXQ= '
            b'token=abcdef123456 also Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"}]}')
    front = closing(RegistryFront(registry.url, lambda m, p, q: (400, {"Content-Type": "application/json"}, echo)
                                  if m == "PUT" else None))
    result = cli("retag", f"{front.host}/safety/scrub:hash-abc", "release")
    assert result.code == 1
    assert "DENIED" in result.err
    for secret in ("dXNlcjpzM2NyZXQ", "abcdef123456", "eyJhbGciOiJIUzI1NiJ9", "c2lnbmF0dXJl"):
        assert secret not in result.err


def _placeholder(nonce: str, old_style: bool) -> Manifest:
    data = throwaway_manifest(nonce)
    if old_style:  # exactly what ci-tags 0.1 left behind: a 32-hex nonce, no padding
        body = json.loads(data)
        body["annotations"] = {"org.opencontainers.image.description": "ci-tags untag placeholder",
                               "ci-tags.nonce": (nonce * 32)[:32]}
        data = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    return Manifest(data, OCI_MANIFEST, sha256_digest(data))


@pytest.mark.parametrize("old_style", [False, True])
def test_a_tag_left_on_a_placeholder_is_no_image(old_style, reg, registry, cli, tmp_path):
    from ci_tags.project.config import load_config
    from ci_tags.project.imageset import resolve

    prefix = f"safety/ph-{old_style}".lower()
    config = one_image_config(tmp_path, f"{registry.host}/{prefix}", "ci-tags.yml")
    (content_tag,) = {i.content_tag for i in resolve(load_config(config, {}))}
    repo = f"{prefix}/app"
    push_image(reg, repo, None)  # the repository exists
    Untagger(reg, repo)._ensure_empty_blob()
    reg.put_manifest(repo, content_tag, _placeholder("a", old_style))
    reg.put_manifest(repo, "pipeline-4", _placeholder("b", old_style))

    plan = cli("plan", "--config", str(config), "--json", env={"CI_TAGS_PIPELINE_ID": "5"})
    assert plan.code == 0, plan.err
    assert json.loads(plan.out)["images"][0]["action"] == "build"
    retag = cli("retag", f"{registry.host}/{repo}:{content_tag}", "release")
    assert retag.code == 4 and "placeholder" in retag.err
    publish = cli("publish", "--config", str(config), env={**PUBLISH_ENV, "CI_TAGS_PIPELINE_ID": "4"})
    assert publish.code == 0 and "no pipeline tag for app" in publish.out
    assert "latest" not in reg.tags(repo)

    dry = cli("janitor", f"{registry.host}/{repo}", "--dry-run")
    assert f"would remove {registry.host}/{repo}:pipeline-4 (placeholder" in dry.out
    janitor = cli("janitor", f"{registry.host}/{repo}", "--json")
    assert janitor.code == 0, janitor.err
    # The checkout's current content tag is never read by the janitor (a steady-state run reads no current tag):
    # it stays, and the next plan, which sees the placeholder, builds and pushes over it.
    assert json.loads(janitor.out)["repositories"][0]["removed"] == ["pipeline-4"]
    assert reg.tags(repo) == [content_tag]
    build = cli("plan", "--config", str(config), "--json", env={"CI_TAGS_PIPELINE_ID": "6"})
    assert json.loads(build.out)["images"][0]["action"] == "build"


def test_the_janitor_removes_old_publish_intents_but_the_newest_and_never_counts_them_foreign():
    from datetime import datetime, timedelta, timezone

    now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    policy = Policy(timedelta(days=7), template_regex("hash-{hash}", "content"),
                    template_regex("pipeline-{pipeline_id}", PIPELINE))
    infos = [TagInfo(f"ci-tags-intent-{n}", None, now - timedelta(days=d), "stamp")
             for n, d in ((10, 30), (11, 20), (12, 9), (13, 1))]
    infos.append(TagInfo("ci-tags-intent-main-4", None, now - timedelta(days=40), "stamp"))
    decisions = {d.tag: (d.delete, d.reason) for d in decide(infos, policy, now)}
    assert decisions == {
        "ci-tags-intent-10": (True, "expired"), "ci-tags-intent-11": (True, "expired"),
        "ci-tags-intent-12": (True, "expired"), "ci-tags-intent-13": (False, "keep-last"),
        "ci-tags-intent-main-4": (True, "expired"),
    }
    alone = decide([TagInfo("ci-tags-intent-9", None, now - timedelta(days=90), "stamp")], policy, now)
    assert [(d.delete, d.reason) for d in alone] == [(False, "keep-last")]  # the newest stays at any age


def test_publish_intents_in_the_registry_and_their_cleanup(reg, registry, cli, tmp_path):
    config, repo, _, new = publish_scene(reg, registry, tmp_path, "safety/intents")
    assert cli("publish", "--config", str(config), env=PUBLISH_ENV).code == 0
    intent = reg.get_manifest(repo, "ci-tags-intent-12")
    notes = stamp_of(intent) or {}
    assert notes["dev.ci-tags.kind"] == "intent" and notes["dev.ci-tags.publish-tags"] == "latest"
    assert notes["dev.ci-tags.target"] == new.digest
    stamp_at(reg, repo, new, "ci-tags-intent-3", 30, "3", kind="intent")
    janitor = cli("janitor", f"{registry.host}/{repo}", "--json")
    assert janitor.code == 0, janitor.err
    assert json.loads(janitor.out)["repositories"][0]["removed"] == ["ci-tags-intent-3"]
    assert "ci-tags-intent-12" in reg.tags(repo)
