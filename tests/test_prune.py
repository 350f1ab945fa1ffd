"""prune across a namespace: on the real registry (catalog + safe untag) and on a fake Docker Hub API
(documented response shapes; no Docker Hub runs here)."""

import json

import pytest

from tests.support.fake_dockerhub import FakeDockerHub
from tests.support.images import push_image

SECRET = "dckr_pat_very-secret"


def test_prune_on_an_oci_registry_removes_one_tag_everywhere_and_keeps_siblings(reg, registry, cli, unique):
    linaro = unique("linaro")
    digests = {}
    for name in [f"{linaro}/ci-amd64", f"{linaro}/ci-arm64", f"{linaro}/other", "elsewhere/ci-x"]:
        image = push_image(reg, name, "5.0.0")
        reg.put_manifest(name, "latest", image.manifest)  # shares the digest with the doomed tag
        digests[name] = image.manifest.digest
    dry = cli("prune", f"{registry.host}/{linaro}", "--repo-prefix", "ci-", "--tag", "5.0.0", "--dry-run")
    assert dry.code == 0, dry.err
    assert f"{registry.host}/{linaro}/ci-amd64:5.0.0 would remove" in dry.out
    assert "5.0.0" in reg.tags(f"{linaro}/ci-amd64")
    result = cli("prune", f"{registry.host}/{linaro}", "--repo-prefix", "ci-", "--tag", "5.0.0")
    assert result.code == 0, result.err
    assert sorted(line for line in result.out.splitlines() if line.endswith("removed")) == [
        f"{registry.host}/{linaro}/ci-amd64:5.0.0 removed",
        f"{registry.host}/{linaro}/ci-arm64:5.0.0 removed",
    ]
    for name in [f"{linaro}/ci-amd64", f"{linaro}/ci-arm64"]:
        assert reg.tags(name) == ["latest"]
        assert reg.head_manifest(name, "latest") == digests[name]
    assert sorted(reg.tags(f"{linaro}/other")) == ["5.0.0", "latest"]
    assert sorted(reg.tags("elsewhere/ci-x")) == ["5.0.0", "latest"]
    again = cli("prune", f"{registry.host}/{linaro}", "--repo-prefix", "ci-", "--tag", "5.0.0", "--json")
    assert json.loads(again.out)["removed"] == []  # a re-run is harmless


@pytest.fixture
def hub():
    repos = {f"linaro/ci-{i:03d}": {"5.0.0": "2026-01-01T00:00:00Z", "latest": "2026-02-01T00:00:00Z"}
             for i in range(120)}
    repos["linaro/tools"] = {"5.0.0": "2026-01-01T00:00:00Z"}
    repos["linaro/ci-big"] = {f"t{i}": "2026-01-01T00:00:00Z" for i in range(150)}
    fake = FakeDockerHub("linaro-bot", SECRET, repos, rate_limit_first=True)
    yield fake
    fake.close()


def test_prune_on_docker_hub_pages_retries_and_removes(hub, cli):
    result = cli("prune", "docker.io/linaro", "--repo-prefix", "ci-", "--tag", "5.0.0", "--hub-url", hub.url,
                 "--username", "linaro-bot", "--password", SECRET, "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["counts"]["repositories"] == 121  # 120 + ci-big, over two pages of 100
    assert len(report["removed"]) == 120 and report["absent"] == ["docker.io/linaro/ci-big"]
    assert all("5.0.0" not in tags for name, tags in hub.repos.items() if name.startswith("linaro/ci-"))
    assert "5.0.0" in hub.repos["linaro/tools"]
    assert hub.requests[0][0] == "POST" and hub.requests[1][0] == "POST"  # the 429 was retried
    assert SECRET not in result.out + result.err


def test_prune_prints_its_lines_sorted_by_repository(hub, cli):
    # 121 repositories removed from concurrently: the lines come in the repositories' order, run after run
    result = cli("prune", "docker.io/linaro", "--repo-prefix", "ci-", "--tag", "5.0.0", "--hub-url", hub.url,
                 "--username", "linaro-bot", "--password", SECRET)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[:-1] == [f"docker.io/linaro/ci-{i:03d}:5.0.0 removed" for i in range(120)]
    assert lines[-1] == "120 removed, 1 without 5.0.0, 0 failed, of 121 repositories"


def test_docker_hub_tag_listing_pages_and_dates(hub):
    from ci_tags.backends.dockerhub import DockerHubBackend
    from ci_tags.oci.http import Http

    backend = DockerHubBackend(Http(sleep=lambda s: None), "linaro-bot", SECRET, hub.url)
    tags = backend.tags("docker.io/linaro/ci-big")
    assert len(tags) == 150
    assert tags[0].pushed_at is not None and tags[0].pushed_at.year == 2026


def test_wrong_hub_credentials_exit_3_without_the_secret(hub, cli):
    result = cli("prune", "docker.io/linaro", "--tag", "5.0.0", "--hub-url", hub.url,
                 "--username", "linaro-bot", "--password", "wrong-" + SECRET)
    assert result.code == 3
    assert SECRET not in result.out + result.err


def test_prune_bad_input(cli):
    assert cli("prune", "linaro", "--tag", "5.0.0").code == 2
    assert cli("prune", "docker.io/linaro", "--tag", "bad tag").code == 2


def test_prune_on_a_registry_whose_tag_delete_takes_the_image_along_keeps_the_other_tags(reg, registry, cli, closing,
                                                                                          unique):
    """A registry that 'supports' tag DELETE by deleting the manifest: prune must notice the tags that went with
    it and put them back (latest shares the digest of the release tag being pruned)."""
    from tests.support.proxy import RegistryFront
    from tests.test_untag import UnsafeTagDelete

    prunesafe = unique("prunesafe")
    image = push_image(reg, f"{prunesafe}/app", "5.0.0")
    reg.put_manifest(f"{prunesafe}/app", "latest", image.manifest)
    behaviour = UnsafeTagDelete(registry.url)
    front = closing(RegistryFront(registry.url, behaviour))
    result = cli("prune", f"{front.host}/{prunesafe}", "--tag", "5.0.0")
    assert result.code == 0, result.err
    assert behaviour.tag_deletes == 1
    assert reg.head_manifest(f"{prunesafe}/app", "5.0.0") is None
    assert reg.head_manifest(f"{prunesafe}/app", "latest") == image.manifest.digest
