"""The Quay, Harbor and GHCR backends against FAKES of their published APIs (tests/support/fake_*_front.py) in
front of the real registry: how ``--backend auto`` recognizes them, prune through each, and what only one of them
does (GHCR's shared versions, Harbor's immutable tags and double-encoded names, Quay's expiry)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from ci_tags.backends import Where, backend_for
from ci_tags.backends.ghcr import GhcrBackend
from ci_tags.backends.harbor import HarborBackend
from ci_tags.backends.quay import QuayBackend
from ci_tags.errors import BadInput, RegistryError
from ci_tags.oci.registries import Registries
from tests.support.fake_ghcr_front import FakeGhcrFront
from tests.support.fake_harbor_front import FakeHarborFront
from tests.support.fake_quay_front import FakeQuayFront
from tests.support.images import push_image

SECRET = "svc-s3cr3t-token-never-shown"
ROBOT = "robot$ci"


@pytest.fixture
def quay(registry, closing):
    return closing(FakeQuayFront(registry.url, SECRET, page_cap=2))


@pytest.fixture
def harbor(registry, closing):
    return closing(FakeHarborFront(registry.url, ROBOT, SECRET, page_cap=2))


@pytest.fixture
def ghcr(registry, closing):
    return closing(FakeGhcrFront(registry.url, SECRET, page_cap=2))


# -- choosing the backend ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("host", "env", "expected"), [
    ("quay.io", {"CI_TAGS_QUAY_TOKEN": SECRET}, QuayBackend),
    ("ghcr.io", {"GITHUB_TOKEN": SECRET}, GhcrBackend),
    ("ghcr.io", {"CI_TAGS_GITHUB_TOKEN": SECRET}, GhcrBackend),
])
def test_auto_picks_the_service_by_its_host(client, host, env, expected):
    backend = backend_for("auto", Where(host, client, env))
    assert isinstance(backend, expected) and SECRET not in repr(backend)


def test_ghcr_without_a_token_is_refused_before_any_request(client, monkeypatch):
    sent: list[str] = []
    monkeypatch.setattr(client.http, "send", lambda request, *args, **kwargs: sent.append(request.url))
    with pytest.raises(BadInput) as info:
        backend_for("auto", Where("ghcr.io", client, {}))
    assert "GITHUB_TOKEN" in str(info.value) and sent == []


def test_auto_recognizes_a_self_hosted_quay_and_harbor_by_one_probe_each(quay, harbor, client, registry, clean_env):
    token = {"CI_TAGS_QUAY_TOKEN": SECRET}
    for _ in range(2):
        assert backend_for("auto", Where(quay.host, client, token)).name == "quay"
    assert quay.count("GET", "/api/v1/discovery") == 1  # once per host and process
    creds = {"CI_TAGS_REGISTRY_USER": ROBOT, "CI_TAGS_REGISTRY_PASSWORD": SECRET}
    robot = Registries(client.http, {**clean_env, **creds})  # the registry credentials are the process's
    assert backend_for("auto", Where(harbor.host, robot, robot.env)).name == "harbor"
    assert harbor.count("GET", "/api/v2.0/systeminfo") == 1
    # a plain registry is neither; without a Quay token or credentials it is not even asked
    mark = registry.mark()
    assert backend_for("auto", Where(registry.host, client, {})).name == "oci"
    assert registry.since(mark) == []


def test_a_forced_backend_needs_its_credentials(client):
    with pytest.raises(BadInput, match="CI_TAGS_QUAY_TOKEN"):
        backend_for("quay", Where("quay.example.com", client, {}))
    with pytest.raises(BadInput, match="robot account"):
        backend_for("harbor", Where("harbor.example.com", client, {}))


# -- prune through each service ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["quay", "harbor", "ghcr"])
def test_prune_lists_the_namespace_through_the_service(kind, quay, harbor, ghcr, client, cli, unique):
    fake = {"quay": quay, "harbor": harbor, "ghcr": ghcr}[kind]
    ns = unique("team")
    env = {"quay": {"CI_TAGS_QUAY_TOKEN": SECRET},
           "harbor": {"CI_TAGS_REGISTRY_USER": ROBOT, "CI_TAGS_REGISTRY_PASSWORD": SECRET},
           "ghcr": {"GITHUB_TOKEN": SECRET, "CI_TAGS_GITHUB_API_URL": ghcr.url}}[kind]
    reg = client.get(fake.host)
    names = ["ci-a", "ci-b", "ci-c", "other"] if kind == "quay" else ["ci-a", "ci/b", "ci-c", "other"]
    for name in names:
        image = push_image(reg, f"{ns}/{name}", "5.0.0")
        reg.put_manifest(f"{ns}/{name}", "keep", image.manifest)
    result = cli("prune", f"{fake.host}/{ns}", "--repo-prefix", "ci", "--tag", "5.0.0", "--backend", kind, "--json",
                 env=env)
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert len(report["removed"]) == 3 and report["counts"]["repositories"] == 3  # every page, prefix kept
    for name in names:
        left = fake.upstream.tags(f"{ns}/{name}")
        assert left == (["5.0.0", "keep"] if name == "other" else ["keep"])


# -- what one service alone does -------------------------------------------------------------------------------------


def test_ghcr_removes_a_tag_that_shares_its_version_without_taking_the_other(ghcr, client, unique):
    owner = unique("someone")  # a user, not an organization: /users/... paths
    path = f"{owner}/app"
    reg = client.get(ghcr.host)
    image = push_image(reg, path, "pipeline-1")
    reg.put_manifest(path, "latest", image.manifest)
    alone = push_image(reg, path, "pipeline-2")
    backend = GhcrBackend(client.http, ghcr.url, reg, SECRET)
    repository = f"{ghcr.host}/{path}"
    assert {r.tag for r in backend.tags(repository)} == {"pipeline-1", "pipeline-2", "latest"}

    backend.delete_tag(repository, "pipeline-1")  # its version holds latest too: untagged by placeholder
    assert ghcr.upstream.tags(path) == ["latest", "pipeline-2"]
    assert ghcr.upstream.digest(path, "latest") == image.manifest.digest
    versions = {v["name"] for v in json.loads(ghcr.api("GET", f"/users/{owner}/packages/container/app/versions",
                                                       {}, {"Authorization": f"Bearer {SECRET}"}, None)[2])}
    assert versions == {image.manifest.digest, alone.manifest.digest}  # the placeholder's version is gone too

    backend.delete_tag(repository, "pipeline-2")  # alone on its version: the version goes
    assert ghcr.upstream.tags(path) == ["latest"] and ghcr.upstream.digest(path, alone.manifest.digest) is None
    assert ghcr.count("DELETE", f"/users/{owner}/packages/container/app/versions/") == 2


def test_harbor_keeps_an_immutable_tag_and_says_why(harbor, client, unique):
    path = f"{unique('proj')}/deep/app"
    reg = client.get(harbor.host)
    push_image(reg, path, "pipeline-1")
    harbor.immutable.add((path, "pipeline-1"))
    backend = HarborBackend(client.http, harbor.url, harbor.host, ROBOT, SECRET)
    with pytest.raises(RegistryError, match="Harbor answered 412"):
        backend.delete_tag(f"{harbor.host}/{path}", "pipeline-1")
    assert harbor.upstream.tags(path) == ["pipeline-1"]
    assert all("deep%252Fapp" in p for m, p in harbor.api_requests)  # the name with / encoded twice


def test_quay_sets_a_tags_expiry_through_its_api(quay, client, unique):
    path = f"{unique('kolla')}/app"
    push_image(client.get(quay.host), path, "pipeline-7")
    backend = QuayBackend(client.http, quay.url, quay.host, SECRET)
    when = datetime.now(timezone.utc) + timedelta(days=7)
    backend.expire(f"{quay.host}/{path}", "pipeline-7", when)
    assert quay.expirations[(path, "pipeline-7")] == int(when.timestamp())


def test_plan_has_quay_expire_the_pipeline_tags_it_makes(quay, client, cli, tmp_path, unique):
    from tests.support.janitor_setup import one_image_project

    ns = unique("kolla")
    config, current = one_image_project(tmp_path)(f"{quay.host}/{ns}")
    with open(config, "a") as f:
        f.write("max_age: 3d\nexpire_pipeline_tags: true\n")
    push_image(client.get(quay.host), f"{ns}/ci", current)  # built already: plan reuses it and tags it
    before = datetime.now(timezone.utc)
    result = cli("plan", "--config", config, "--json", env={"CI_TAGS_PIPELINE_ID": "41", "CI_TAGS_QUAY_TOKEN": SECRET})
    assert result.code == 0, result.err
    assert "pipeline-41" in quay.upstream.tags(f"{ns}/ci")
    expires = datetime.fromtimestamp(quay.expirations[(f"{ns}/ci", "pipeline-41")], timezone.utc)
    after = datetime.now(timezone.utc)
    assert before + timedelta(days=3, seconds=-1) <= expires <= after + timedelta(days=3)
    assert list(quay.expirations) == [(f"{ns}/ci", "pipeline-41")]  # the content tag never expires


def test_expire_pipeline_tags_on_a_registry_that_cannot_expire_tags_is_refused(registry, reg, cli, tmp_path, unique):
    from tests.support.janitor_setup import one_image_project

    ns = unique("team")
    config, current = one_image_project(tmp_path)(f"{registry.host}/{ns}")
    with open(config, "a") as f:
        f.write("expire_pipeline_tags: true\n")
    push_image(reg, f"{ns}/ci", current)
    result = cli("plan", "--config", config, env={"CI_TAGS_PIPELINE_ID": "42"})
    assert result.code != 0 and "cannot expire tags" in result.err
