"""A backend is one module and one row of the backend table: the Quay backend (ci_tags/backends/quay.py, over a
fake of Quay's API alone, tests/support/fake_quay.py), its row given another host here, is picked by ``--backend
auto`` for that host, is a choice of ``--backend``, and janitor and prune work through it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from ci_tags.backends import BACKENDS, BackendSpec, Capability, Where, backend_for, kinds
from tests.support.fake_quay import FakeQuay

HOST = "quay.example.test"  # the registry host the test's row names
TOKEN = "quay-oauth-secret"
NOW = datetime.now(timezone.utc)
CONTENT = "hash-" + "1" * 64


@pytest.fixture
def quay(monkeypatch):
    monkeypatch.setitem(BACKENDS, "quay", BackendSpec(
        "quay", "ci_tags.backends.quay", "Quay API",
        Capability.LISTS_NAMESPACES | Capability.DATES_TAGS | Capability.DELETES_BY_TAG, frozenset({HOST})))
    repos = {
        "team/app": {"pipeline-1": NOW - timedelta(days=20), "pipeline-2": NOW - timedelta(days=9),
                     "pipeline-3": NOW - timedelta(days=1), CONTENT: NOW - timedelta(days=30),
                     "latest": NOW - timedelta(days=60), "5.0.0": NOW - timedelta(days=60)},
        "team/tools": {"5.0.0": NOW - timedelta(days=60), "latest": NOW - timedelta(days=60)},
        "team/web": {"latest": NOW - timedelta(days=60)},
    }
    fake = FakeQuay(TOKEN, repos)
    yield fake
    fake.close()


def env(fake: FakeQuay) -> dict[str, str]:
    return {"CI_TAGS_QUAY_URL": fake.url, "CI_TAGS_QUAY_TOKEN": TOKEN}


def test_a_backend_in_the_table_is_a_choice_and_auto_picks_it_for_its_host(quay, client):
    assert "quay" in kinds()
    assert backend_for("auto", Where(HOST, client, env(quay))).name == "quay"
    assert backend_for("auto", Where("registry.example.com", client, env(quay))).name == "oci"


def test_janitor_cleans_through_a_backend_added_by_the_table(quay, cli):
    dry = cli("janitor", f"{HOST}/team/app", "--dry-run", env=env(quay))
    assert dry.code == 0, dry.err
    assert f"{HOST}: tags listed, dated and removed through the Quay API" in dry.err
    real = cli("janitor", f"{HOST}/team/app", "--backend", "quay", "--json", env=env(quay))
    assert real.code == 0, real.err
    report = json.loads(real.out)["repositories"][0]
    assert sorted(report["removed"]) == [CONTENT, "pipeline-1", "pipeline-2"]
    assert sorted(quay.repos["team/app"]) == ["5.0.0", "latest", "pipeline-3"]
    assert report["kept"] == {"5.0.0": "foreign", "latest": "protected", "pipeline-3": "young"}
    assert TOKEN not in real.out + real.err


def test_prune_works_through_a_backend_added_by_the_table(quay, cli):
    result = cli("prune", f"{HOST}/team", "--tag", "5.0.0", env=env(quay))
    assert result.code == 0, result.err
    assert sorted(line for line in result.out.splitlines() if line.endswith(" removed")) == [
        f"{HOST}/team/app:5.0.0 removed", f"{HOST}/team/tools:5.0.0 removed"]
    assert "2 removed, 1 without 5.0.0, 0 failed, of 3 repositories" in result.out
    assert all("5.0.0" not in tags for tags in quay.repos.values())
