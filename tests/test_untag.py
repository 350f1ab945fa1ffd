"""untag on the real distribution registry (which refuses DELETE by tag), and on an unsafe front for it."""

import json

import pytest

from ci_tags.core.manifest import DOCKER_MANIFEST, OCI_MANIFEST
from tests.support.images import push_image, push_index
from tests.support.proxy import RegistryFront


@pytest.fixture
def shared_image(reg):
    """One image under a content tag, a pipeline tag and latest: all three share one digest."""

    def make(repo, kind="image", media_type=OCI_MANIFEST):
        if kind == "image":
            manifest = push_image(reg, repo, "hash-abc", media_type=media_type).manifest
        else:
            manifest, _ = push_index(reg, repo, "hash-abc", media_type=media_type)
        for tag in ("pipeline-1", "latest"):
            reg.put_manifest(repo, tag, manifest)
        return manifest

    return make


@pytest.mark.parametrize(
    ("kind", "media_type"),
    [("image", OCI_MANIFEST), ("image", DOCKER_MANIFEST), ("index", OCI_MANIFEST), ("index", DOCKER_MANIFEST)],
)
def test_untag_removes_only_that_tag_when_others_share_the_digest(kind, media_type, reg, registry, cli, shared_image):
    repo = f"untag/{kind}-{media_type.split('.')[2]}"
    manifest = shared_image(repo, kind, media_type)
    result = cli("untag", f"{registry.host}/{repo}:pipeline-1")
    assert result.code == 0, result.err
    assert result.out == (
        f"removed {registry.host}/{repo}:pipeline-1 {manifest.digest} (kept: hash-abc, latest)\n"
    )
    assert reg.head_manifest(repo, "pipeline-1") is None
    assert reg.head_manifest(repo, "hash-abc") == manifest.digest
    assert reg.head_manifest(repo, "latest") == manifest.digest
    assert sorted(reg.tags(repo)) == ["hash-abc", "latest"]
    if kind == "index":  # the children survive too, so the kept index is still pullable
        for child in manifest.children:
            assert reg.get_manifest(repo, child.digest).digest == child.digest


def test_untag_several_tags_of_one_image(reg, registry, cli, shared_image):
    manifest = shared_image("untag/several")
    result = cli("untag", f"{registry.host}/untag/several:pipeline-1", f"{registry.host}/untag/several:hash-abc")
    assert result.code == 0, result.err
    assert reg.tags("untag/several") == ["latest"]
    assert reg.head_manifest("untag/several", "latest") == manifest.digest


def test_dry_run_prints_what_the_real_run_does_and_removes_nothing(reg, registry, cli, shared_image):
    shared_image("untag/dry")
    refs = [f"{registry.host}/untag/dry:pipeline-1", f"{registry.host}/untag/dry:latest"]
    dry = cli("untag", *refs, "--dry-run")
    assert dry.code == 0
    assert sorted(reg.tags("untag/dry")) == ["hash-abc", "latest", "pipeline-1"]
    real = cli("untag", *refs)
    assert real.code == 0
    assert dry.out.replace("would remove ", "removed ") == real.out
    assert reg.tags("untag/dry") == ["hash-abc"]


def test_untag_json_report(reg, registry, cli, shared_image):
    manifest = shared_image("untag/json")
    result = cli("untag", f"{registry.host}/untag/json:latest", "--json")
    report = json.loads(result.out)
    assert report["results"] == [
        {
            "reference": f"{registry.host}/untag/json:latest",
            "digest": manifest.digest,
            "kept_siblings": ["hash-abc", "pipeline-1"],
            "status": "removed",
            # distribution 2.8 refuses a tag DELETE (a placeholder then); distribution 3 removes the tag itself
            "method": "tag-delete" if registry.deletes_tags else "placeholder",
        }
    ]


def test_untag_of_a_missing_tag_is_not_found_unless_missing_ok(reg, registry, cli, shared_image):
    shared_image("untag/missing")
    ref = f"{registry.host}/untag/missing:nope"
    missing = cli("untag", ref)
    assert missing.code == 4
    assert "not found" in missing.err
    ok = cli("untag", ref, "--missing-ok")
    assert ok.code == 0
    assert "already absent" in ok.out


def test_rerunning_untag_after_success_is_safe(reg, registry, cli, shared_image):
    shared_image("untag/rerun")
    ref = f"{registry.host}/untag/rerun:pipeline-1"
    assert cli("untag", ref).code == 0
    assert cli("untag", ref, "--missing-ok").code == 0
    assert sorted(reg.tags("untag/rerun")) == ["hash-abc", "latest"]


def test_untag_needs_a_tag(registry, cli):
    result = cli("untag", f"{registry.host}/untag/x")
    assert result.code == 2
    assert "--digest" in result.err


def test_digest_mode_lists_the_tags_that_vanish_first(reg, registry, cli, shared_image):
    manifest = shared_image("untag/bydigest")
    other = push_image(reg, "untag/bydigest", "other").manifest
    ref = f"{registry.host}/untag/bydigest@{manifest.digest}"
    dry = cli("untag", "--digest", "--dry-run", ref)
    assert dry.code == 0
    assert dry.out == (
        f"would delete {registry.host}/untag/bydigest@{manifest.digest}; "
        "these tags vanish with it: hash-abc, latest, pipeline-1\n"
    )
    assert len(reg.tags("untag/bydigest")) == 4
    real = cli("untag", "--digest", ref)
    assert real.code == 0
    assert real.out.startswith("deleting ")
    assert reg.tags("untag/bydigest") == ["other"]
    assert reg.head_manifest("untag/bydigest", "other") == other.digest


class UnsafeTagDelete:
    """A front that 'supports' DELETE by tag the way a careless registry might: by deleting the manifest."""

    def __init__(self, upstream_url):
        import requests

        self.requests = requests
        self.upstream = upstream_url
        self.tag_deletes = 0

    def __call__(self, method, path, query):
        if method != "DELETE" or "/manifests/" not in path or "/manifests/sha256:" in path:
            return None
        self.tag_deletes += 1
        resp = self.requests.head(
            self.upstream + path, headers={"Accept": "application/vnd.oci.image.manifest.v1+json"}
        )
        digest = resp.headers["Docker-Content-Digest"]
        repo_path = path.rsplit("/manifests/", 1)[0]
        self.requests.delete(f"{self.upstream}{repo_path}/manifests/{digest}")
        return 202, {}, b""


def test_a_registry_whose_tag_delete_takes_siblings_along_gets_them_put_back(reg, registry, cli, shared_image, closing):
    manifest = shared_image("untag/unsafe")
    behaviour = UnsafeTagDelete(registry.url)
    front = closing(RegistryFront(registry.url, behaviour))
    result = cli("untag", f"{front.host}/untag/unsafe:pipeline-1")
    assert behaviour.tag_deletes == 1
    assert result.code == 0, result.err
    assert "put them back" in result.err
    assert reg.head_manifest("untag/unsafe", "pipeline-1") is None
    assert reg.head_manifest("untag/unsafe", "hash-abc") == manifest.digest
    assert reg.head_manifest("untag/unsafe", "latest") == manifest.digest


def test_a_tag_whose_removal_is_refused_for_lack_of_rights_fails_alone(reg, registry, cli, shared_image, closing):
    """Issue 15: an AuthError (403 on the write) for one tag is that tag's failure; the other tags still go and
    the JSON report lists both."""
    manifest = shared_image("untag/denied")

    def deny(method, path, query):
        if method in ("PUT", "DELETE") and path.endswith("/untag/denied/manifests/pipeline-1"):
            return 403, {"Content-Type": "application/json"}, b'{"errors":[{"code":"DENIED"}]}'
        return None

    front = closing(RegistryFront(registry.url, deny))
    refs = [f"{front.host}/untag/denied:pipeline-1", f"{front.host}/untag/denied:latest"]
    result = cli("untag", *refs, "--json")
    assert result.code == 1, result.err
    report = json.loads(result.out)
    assert [(r["status"], "denied" in r.get("error", "")) for r in report["results"]] == [
        ("failed", True), ("removed", False)]
    assert report["removed"] == [refs[1]] and report["error"]["message"] == "1 of 2 tags could not be removed"
    assert f"{refs[0]}: " in result.err and "denied" in result.err
    assert sorted(reg.tags("untag/denied")) == ["hash-abc", "pipeline-1"]
    assert reg.head_manifest("untag/denied", "pipeline-1") == manifest.digest


def test_a_placeholder_put_that_meets_another_untag_committing_its_config_blob_is_finished(
    reg, registry, cli, shared_image, closing
):
    """Two untags (a janitor and a release job) in one repository both make their placeholder's empty config blob;
    distribution replaces a blob's data as an upload of it is committed, and the other's placeholder PUT that falls
    in that moment is refused as naming an unknown blob. Here that moment is exact: as the placeholder PUT arrives,
    the blob leaves the repository. The untag brings it again and finishes; the siblings keep their image."""
    import re

    import requests

    from ci_tags.core.manifest import EMPTY_JSON, sha256_digest

    manifest = shared_image("untag/commit-race")
    empty = sha256_digest(EMPTY_JSON)
    tag_delete = re.compile(r"/v2/untag/commit-race/manifests/(?!sha256:).+")
    hit: list[str] = []

    def refuse_tag_deletes(method, path, query):  # the placeholder route, on distribution 3 too
        return (405, {"Content-Type": "application/json"},
                b'{"errors":[{"code":"UNSUPPORTED","message":"The operation is unsupported."}]}') \
            if method == "DELETE" and tag_delete.fullmatch(path) else None

    def other_untag(method, path):
        if method == "PUT" and path == "/v2/untag/commit-race/manifests/pipeline-1" and not hit:
            hit.append(path)
            gone = requests.delete(f"{registry.url}/v2/untag/commit-race/blobs/{empty}", timeout=10)
            assert gone.status_code == 202, gone.text

    front = closing(RegistryFront(registry.url, refuse_tag_deletes, hook=other_untag))
    result = cli("untag", f"{front.host}/untag/commit-race:pipeline-1")
    assert result.code == 0, result.err
    assert hit, "the placeholder PUT never came"
    assert reg.head_manifest("untag/commit-race", "pipeline-1") is None
    assert reg.head_manifest("untag/commit-race", "hash-abc") == manifest.digest
    assert reg.head_manifest("untag/commit-race", "latest") == manifest.digest
