"""The janitor under faults, on named requests (no random timing): decisions only on complete reads, and a re-run
that finishes what an interrupted run left behind. bench/chaos.py runs the 283-tag repository under random faults
(tests/support/chaos.py) for figures."""

from __future__ import annotations

import json
import uuid

import pytest

from ci_tags.core.manifest import (
    ANNOTATION_CONTENT_TAG,
    ANNOTATION_CREATED,
    ANNOTATION_KIND,
    EMPTY_JSON,
    OCI_MANIFEST,
    Manifest,
    sha256_digest,
    stamped_index,
    throwaway_manifest,
)
from ci_tags.oci.http import Http
from tests.support.chaos import listed_state
from tests.support.images import push_blob, push_image
from tests.support.proxy import RegistryFront
from tests.support.referrers import cosign_tag, push_signature
from tests.support.scenes import ago

OLD, FREE = "hash-" + "a" * 64, "hash-" + "b" * 64  # an old content tag kept in use, an old one nobody names
PLATFORM = {"os": "linux", "architecture": "amd64"}


@pytest.fixture(autouse=True)
def _quick_backoff(monkeypatch):
    monkeypatch.setattr(Http, "_backoff", lambda self, attempt: 0.005)


def in_use_scene(reg, repo: str, protector: str) -> dict[str, str]:
    """Old content tags OLD (named by ``protector``'s stamp only) and FREE (named by none); pipeline-1 expired,
    pipeline-5, -7 and -9 young. In the steady-state dating, pipeline-7 and -5 are read by the binary search,
    pipeline-9 only when rule 7 needs the kept tags' stamps, latest in the wave before. Returns tag -> digest."""
    old = push_image(reg, repo, OLD, created=ago(40)).manifest
    free = push_image(reg, repo, FREE, created=ago(40)).manifest
    young = push_image(reg, repo, None, created=ago(1)).manifest
    found = {OLD: old.digest, FREE: free.digest}
    for tag, days in (("pipeline-1", 20), ("pipeline-5", 3), ("pipeline-7", 2), ("pipeline-9", 1), ("latest", 10)):
        target, content = (old, OLD) if tag == protector else (young, "")
        notes = {ANNOTATION_CREATED: ago(days), ANNOTATION_KIND: "publish" if tag == "latest" else "pipeline"}
        index = stamped_index(target, PLATFORM, {**notes, **({ANNOTATION_CONTENT_TAG: content} if content else {})})
        reg.put_manifest(repo, tag, index)
        found[tag] = index.digest
    return found


def html_for(repo: str, tag: str):
    """A front's intercept: every GET of ``repo:tag``'s manifest answered 200 with an HTML page (a gateway's)."""
    def intercept(method, path, query):
        if method == "GET" and path == f"/v2/{repo}/manifests/{tag}":
            return 200, {"Content-Type": "text/html"}, b"<html><body>gateway says hi</body></html>"
        return None

    return intercept


@pytest.mark.parametrize("protector", ["pipeline-7", "pipeline-9", "latest"])
def test_a_content_tag_kept_in_use_survives_a_failed_read_of_the_stamp_that_names_it(reg, registry, cli, closing,
                                                                                      protector):
    repo = f"jfault/in-use-{protector}"
    before = in_use_scene(reg, repo, protector)
    front = closing(RegistryFront(registry.url, html_for(repo, protector)))

    result = cli("janitor", f"{front.host}/{repo}", "--max-age", "7d", "--json")

    assert listed_state(reg, repo) == {t: d for t, d in before.items() if t != "pipeline-1"}
    assert result.code == 1, result.err  # partial: said so, with a non-zero exit
    report = json.loads(result.out)
    assert report["partial"] is True and report["counts"]["unreadable"] == 1
    (repository,) = report["repositories"]
    assert repository["partial"] is True and list(repository["unreadable"]) == [protector]
    assert repository["removed"] == ["pipeline-1"]
    assert repository["kept"][OLD] == repository["kept"][FREE] == "in-use"  # what it might name: every content tag
    assert "partial run: 1 tags could not be read" in report["error"]["message"]


def test_a_partial_run_says_so_in_its_text_summary_and_a_clean_rerun_decides(reg, registry, cli, closing):
    repo = "jfault/in-use-text"
    before = in_use_scene(reg, repo, "pipeline-9")
    front = closing(RegistryFront(registry.url, html_for(repo, "pipeline-9")))

    result = cli("janitor", f"{front.host}/{repo}", "--max-age", "7d")

    assert result.code == 1
    assert f"{repo}: partial: 1 tag(s) could not be read (pipeline-9): kept" in result.err
    assert "partial run" in result.err.splitlines()[-1]
    again = cli("janitor", f"{registry.host}/{repo}", "--max-age", "7d")
    assert again.code == 0, again.err
    assert listed_state(reg, repo) == {t: d for t, d in before.items() if t not in ("pipeline-1", FREE)}


def make_dangling(registry, repo: str, tag: str, digest: str) -> None:
    """The state an interrupted delete by digest leaves on distribution: the manifest's revision link is gone,
    the tag's link is not (listed; a GET answers MANIFEST_UNKNOWN)."""
    link = (registry.root / "data/docker/registry/v2/repositories" / repo / "_manifests/revisions/sha256" /
            digest.removeprefix("sha256:") / "link")
    link.unlink()


def placeholder_over(reg, repo: str, tag: str) -> None:
    """The state an interrupted untag leaves: the tag on a placeholder whose delete never came."""
    push_blob(reg, repo, EMPTY_JSON)
    data = throwaway_manifest(uuid.uuid4().hex)
    reg.put_manifest(repo, tag, Manifest(data, OCI_MANIFEST, sha256_digest(data)))


def pipeline_series(reg, repo: str, ages: dict[int, float]) -> dict[str, str]:
    image = push_image(reg, repo, None, created=ago(1)).manifest
    found = {}
    for n, days in ages.items():
        index = stamped_index(image, PLATFORM, {ANNOTATION_CREATED: ago(days), ANNOTATION_KIND: "pipeline"})
        reg.put_manifest(repo, f"pipeline-{n}", index)
        found[f"pipeline-{n}"] = index.digest
    return found


@pytest.mark.parametrize("where", ["oldest", "between"])
def test_a_rerun_removes_a_tag_whose_manifest_is_gone(reg, registry, cli, where):
    """The oldest pipeline tag is the steady state's one probe; between: behind an expired one still whole."""
    repo = f"jfault/dangling-{where}"
    tags = pipeline_series(reg, repo, {1: 20, 2: 15, 3: 3, 4: 2, 5: 1})
    dangling = "pipeline-1" if where == "oldest" else "pipeline-2"
    make_dangling(registry, repo, dangling, tags[dangling])
    assert listed_state(reg, repo)[dangling] == "dangling"

    result = cli("janitor", f"{registry.host}/{repo}", "--max-age", "7d", "--json")

    assert result.code == 0, result.err
    assert listed_state(reg, repo) == {t: d for t, d in tags.items() if t in ("pipeline-3", "pipeline-4", "pipeline-5")}
    assert dangling in json.loads(result.out)["repositories"][0]["removed"]


def test_a_dangling_tag_is_listed_by_a_dry_run_and_left_as_it_is(reg, registry, cli):
    repo = "jfault/dangling-dry"
    tags = pipeline_series(reg, repo, {1: 20, 2: 1})
    make_dangling(registry, repo, "pipeline-1", tags["pipeline-1"])

    result = cli("janitor", f"{registry.host}/{repo}", "--max-age", "7d", "--dry-run")

    assert result.code == 0, result.err
    assert f"would remove {registry.host}/{repo}:pipeline-1 (dangling: listed, but its manifest is gone" in result.out
    assert listed_state(reg, repo) == {"pipeline-1": "dangling", "pipeline-2": tags["pipeline-2"]}


def test_a_dangling_tag_the_rules_keep_is_left_alone(reg, registry, cli):
    """latest is read (rule 7) but is never the janitor's to remove, even without its manifest."""
    repo = "jfault/dangling-latest"
    tags = pipeline_series(reg, repo, {1: 20, 2: 1})
    old = push_image(reg, repo, OLD, created=ago(40)).manifest
    publish = stamped_index(old, PLATFORM, {ANNOTATION_CREATED: ago(10), ANNOTATION_KIND: "publish"})
    reg.put_manifest(repo, "latest", publish)
    make_dangling(registry, repo, "latest", publish.digest)

    result = cli("janitor", f"{registry.host}/{repo}", "--max-age", "7d")

    assert result.code == 0, result.err
    assert listed_state(reg, repo) == {"latest": "dangling", "pipeline-2": tags["pipeline-2"]}


@pytest.mark.parametrize("where", ["oldest", "between"])
def test_a_rerun_finishes_a_tag_left_on_a_placeholder(reg, registry, cli, where):
    repo = f"jfault/placeholder-{where}"
    tags = pipeline_series(reg, repo, {1: 20, 2: 15, 3: 3, 4: 2, 5: 1})
    left = "pipeline-1" if where == "oldest" else "pipeline-2"
    placeholder_over(reg, repo, left)
    assert listed_state(reg, repo)[left] == "placeholder"

    result = cli("janitor", f"{registry.host}/{repo}", "--max-age", "7d", "--json")

    assert result.code == 0, result.err
    assert listed_state(reg, repo) == {t: d for t, d in tags.items() if t in ("pipeline-3", "pipeline-4", "pipeline-5")}
    assert left in json.loads(result.out)["repositories"][0]["removed"]


def test_what_a_faulty_run_leaves_is_never_beyond_the_steady_state_shortcut(reg, registry, cli, closing):
    """pipeline-2 was stamped again today by a re-run job; pipeline-3, numbered after it, has a 15-day-old stamp.
    The faulty run cannot read pipeline-2 (its probe), so it reads the whole series; every placeholder DELETE
    fails and so does putting an image back. The clean re-run's shortcut reads nothing past pipeline-2 (young):
    whatever the faulty run left must not be there. Rules: pipeline-3 is tagged after pipeline-2, so it is young."""
    repo = "jfault/shortcut"
    tags = pipeline_series(reg, repo, {2: 0.5, 3: 15, 4: 2, 5: 1})
    puts: list[str] = []

    def intercept(method, path, query):
        if method == "GET" and path == f"/v2/{repo}/manifests/pipeline-2":
            return 200, {"Content-Type": "text/html"}, b"<html><body>gateway says hi</body></html>"
        if method == "DELETE" and "/manifests/sha256:" in path:
            return 503, {"Retry-After": "0"}, b"busy"
        if method == "PUT" and "/manifests/pipeline-" in path:
            puts.append(path)
            if puts.count(path) > 1:  # a placeholder may go up; the image cannot be put back
                return 503, {"Retry-After": "0"}, b"busy"
        return None

    front = closing(RegistryFront(registry.url, intercept))
    faulty = cli("janitor", f"{front.host}/{repo}", "--max-age", "7d")
    assert faulty.code == 1 and "Traceback" not in faulty.err

    clean = cli("janitor", f"{registry.host}/{repo}", "--max-age", "7d", "--json")

    assert clean.code == 0, clean.err
    assert listed_state(reg, repo) == tags
    assert json.loads(clean.out)["repositories"][0]["kept"]["pipeline-3"] == "young"


def test_a_dangling_tag_found_by_the_in_use_reads_is_removed_once_and_not_also_kept(reg, registry, cli):
    """pipeline-5 (young, dated by its number) is only read when rule 7 reads the kept tags' stamps (FREE would
    go): it has no manifest. One decision for it: removed as dangling."""
    repo = "jfault/dangling-young"
    push_image(reg, repo, FREE, created=ago(40))
    tags = pipeline_series(reg, repo, {1: 20, 2: 3, 3: 2, 4: 1.5, 5: 1})
    make_dangling(registry, repo, "pipeline-5", tags["pipeline-5"])

    result = cli("janitor", f"{registry.host}/{repo}", "--max-age", "7d", "--json")

    assert result.code == 0, result.err
    report = json.loads(result.out)["repositories"][0]
    assert set(report["removed"]) == {"pipeline-1", "pipeline-5", FREE}
    assert "pipeline-5" not in report["kept"]
    assert listed_state(reg, repo) == {t: tags[t] for t in ("pipeline-2", "pipeline-3", "pipeline-4")}


def test_a_signature_stays_while_a_tag_that_could_not_be_read_may_hold_its_image(reg, registry, cli, closing):
    """pipeline-1 (expired) and v1 (kept: not a template tag) hold one stamped image, which is signed. With v1
    unreadable, the removal of pipeline-1 leaves no *known* tag on the image: the graph phase must not take that
    for the image's last tag, or the signature of an image v1 still ships goes."""
    repo = f"jfault/graph-{uuid.uuid4().hex[:8]}"
    image = push_image(reg, repo, None, created=ago(30)).manifest
    notes = {ANNOTATION_CREATED: ago(20), ANNOTATION_KIND: "pipeline"}
    stamped = stamped_index(image, PLATFORM, notes)
    for tag in ("pipeline-1", "v1"):
        reg.put_manifest(repo, tag, stamped)
    push_signature(reg, repo, stamped.digest)
    signature = cosign_tag(stamped.digest, ".sig")
    front = closing(RegistryFront(registry.url, html_for(repo, "v1")))

    result = cli("janitor", f"{front.host}/{repo}", "--max-age", "7d", "--json")

    state = listed_state(reg, repo)
    assert "pipeline-1" not in state and state["v1"] == stamped.digest, result.err
    assert signature in state, "the signature of the image v1 still holds was removed"
    assert result.code == 1, result.err  # partial, said so
