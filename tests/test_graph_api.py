"""Graphs on a registry with the OCI 1.1 referrers API: a fake of that API from the distribution spec in front of
the real registry (tests/support/fake_referrers.py; no registry with the API is built on these machines)."""

import json

import pytest

from ci_tags.core.graph import referrers_in, referrers_tag
from ci_tags.oci.referrers import read_referrers_tag, referrers_api
from tests.support.fake_referrers import ReferrersFront
from tests.support.images import push_image
from tests.support.janitor_setup import ago, content
from tests.support.referrers import SPDX, attach, cosign_tag, push_signature, referrer_manifest


@pytest.fixture
def front(registry, closing):
    return closing(ReferrersFront(registry.url))


@pytest.fixture
def api(client, front):
    return client.get(front.host)


def test_the_api_lists_referrers_and_filters_by_artifact_type(api):
    image = push_image(api, "graph-api/list", "v1").manifest
    sbom = referrer_manifest(api, "graph-api/list", image, SPDX)
    vex = referrer_manifest(api, "graph-api/list", image, "application/vnd.example.vex")
    assert sorted(r.digest for r in referrers_api(api, "graph-api/list", image.digest) or []) == sorted(
        [sbom.digest, vex.digest])
    only = referrers_api(api, "graph-api/list", image.digest, artifact_type=SPDX)
    assert [(r.digest, r.artifact_type) for r in only or []] == [(sbom.digest, SPDX)]
    assert api.referrers_api is True


def test_a_copy_from_the_tag_schema_to_a_registry_with_the_api_writes_no_index(reg, registry, api, front, cli):
    image = push_image(reg, "graph-api/src", "v1").manifest
    sbom = attach(reg, "graph-api/src", image)  # listed in the tag schema's index at the source
    sig = push_signature(reg, "graph-api/src", image.digest)
    result = cli("retag", f"{registry.host}/graph-api/src:v1", f"{front.host}/graph-api/dst:v1", "--json")
    assert result.code == 0, result.err
    carried = json.loads(result.out)["carried"]
    assert carried["listed_by"] == "referrers-api" and carried["indexes_written"] == []
    assert [r.digest for r in referrers_api(api, "graph-api/dst", image.digest) or []] == [sbom.digest]
    assert referrers_tag(image.digest) not in api.tags("graph-api/dst")
    assert api.head_manifest("graph-api/dst", cosign_tag(image.digest, ".sig")) == sig.digest


def test_a_copy_from_a_registry_with_the_api_to_one_without_writes_the_index(api, front, registry2, client, cli):
    image = push_image(api, "graph-api/from", "v1").manifest
    sbom = referrer_manifest(api, "graph-api/from", image)  # listed by the API only
    sbom_sig = push_signature(api, "graph-api/from", sbom.digest)
    result = cli("retag", f"{front.host}/graph-api/from:v1", f"{registry2.host}/graph-api/to:v1", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["carried"]["listed_by"] == "referrers-tag"
    other = client.get(registry2.host)
    index = read_referrers_tag(other, "graph-api/to", image.digest)
    assert index is not None and [r.digest for r in referrers_in(index)] == [sbom.digest]
    assert other.head_manifest("graph-api/to", cosign_tag(sbom.digest, ".sig")) == sbom_sig.digest


def test_the_janitor_asks_the_api_only_about_digests_that_lose_their_last_tag(api, front, cli):
    repo = "graph-api/janitor"
    gone = push_image(api, repo, content(1), created=ago(30)).manifest
    held = push_image(api, repo, content(2), created=ago(30)).manifest
    api.put_manifest(repo, "stable", held)
    gone_sbom, held_sbom = referrer_manifest(api, repo, gone), referrer_manifest(api, repo, held)
    gone_sig = push_signature(api, repo, gone.digest)
    front.asked.clear()
    result = cli("janitor", f"{front.host}/{repo}", "--json")
    assert result.code == 0, result.err
    graph = json.loads(result.out)["repositories"][0]["graph"]
    assert sorted(graph["removed"]) == sorted([gone_sbom.digest, cosign_tag(gone.digest, ".sig")])
    assert held.digest not in front.asked and gone.digest in front.asked
    assert api.head_manifest(repo, gone_sbom.digest) is None and api.head_manifest(repo, gone_sig.digest) is None
    assert referrers_api(api, repo, gone.digest) == []
    assert [r.digest for r in referrers_api(api, repo, held.digest) or []] == [held_sbom.digest]
