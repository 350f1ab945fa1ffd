"""``ci-tags janitor`` through Quay's, Harbor's and GitHub's own APIs, each a FAKE of the service's published API
(tests/support/fake_*_front.py; none of these services can run here) in front of the real distribution registry,
on the same host: ages come from the service's tag dates, never from the image's creation; removal goes through
the service's API (no placeholder manifest on Quay and Harbor); a dry run writes nothing; a refused token exits 3
without showing it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from tests.support.fake_ghcr_front import FakeGhcrFront
from tests.support.fake_harbor_front import FakeHarborFront
from tests.support.fake_quay_front import FakeQuayFront
from tests.support.images import push_image
from tests.support.service_front import ServiceFront

SECRET = "svc-s3cr3t-token-never-shown"
ROBOT = "robot$ci"
NOW = datetime.now(timezone.utc)
OLD_IMAGE_PUSHED_YESTERDAY = "hash-" + "a" * 64
NEW_IMAGE_PUSHED_LONG_AGO = "hash-" + "b" * 64


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def stamp(days: float) -> str:
    return days_ago(days).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Service:
    name: str
    fake: ServiceFront
    repository: str  # host/path
    env: dict[str, str]
    wrong_env: dict[str, str]
    delete_path: str  # what an API removal's path holds


def quay(upstream: str, unique: Callable[[str], str]) -> Service:
    fake = FakeQuayFront(upstream, SECRET, page_cap=2)
    ns = unique("kolla")
    return Service("quay", fake, f"{fake.host}/{ns}/app", {"CI_TAGS_QUAY_TOKEN": SECRET},
                   {"CI_TAGS_QUAY_TOKEN": "wrong-" + SECRET}, f"/api/v1/repository/{ns}/app/tag/")


def harbor(upstream: str, unique: Callable[[str], str]) -> Service:
    fake = FakeHarborFront(upstream, ROBOT, SECRET, page_cap=2)
    project = unique("proj")
    creds = {"CI_TAGS_REGISTRY_USER": ROBOT}
    return Service("harbor", fake, f"{fake.host}/{project}/team/app", {**creds, "CI_TAGS_REGISTRY_PASSWORD": SECRET},
                   {**creds, "CI_TAGS_REGISTRY_PASSWORD": "wrong-" + SECRET},
                   f"/api/v2.0/projects/{project}/repositories/team%252Fapp/artifacts/")


def ghcr(upstream: str, unique: Callable[[str], str]) -> Service:
    fake = FakeGhcrFront(upstream, SECRET, page_cap=2)
    org = unique("linaro")
    fake.orgs.add(org)
    api = {"CI_TAGS_GITHUB_API_URL": fake.url}
    return Service("ghcr", fake, f"{fake.host}/{org}/ci/app", {**api, "GITHUB_TOKEN": SECRET},
                   {**api, "CI_TAGS_GITHUB_TOKEN": "wrong-" + SECRET},
                   f"/orgs/{org}/packages/container/ci%2Fapp/versions/")


@pytest.fixture(params=[quay, harbor, ghcr], ids=["quay", "harbor", "ghcr"])
def service(request, registry, unique, client):
    svc: Service = request.param(registry.url, unique)
    reg = client.get(svc.fake.host)
    path = svc.repository.split("/", 1)[1]
    tags = {  # tag -> (image created, tag pushed), in days ago
        OLD_IMAGE_PUSHED_YESTERDAY: (60, 1), NEW_IMAGE_PUSHED_LONG_AGO: (1, 20),
        "pipeline-3": (30, 20), "pipeline-9": (30, 1), "latest": (60, 60), "5.0.0": (60, 60),
    }
    for tag, (created, pushed) in tags.items():
        image = push_image(reg, path, tag, created=stamp(created))
        svc.fake.pushed[(path, tag)] = days_ago(pushed)
        svc.fake.created[image.manifest.digest] = days_ago(pushed)  # the service first saw it with that push
    svc.fake.front.seen.clear()
    svc.fake.api_requests.clear()
    yield svc
    svc.fake.close()


def janitor(cli, svc: Service, *more: str, env: dict[str, str] | None = None):
    return cli("janitor", svc.repository, "--backend", svc.name, "--max-age", "7d", "--json", *more,
               env=env or svc.env)


def test_janitor_dates_tags_by_the_service_and_removes_through_its_api(service, cli):
    dry = janitor(cli, service, "--dry-run")
    assert dry.code == 0, dry.err
    planned = json.loads(dry.out)["repositories"][0]
    assert sorted(planned["removed"]) == [NEW_IMAGE_PUSHED_LONG_AGO, "pipeline-3"]
    assert service.fake.count("DELETE") == 0 and service.fake.registry_writes() == []  # a dry run writes nothing

    real = janitor(cli, service)
    assert real.code == 0, real.err
    report = json.loads(real.out)["repositories"][0]
    assert sorted(report["removed"]) == sorted(planned["removed"])  # the dry run said what the real run did
    assert report["kept"][OLD_IMAGE_PUSHED_YESTERDAY] == "young"  # pushed yesterday, whatever the image's age
    assert report["kept"]["pipeline-9"] == "young"
    path = service.repository.split("/", 1)[1]
    left = set(service.fake.upstream.tags(path))
    assert left == {OLD_IMAGE_PUSHED_YESTERDAY, "pipeline-9", "latest", "5.0.0"}
    assert service.fake.count("DELETE", service.delete_path) >= 2  # through the service's API
    assert service.fake.registry_writes() == []  # no placeholder manifest written (GHCR: each its own version)
    assert SECRET not in real.out + real.err


def test_a_refused_token_exits_3_naming_the_service_without_showing_the_token(service, cli):
    result = janitor(cli, service, env=service.wrong_env)
    assert result.code == 3, result.err
    assert {"quay": "Quay", "harbor": "Harbor", "ghcr": "GitHub"}[service.name] in result.err
    assert SECRET not in result.out + result.err
    assert service.fake.count("DELETE") == 0
