"""The janitor on the real registry: hundreds of tags of mixed ages and kinds, with shared digests."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone

from ci_tags.core.manifest import ANNOTATION_CREATED, ANNOTATION_KIND, ANNOTATION_PIPELINE, Manifest
from ci_tags.oci.stamp import stamp
from tests.support.images import in_parallel, push_image


def ago(days: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def populate(reg, repo, seed=1):
    """Content images of various ages, pipeline tags stamped at various times (some on month-old images), numbered
    in the order they were made, publish, foreign and signature tags, many sharing digests. Returns {tag: digest}
    and the expected removals: expired pipeline tags, and expired content tags that no kept tag points at."""
    rnd = random.Random(seed)
    digests, expected = {}, set()
    contents = []
    for i in range(12):
        days: float = rnd.choice([1, 3, 10, 30, 60])
        tag = f"hash-{i:02d}" + "0" * 62
        img = push_image(reg, repo, tag, created=ago(days), layer_size=64)
        digests[tag] = img.manifest.digest
        contents.append((tag, img.manifest, days))
    used = set()  # images that kept tags point at
    ages = sorted((rnd.choice([0.5, 2, 6, 8, 20, 45]) for _ in range(150)), reverse=True)  # numbers grow with time
    made = [(n, days, rnd.choice(contents)[1]) for n, days in enumerate(ages)]

    def pipeline_tag(n: int, days: float, manifest: Manifest) -> str:
        return stamp(reg, repo, manifest, f"pipeline-{n}", {ANNOTATION_KIND: "pipeline", ANNOTATION_PIPELINE: str(n),
                                                             ANNOTATION_CREATED: ago(days)}, "amd64").digest

    stamped = in_parallel(lambda m: pipeline_tag(*m), made)
    for (n, days, manifest), digest in zip(made, stamped, strict=True):
        digests[f"pipeline-{n}"] = digest
        if days > 7:
            expected.add(f"pipeline-{n}")
        else:
            used.add(manifest.digest)
    # latest points at an old content image; foreign, signature and slug tags share digests with doomed tags
    old = next(m for t, m, d in contents if d > 7)
    used.add(old.digest)
    for tag in ["latest", "5.0.0", f"sha256-{'a' * 64}.sig", "main", "release-2"]:
        reg.put_manifest(repo, tag, old)
        digests[tag] = old.digest
    expected |= {tag for tag, manifest, days in contents if days > 7 and manifest.digest not in used}
    doomed_pipeline = next(t for t in expected if t.startswith("pipeline-"))
    reg.put_manifest(repo, "foreign-copy", reg.get_manifest(repo, doomed_pipeline))  # shares a stamped digest
    digests["foreign-copy"] = digests[doomed_pipeline]
    return digests, expected


def test_janitor_removes_exactly_the_expired_owned_tags_and_every_kept_tag_keeps_its_digest(reg, registry, cli):
    repo = "janitor/mixed"
    digests, expected = populate(reg, repo)
    dry = cli("janitor", f"{registry.host}/{repo}", "--dry-run", "--keep", "^release-", "--json")
    assert dry.code == 0, dry.err
    assert sorted(reg.tags(repo)) == sorted(digests)  # a dry run removes nothing
    planned = set(json.loads(dry.out)["repositories"][0]["removed"])
    assert planned == expected

    real = cli("janitor", f"{registry.host}/{repo}", "--keep", "^release-", "--json")
    assert real.code == 0, real.err
    report = json.loads(real.out)["repositories"][0]
    assert set(report["removed"]) == expected == planned  # the dry run said exactly what the real run did
    assert report["restored"] == [] and report["failed"] == {}
    remaining = set(reg.tags(repo))
    assert remaining == set(digests) - expected
    for tag in remaining:
        assert reg.head_manifest(repo, tag) == digests[tag], tag
    assert report["kept"]["latest"] == "protected"
    assert report["kept"]["5.0.0"] == "foreign"
    assert report["kept"]["release-2"] == "keep-regex"
    assert report["kept"]["foreign-copy"] == "foreign"

    again = cli("janitor", f"{registry.host}/{repo}", "--keep", "^release-", "--json")
    assert json.loads(again.out)["repositories"][0]["removed"] == []  # a re-run finds nothing more to do


def test_dry_run_lines_match_the_real_run(reg, registry, cli):
    repo = "janitor/lines"
    populate(reg, repo, seed=2)
    dry = cli("janitor", f"{registry.host}/{repo}", "--dry-run")
    real = cli("janitor", f"{registry.host}/{repo}")
    assert real.code == 0, real.err

    def lines(text, verb):  # "removed REPO:TAG (expired: tagged 10d5s ago ...)": the age moves on between runs
        return sorted(line.split(" (", 1)[0] for line in text.splitlines() if line.startswith(verb))

    planned = [line.replace("would remove", "removed") for line in lines(dry.out, "would remove")]
    assert planned == lines(real.out, "removed")
    assert planned


def test_keep_last_and_max_age(reg, registry, cli):
    repo = "janitor/keeplast"
    img = push_image(reg, repo, "hash-" + "1" * 64, created=ago(1))
    for n in range(5):
        stamp(reg, repo, img.manifest, f"pipeline-{n}",
              {ANNOTATION_KIND: "pipeline", ANNOTATION_CREATED: ago(10 + n)}, "amd64")
    result = cli("janitor", f"{registry.host}/{repo}", "--keep-last", "2", "--max-age", "9d", "--json")
    assert result.code == 0, result.err
    assert sorted(reg.tags(repo)) == ["hash-" + "1" * 64, "pipeline-0", "pipeline-1"]


def test_a_fresh_pipeline_tag_on_an_old_image_keeps_both(reg, registry, cli):
    repo = "janitor/fresh-on-old"
    img = push_image(reg, repo, "hash-" + "2" * 64, created=ago(90))
    stamp(reg, repo, img.manifest, "pipeline-7", {ANNOTATION_KIND: "pipeline"}, "amd64")  # stamped now
    result = cli("janitor", f"{registry.host}/{repo}", "--json")
    report = json.loads(result.out)["repositories"][0]
    assert report["removed"] == []  # the young pipeline tag still points at the content tag's image
    assert report["kept"]["hash-" + "2" * 64] == "in-use"
    assert report["kept"]["pipeline-7"] == "young"
    assert reg.get_manifest(repo, "pipeline-7").children[0].digest == img.manifest.digest  # still pullable


def test_bad_arguments(registry, cli):
    assert cli("janitor", f"{registry.host}/x", "--max-age", "soon").code == 2
    assert cli("janitor", f"{registry.host}/x", "--keep", "(").code == 2


def test_an_image_a_concurrent_pipeline_tags_during_the_run_survives(reg, registry):
    """Branch A's janitor lists the repository; branch B's plan then stamps its pipeline tag onto A's expired
    content image; A removes the content tag. B's tag must still resolve to a complete image."""
    from ci_tags.core.policy import CONTENT, PIPELINE, Policy, decide, template_regex
    from ci_tags.services.janitor.engine import clean
    from ci_tags.services.janitor.registry_api import RegistryTags

    repo = "janitor/race"
    old = push_image(reg, repo, "hash-" + "7" * 64, created=ago(30))
    policy = Policy(max_age=timedelta(days=7), content=template_regex("hash-{hash}", CONTENT),
                    pipeline=template_regex("pipeline-{pipeline_id}", PIPELINE))
    made = {}

    def decide_then_race(infos):
        decisions = decide(infos, policy, datetime.now(timezone.utc))
        made["index"] = stamp(reg, repo, old.manifest, "pipeline-200", {ANNOTATION_KIND: "pipeline"}, "amd64")
        return decisions

    tags = RegistryTags(reg, repo, policy, datetime.now(timezone.utc), 4)
    outcome = clean(tags, decide_then_race, dry_run=False, concurrency=4)
    assert outcome.removed == ["hash-" + "7" * 64] and not outcome.failed
    assert sorted(reg.tags(repo)) == ["pipeline-200"]
    assert reg.head_manifest(repo, "pipeline-200") == made["index"].digest
    child = reg.get_manifest(repo, "pipeline-200").children[0].digest
    assert reg.get_manifest(repo, child).digest == old.manifest.digest  # the image itself is still there


def test_a_config_named_but_missing_is_bad_input_not_ignored(registry, cli, tmp_path):
    """A mistyped --config must not silently fall back to the default policy (its keeps would be lost)."""
    result = cli("janitor", f"{registry.host}/janitor/none", "--config", str(tmp_path / "nope.yml"))
    assert result.code == 2 and "nope.yml" in result.err
    result = cli("janitor", f"{registry.host}/janitor/none", "--keep-current-of", "origin/main")
    assert result.code == 2 and "--keep-current-of" in result.err


def test_janitor_on_a_registry_whose_tag_delete_takes_the_image_keeps_kept_indexes_whole(reg, registry, cli, closing):
    """An expired content tag whose image a kept index of another tool points at, on a registry that 'supports'
    tag DELETE by deleting the manifest: the kept index must still resolve to a complete image afterwards. (A
    ci-tags pipeline tag pointing at it would keep the content tag itself: rule in-use.)"""
    from ci_tags.core.manifest import stamped_index
    from tests.support.proxy import RegistryFront
    from tests.test_untag import UnsafeTagDelete

    repo = "janitor/unsafe"
    old = push_image(reg, repo, "hash-" + "8" * 64, created=ago(30))
    foreign = stamped_index(old.manifest, {"os": "linux", "architecture": "amd64"}, {"made-by": "another tool"})
    reg.put_manifest(repo, "pipeline-5", foreign)  # no ci-tags stamp: no age, kept; names nothing
    behaviour = UnsafeTagDelete(registry.url)
    front = closing(RegistryFront(registry.url, behaviour))
    result = cli("janitor", f"{front.host}/{repo}", "--json")
    assert result.code == 0, result.err
    assert behaviour.tag_deletes == 1
    assert sorted(reg.tags(repo)) == ["pipeline-5"]
    child = reg.get_manifest(repo, "pipeline-5").children[0].digest
    assert reg.get_manifest(repo, child).digest == old.manifest.digest


def test_keep_current_of_keeps_the_default_branch_content_tags_from_a_feature_checkout(reg, registry, cli,
                                                                                       tmp_path):
    """A feature branch changed the Dockerfile; main's content tag is a month old and not current here. With
    --keep-current-of main it is kept (main still uses it); without, it expires. The ref is read with git."""
    import subprocess

    root = tmp_path / "checkout"
    (root / "docker").mkdir(parents=True)
    (root / "docker" / "Dockerfile").write_text("FROM scratch\nCOPY a.txt /a.txt\n")
    (root / "docker" / "a.txt").write_text("a\n")
    (root / "ci-tags.yml").write_text(f"registry: {registry.host}/kco\nimages:\n  app:\n"
                                      "    dockerfile: docker/Dockerfile\n")
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e",
           "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}

    def git(*args):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "main")
    main_tag = cli("hash", "--config", str(root / "ci-tags.yml")).out.split()[-1]
    git("checkout", "-q", "-b", "feature")
    (root / "docker" / "a.txt").write_text("b\n")
    git("commit", "-q", "-am", "feature")
    feature_tag = cli("hash", "--config", str(root / "ci-tags.yml")).out.split()[-1]
    assert main_tag != feature_tag
    push_image(reg, "kco/app", main_tag, created=ago(30))

    config = ["--config", str(root / "ci-tags.yml"), "--dry-run", "--json"]
    plain = json.loads(cli("janitor", *config).out)["repositories"][0]
    assert plain["removed"] == [main_tag]
    kept = cli("janitor", *config, "--keep-current-of", "main")
    assert kept.code == 0, kept.err
    report = json.loads(kept.out)["repositories"][0]
    assert report["removed"] == [] and report["kept"][main_tag] == "current"
    # a ref the checkout lacks (a shallow or merge-request fetch): a warning, and every content tag is kept
    bad = cli("janitor", *config, "--keep-current-of", "no-such-ref")
    assert bad.code == 0, bad.err
    assert "warning: --keep-current-of no-such-ref" in bad.err and "every content tag is kept" in bad.err
    report = json.loads(bad.out)["repositories"][0]
    assert report["removed"] == [] and report["kept"][main_tag] == "current"
    subprocess.run(["git", "worktree", "prune"], cwd=root, env=env, check=True)
    listed = subprocess.run(["git", "worktree", "list"], cwd=root, env=env, capture_output=True, text=True).stdout
    assert len(listed.splitlines()) == 1  # the temporary worktree is gone


def test_a_repository_whose_listing_fails_does_not_stop_the_others(reg, registry, cli, closing):
    """Issue 15: one repository the registry cannot list must not stop the run: the others are cleaned, the
    summary names the failed one, and the run exits non-zero."""
    from tests.support.proxy import RegistryFront

    broken, fine = "janitor/broken-listing", "janitor/after-broken"
    for repo in (broken, fine):
        image = push_image(reg, repo, "hash-" + "5" * 64, created=ago(1))
        stamp(reg, repo, image.manifest, "pipeline-1", {ANNOTATION_KIND: "pipeline", ANNOTATION_CREATED: ago(30)},
              "amd64")

    def refuse_listing(method, path, query):
        if path == f"/v2/{broken}/tags/list":
            return 501, {"Content-Type": "application/json"}, b'{"errors":[{"code":"UNSUPPORTED"}]}'
        return None

    front = closing(RegistryFront(registry.url, refuse_listing))
    text = cli("janitor", f"{front.host}/{broken}", f"{front.host}/{fine}", "--dry-run")
    result = cli("janitor", f"{front.host}/{broken}", f"{front.host}/{fine}", "--json")
    assert text.code == 1 and result.code == 1, result.err
    assert f"would remove {front.host}/{fine}:pipeline-1" in text.out
    assert f"1 of 2 repositories could not be cleaned ({front.host}/{broken})" in text.err
    assert reg.tags(fine) == ["hash-" + "5" * 64]  # cleaned after the broken one
    assert sorted(reg.tags(broken)) == ["hash-" + "5" * 64, "pipeline-1"]
    report = {r["repository"]: r for r in json.loads(result.out)["repositories"]}
    assert report[f"{front.host}/{fine}"]["removed"] == ["pipeline-1"]
    assert list(report[f"{front.host}/{broken}"]["failed"]) == ["(tag listing)"]
    assert json.loads(result.out)["error"]["kind"] == "failed"
