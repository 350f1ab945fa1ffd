"""``ci-tags janitor`` through Docker Hub's API, and its progress bar.

The Docker Hub server here is a FAKE (tests/support/fake_dockerhub.py): no Docker Hub can run on these
machines, so it replays the routes, status codes and response shapes of the service's API docs. What it
cannot show is how the real service behaves beyond those docs.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ci_tags.core.manifest import ANNOTATION_CREATED, ANNOTATION_KIND
from ci_tags.oci.stamp import stamp
from tests.support.fake_dockerhub import FakeDockerHub, fake_digest
from tests.support.images import push_image
from tests.support.janitor_setup import SIG, ago, content, one_image_project, removal_lines, tags_of_mixed_ages

SECRET = "dckr_pat_janitor-s3cr3t"
HUB_REPO = "linaro/ci"


@pytest.fixture
def project(tmp_path: Path):
    return one_image_project(tmp_path)


# -- Docker Hub ------------------------------------------------------------------------------------------------


@pytest.fixture
def hub_setup(project):
    config, current = project("docker.io/linaro")
    ages, expected = tags_of_mixed_ages(current)
    tags: dict[str, object] = {tag: ago(days) for tag, days in ages.items()}
    # a signature shares the digest of an expired content tag: removing by tag must leave it be. (A publish tag
    # sharing it would keep the content tag: rule in-use, tested below.)
    tags["latest"] = {"tag_last_pushed": ago(60), "digest": fake_digest(HUB_REPO, content(2))}
    tags[SIG] = {"tag_last_pushed": ago(60), "digest": fake_digest(HUB_REPO, content(1))}
    return config, current, tags, expected


@pytest.fixture
def hub(closing):
    """``hub(tags, **behaviour)``: a fake Docker Hub holding ``tags`` in linaro/ci, closed when the test ends."""

    def start(tags: dict[str, object], **kwargs: Any) -> FakeDockerHub:
        fake: FakeDockerHub = closing(FakeDockerHub(
            "linaro-bot", SECRET, {HUB_REPO: dict(tags), "linaro/other": {"x": ago(1)}}, **kwargs))
        return fake

    return start


def hub_janitor(cli, fake: FakeDockerHub, config: str, *more: str):
    env = {"CI_TAGS_REGISTRY_USER": "linaro-bot", "CI_TAGS_REGISTRY_PASSWORD": SECRET}
    return cli("janitor", "--config", config, "--default-branch", "main", "--hub-url", fake.url, *more, env=env)


def test_hub_janitor_removes_exactly_the_expired_owned_tags(hub_setup, hub, cli):
    config, current, tags, expected = hub_setup
    fake = hub(tags)
    dry = hub_janitor(cli, fake, config, "--dry-run", "--json")
    assert dry.code == 0, dry.err
    assert set(fake.repos[HUB_REPO]) == set(tags)  # a dry run removes nothing
    assert fake.count("DELETE", "/") == 0
    planned = set(json.loads(dry.out)["repositories"][0]["removed"])
    assert planned == expected

    real = hub_janitor(cli, fake, config, "--json")
    assert real.code == 0, real.err
    report = json.loads(real.out)["repositories"][0]
    assert report["repository"] == "docker.io/linaro/ci"
    assert set(report["removed"]) == expected == planned  # the dry run said what the real run did
    assert report["failed"] == {} and report["restored"] == [] and report["unreadable"] == {}
    assert set(fake.repos[HUB_REPO]) == set(tags) - expected
    assert fake.repos["linaro/other"]  # another repository is never touched
    kept = report["kept"]
    assert kept[current] == "current" and kept["latest"] == "protected" and kept["main"] == "protected"
    assert kept["5.0.0"] == "foreign" and kept["release-2"] == "foreign" and kept[SIG] == "signature"
    assert kept["pipeline-55"] == kept["pipeline-56"] == "young"
    assert kept[content(2)] == "in-use"  # latest's digest names its image
    for tag in expected:
        assert fake.count("DELETE", f"/v2/repositories/linaro/ci/tags/{tag}/") == 1

    again = hub_janitor(cli, fake, config, "--json")
    assert again.code == 0, again.err
    assert json.loads(again.out)["repositories"][0]["removed"] == []  # a re-run finds nothing to do
    for run in (dry, real, again):
        assert SECRET not in run.out + run.err


def test_hub_dry_run_prints_exactly_what_the_real_run_removes(hub_setup, hub, cli):
    config, _, tags, expected = hub_setup
    fake = hub(tags)
    dry = hub_janitor(cli, fake, config, "--dry-run")
    real = hub_janitor(cli, fake, config, "--debug")
    assert real.code == 0, real.err
    planned = removal_lines(dry.out, "would remove")
    assert planned == removal_lines(real.out, "removed")
    assert len(planned) == len(expected)
    assert "removed docker.io/linaro/ci:pipeline-1 (expired" in planned
    assert "docker.io/linaro/ci:pipeline-1 (expired: tagged 20d" in real.out
    assert "(push) > 7d)" in real.out  # the age comes from the Hub's push time
    assert "Docker Hub API" in real.err
    assert SECRET not in dry.out + dry.err + real.out + real.err  # --debug traces requests, never secrets


def test_hub_rate_limit_on_a_delete_is_waited_out_and_retried(hub_setup, hub, cli):
    config, _, tags, expected = hub_setup
    fake = hub(tags, rate_limit_once_on=("DELETE", "/v2/repositories/linaro/ci/tags/"))
    result = hub_janitor(cli, fake, config, "--json", "--concurrency", "1")
    assert result.code == 0, result.err
    assert set(json.loads(result.out)["repositories"][0]["removed"]) == expected
    assert set(fake.repos[HUB_REPO]) == set(tags) - expected
    deletes = [p for m, p in fake.requests if m == "DELETE"]
    assert len(deletes) == len(expected) + 1 and deletes[0] == deletes[1]  # the 429, then its retry


def test_hub_refused_delete_exits_1_with_a_summary_and_a_rerun_retries_it(hub_setup, hub, cli):
    config, _, tags, expected = hub_setup
    fake = hub(tags, immutable=frozenset({f"{HUB_REPO}:pipeline-1"}))
    result = hub_janitor(cli, fake, config)
    assert result.code == 1
    assert "warning: docker.io/linaro/ci:pipeline-1: Docker Hub denied removing" in result.err
    assert "1 tags could not be removed" in result.err
    assert "docker.io/linaro/ci\t3\t1\t" in result.out  # the report table: 3 removed, 1 failed
    assert set(fake.repos[HUB_REPO]) == set(tags) - expected | {"pipeline-1"}  # the others are gone
    again = hub_janitor(cli, fake, config, "--json")
    assert again.code == 1
    report = json.loads(again.out)["repositories"][0]
    assert report["removed"] == [] and list(report["failed"]) == ["pipeline-1"]


def test_hub_without_credentials_is_refused_before_any_request(hub_setup, hub, cli):
    config, _, tags, _ = hub_setup
    fake = hub(tags)
    result = cli("janitor", "--config", config, "--hub-url", fake.url)
    assert result.code == 2 and "credentials" in result.err
    assert fake.requests == []


# -- the progress bar ------------------------------------------------------------------------------------------


@pytest.fixture
def bars(monkeypatch):
    """Every progress bar opened: [label, total, advances]. (On a terminal it is rich's transient bar.)"""
    from ci_tags.output import Output

    opened: list[list[object]] = []

    @contextmanager
    def progress(self, description, total):
        bar = [description, total, 0]
        opened.append(bar)

        def advance(n=1):
            bar[2] += n

        yield advance

    monkeypatch.setattr(Output, "progress", progress)
    return opened


def test_the_progress_bar_counts_every_removal_through_an_api(hub_setup, hub, cli, bars):
    config, _, tags, expected = hub_setup
    fake = hub(tags)
    assert hub_janitor(cli, fake, config, "--dry-run").code == 0
    assert bars == []  # nothing is removed: no bar
    assert hub_janitor(cli, fake, config).code == 0
    assert bars == [["removing tags of docker.io/linaro/ci", len(expected), len(expected)]]


def test_the_progress_bar_counts_every_removal_on_the_registry_api(reg, registry, cli, bars):
    repo = "janitor/progress"
    image = push_image(reg, repo, content(1), created=ago(1))
    for n in range(25):
        stamp(reg, repo, image.manifest, f"pipeline-{n}",
              {ANNOTATION_KIND: "pipeline", ANNOTATION_CREATED: ago(10 if n < 21 else 1)}, "amd64")
    result = cli("janitor", f"{registry.host}/{repo}", "--backend", "oci")
    assert result.code == 0, result.err
    assert bars == [[f"removing tags of {registry.host}/{repo}", 21, 21]]
    assert len(reg.tags(repo)) == 5


def test_the_listing_after_removal_reports_a_tag_still_there_and_a_kept_tag_gone(hub_setup, hub, cli, monkeypatch):
    """A service that answers a removal without doing it, and someone else removing a kept tag meanwhile: the
    listing after the removals shows both: the removal that did not happen fails the run, the kept tag that
    someone else removed is a warning (a single-tag DELETE cannot have taken it along)."""
    from ci_tags.backends.dockerhub import DockerHubBackend

    config, _, tags, expected = hub_setup
    fake = hub(tags)
    real_delete = DockerHubBackend.delete_tag

    def delete_tag(self, repository, tag):
        if tag == "pipeline-1":
            return  # answered as done, not done
        if tag == "pipeline-2":
            del fake.repos[HUB_REPO]["pipeline-55"]  # a kept tag removed by someone else during the run
        real_delete(self, repository, tag)

    monkeypatch.setattr(DockerHubBackend, "delete_tag", delete_tag)
    result = hub_janitor(cli, fake, config, "--json")
    assert result.code == 1
    report = json.loads(result.out)["repositories"][0]
    assert set(report["removed"]) == expected - {"pipeline-1"}
    assert report["failed"] == {"pipeline-1": "still listed after its removal"}
    assert report["vanished"] == ["pipeline-55"]
    assert "pipeline-55 was kept but is gone: removed by someone else during the run" in result.err
    assert "1 tags could not be removed or checked" in result.err
