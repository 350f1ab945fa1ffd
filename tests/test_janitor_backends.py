"""``ci-tags janitor`` through Docker Hub's API and GitLab's registry API.

The Docker Hub and GitLab servers here are FAKES (tests/support/fake_dockerhub.py, fake_gitlab_registry.py): no
Docker Hub or GitLab can run on these machines, so they replay the routes, status codes and response shapes of
the services' API docs. What they cannot show is how the real services behave beyond those docs. The registry
used for GitLab's undated tags is the real CNCF distribution registry (tests/conftest.py).
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ci_tags.registry.manifest import ANNOTATION_CREATED, ANNOTATION_KIND
from ci_tags.registry.stamp import stamp
from tests.support.fake_dockerhub import FakeDockerHub, fake_digest
from tests.support.fake_gitlab_registry import FakeGitLabRegistry, FakeTag, digest_of
from tests.support.images import push_image

SECRET = "dckr_pat_janitor-s3cr3t"
GL_TOKEN = "glpat-janitor-s3cr3t"
JOB_TOKEN = "glcbt-janitor-job-s3cr3t"
HUB_REPO = "linaro/ci"
GL_HOST = "registry.gitlab.example.com"
SIG = f"sha256-{'c' * 64}.sig"


def ago(days: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def content(n: int) -> str:
    return f"hash-{n:02d}" + "0" * 62


@pytest.fixture
def project(tmp_path: Path):
    """A ci-tags.yml with one image; returns a function: registry -> (config path, the current content tag)."""
    from ci_tags.config import load_config
    from ci_tags.imageset import resolve

    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY a.txt /a.txt\n")
    (tmp_path / "a.txt").write_text("a\n")

    def make(registry: str) -> tuple[str, str]:
        config = tmp_path / "ci-tags.yml"
        config.write_text(f"registry: {registry}\nimages:\n  ci:\n    dockerfile: Dockerfile\npublish: [latest]\n")
        (current,) = {i.content_tag for i in resolve(load_config(config, {}))}
        return str(config), current

    return make


def tags_of_mixed_ages(current: str) -> tuple[dict[str, float], set[str]]:
    """tag -> age in days, and the tags the janitor must remove (older than 7 days, owned, not kept)."""
    ages = {
        current: 40,  # current content tag: kept at any age
        content(1): 30, content(2): 2, content(3) + "-arm64": 20,
        "pipeline-1": 20, "pipeline-2": 8, "pipeline-55": 1, "pipeline-56": 6.5,
        "latest": 60, "main": 60, "5.0.0": 60, "release-2": 60, SIG: 60,
    }
    return ages, {content(1), content(3) + "-arm64", "pipeline-1", "pipeline-2"}


def removal_lines(text: str, verb: str) -> list[str]:
    """``removed REPO:TAG (reason`` of each removal line: the age in the detail moves on between two runs."""
    return sorted(line.replace(verb, "removed", 1).split(": ")[0] for line in text.splitlines()
                  if line.startswith(verb))


# -- Docker Hub ------------------------------------------------------------------------------------------------


@pytest.fixture
def hub_setup(project):
    config, current = project("docker.io/linaro")
    ages, expected = tags_of_mixed_ages(current)
    tags: dict[str, object] = {tag: ago(days) for tag, days in ages.items()}
    # latest and a signature share the digest of an expired content tag: removing by tag must leave them be
    tags["latest"] = {"tag_last_pushed": ago(60), "digest": fake_digest(HUB_REPO, content(1))}
    tags[SIG] = {"tag_last_pushed": ago(60), "digest": fake_digest(HUB_REPO, content(1))}
    return config, current, tags, expected


def hub(tags: dict[str, object], **kwargs: object) -> FakeDockerHub:
    return FakeDockerHub("linaro-bot", SECRET, {HUB_REPO: dict(tags), "linaro/other": {"x": ago(1)}}, **kwargs)


def hub_janitor(cli, fake: FakeDockerHub, config: str, *more: str):
    env = {"CI_TAGS_REGISTRY_USER": "linaro-bot", "CI_TAGS_REGISTRY_PASSWORD": SECRET}
    return cli("janitor", "--config", config, "--default-branch", "main", "--hub-url", fake.url, *more, env=env)


def test_hub_janitor_removes_exactly_the_expired_owned_tags(hub_setup, cli):
    config, current, tags, expected = hub_setup
    fake = hub(tags)
    try:
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
        assert kept[content(2)] == kept["pipeline-55"] == kept["pipeline-56"] == "young"
        for tag in expected:
            assert fake.count("DELETE", f"/v2/repositories/linaro/ci/tags/{tag}/") == 1

        again = hub_janitor(cli, fake, config, "--json")
        assert again.code == 0, again.err
        assert json.loads(again.out)["repositories"][0]["removed"] == []  # a re-run finds nothing to do
        for run in (dry, real, again):
            assert SECRET not in run.out + run.err
    finally:
        fake.close()


def test_hub_dry_run_prints_exactly_what_the_real_run_removes(hub_setup, cli):
    config, _, tags, expected = hub_setup
    fake = hub(tags)
    try:
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
    finally:
        fake.close()


def test_hub_rate_limit_on_a_delete_is_waited_out_and_retried(hub_setup, cli):
    config, _, tags, expected = hub_setup
    fake = hub(tags, rate_limit_once_on=("DELETE", "/v2/repositories/linaro/ci/tags/"))
    try:
        result = hub_janitor(cli, fake, config, "--json", "--concurrency", "1")
        assert result.code == 0, result.err
        assert set(json.loads(result.out)["repositories"][0]["removed"]) == expected
        assert set(fake.repos[HUB_REPO]) == set(tags) - expected
        deletes = [p for m, p in fake.requests if m == "DELETE"]
        assert len(deletes) == len(expected) + 1 and deletes[0] == deletes[1]  # the 429, then its retry
    finally:
        fake.close()


def test_hub_refused_delete_exits_1_with_a_summary_and_a_rerun_retries_it(hub_setup, cli):
    config, _, tags, expected = hub_setup
    fake = hub(tags, immutable=frozenset({f"{HUB_REPO}:pipeline-1"}))
    try:
        result = hub_janitor(cli, fake, config)
        assert result.code == 1
        assert "warning: docker.io/linaro/ci:pipeline-1: Docker Hub refused" in result.err
        assert "1 tags could not be removed" in result.err
        assert "docker.io/linaro/ci\t3\t1\t" in result.out  # the report table: 3 removed, 1 failed
        assert set(fake.repos[HUB_REPO]) == set(tags) - expected | {"pipeline-1"}  # the others are gone
        again = hub_janitor(cli, fake, config, "--json")
        assert again.code == 1
        report = json.loads(again.out)["repositories"][0]
        assert report["removed"] == [] and list(report["failed"]) == ["pipeline-1"]
    finally:
        fake.close()


def test_hub_without_credentials_is_refused_before_any_request(hub_setup, cli):
    config, _, tags, _ = hub_setup
    fake = hub(tags)
    try:
        result = cli("janitor", "--config", config, "--hub-url", fake.url)
        assert result.code == 2 and "credentials" in result.err
        assert fake.requests == []
    finally:
        fake.close()


# -- GitLab ----------------------------------------------------------------------------------------------------


def gitlab_env(fake: FakeGitLabRegistry, registry_host: str = GL_HOST) -> dict[str, str]:
    return {"GITLAB_CI": "true", "CI_REGISTRY": registry_host, "CI_SERVER_URL": fake.url, "CI_JOB_TOKEN": JOB_TOKEN,
            "CI_PIPELINE_IID": "57", "CI_COMMIT_BRANCH": "feature/x", "CI_DEFAULT_BRANCH": "main"}


@pytest.fixture
def gitlab_setup(project):
    """GitLab with the metadata database: ``created_at`` for every tag, ``published_at`` for some."""
    config, current = project(f"{GL_HOST}/team/app")
    ages, expected = tags_of_mixed_ages(current)
    tags = {tag: FakeTag(digest_of(tag), ago(days)) for tag, days in ages.items()}
    tags["latest"] = FakeTag(digest_of(content(1)), ago(60))  # shares the digest of an expired content tag
    tags["feature-x"] = FakeTag(digest_of("x"), ago(30))  # this pipeline's branch slug: protected
    # a content tag whose image is old but which was pushed (published) yesterday: its push time decides
    tags[content(4)] = FakeTag(digest_of(content(4)), ago(90), published_at=ago(1))
    return config, tags, expected


def gitlab(tags: dict[str, FakeTag], **kwargs: object) -> FakeGitLabRegistry:
    fake = FakeGitLabRegistry(GL_TOKEN, job_token=JOB_TOKEN, job_project="team/app", **kwargs)  # type: ignore[arg-type]
    fake.add_repository("team/app", "ci", dict(tags))
    fake.add_repository("team/app", "other", {"pipeline-1": FakeTag(digest_of("o"), ago(30))})
    return fake


def gl_janitor(cli, fake: FakeGitLabRegistry, config: str, *more: str):
    return cli("janitor", "--config", config, *more, env=gitlab_env(fake))


def left(fake: FakeGitLabRegistry, name: str = "ci") -> set[str]:
    return set(next(r for r in fake.repositories if r.name == name).tags)


def test_gitlab_janitor_removes_exactly_the_expired_owned_tags_one_by_one(gitlab_setup, cli):
    config, tags, expected = gitlab_setup
    fake = gitlab(tags)
    try:
        dry = gl_janitor(cli, fake, config, "--dry-run")
        assert dry.code == 0, dry.err
        assert left(fake) == set(tags) and fake.count("DELETE", ".") == 0

        before = len(fake.requests)
        real = gl_janitor(cli, fake, config, "--json")
        assert real.code == 0, real.err
        detail_re = re.compile(r"/registry/repositories/\d+/tags/[^/?]+$")
        details = [p for m, p in fake.requests[before:] if m == "GET" and detail_re.search(p)]
        report = json.loads(real.out)["repositories"][0]
        assert report["repository"] == f"{GL_HOST}/team/app/ci"
        assert set(report["removed"]) == expected
        assert sorted(f"removed {GL_HOST}/team/app/ci:{t} (expired" for t in expected) == removal_lines(
            dry.out, "would remove")  # the dry run printed exactly what the real run removed
        assert left(fake) == set(tags) - expected
        assert left(fake, "other") == {"pipeline-1"}  # not named in ci-tags.yml: untouched
        assert report["kept"][content(4)] == "young"  # published yesterday, though its image is 90 days old
        assert report["kept"]["feature-x"] == report["kept"]["main"] == report["kept"]["latest"] == "protected"
        assert fake.count("DELETE", r"/tags(\?.*)?$") == 0  # never the asynchronous bulk delete
        assert fake.count("DELETE", r"/tags/[^/?]+$") == len(expected)
        # each tag's detail (its dates) is read once; the check after removal needs the listing alone
        assert sorted(details) == sorted(set(details)) and len(details) == len(tags)

        again = gl_janitor(cli, fake, config, "--json")
        assert again.code == 0, again.err
        assert json.loads(again.out)["repositories"][0]["removed"] == []
        for run in (dry, real, again):
            assert JOB_TOKEN not in run.out + run.err and GL_TOKEN not in run.out + run.err
    finally:
        fake.close()


def test_gitlab_rate_limit_is_waited_out_and_retried(gitlab_setup, cli):
    config, tags, expected = gitlab_setup
    fake = gitlab(tags, rate_limit_once_on=("DELETE", r"/tags/pipeline-1$"))
    try:
        result = gl_janitor(cli, fake, config, "--json")
        assert result.code == 0, result.err
        assert set(json.loads(result.out)["repositories"][0]["removed"]) == expected
        assert fake.count("DELETE", r"/tags/pipeline-1$") == 2  # the 429, then its retry
        assert left(fake) == set(tags) - expected
    finally:
        fake.close()


def test_gitlab_protected_tag_fails_with_exit_1_and_a_summary(gitlab_setup, cli):
    config, tags, expected = gitlab_setup
    tags["pipeline-2"] = FakeTag(digest_of("pipeline-2"), ago(8), protected=True)
    fake = gitlab(tags)
    try:
        result = gl_janitor(cli, fake, config)
        assert result.code == 1
        assert f"warning: {GL_HOST}/team/app/ci:pipeline-2: GitLab denied" in result.err
        assert "1 tags could not be removed" in result.err
        assert left(fake) == set(tags) - expected | {"pipeline-2"}
    finally:
        fake.close()


def test_gitlab_without_dates_reads_the_stamps_through_the_registry(reg, registry, project, cli):
    """GitLab without the metadata database answers ``created_at: null`` for an index: pipeline tags are then
    dated by ci-tags' stamp and content tags by the image config, read from the (real) registry."""
    config, current = project(f"{registry.host}/team/app")
    repo = "team/app/ci"
    old = push_image(reg, repo, content(1), created=ago(30))
    young = push_image(reg, repo, content(2), created=ago(2))
    for tag, days in {"pipeline-1": 20, "pipeline-55": 1}.items():
        stamp(reg, repo, young.manifest, tag, {ANNOTATION_KIND: "pipeline", ANNOTATION_CREATED: ago(days)}, "amd64")
    tags = {
        content(1): FakeTag(old.manifest.digest, None),
        content(2): FakeTag(young.manifest.digest, None),
        "pipeline-1": FakeTag(digest_of("p1"), None),
        "pipeline-55": FakeTag(digest_of("p55"), None),
        "pipeline-9": FakeTag(digest_of("p9"), None),  # not in the registry: its age stays unknown
        "latest": FakeTag(old.manifest.digest, None),
    }
    fake = FakeGitLabRegistry(GL_TOKEN, registry_host=registry.host, job_token=JOB_TOKEN, job_project="team/app")
    fake.add_repository("team/app", "ci", tags)
    try:
        result = cli("janitor", "--config", config, "--json", env=gitlab_env(fake, registry.host))
        assert result.code == 0, result.err
        report = json.loads(result.out)["repositories"][0]
        assert sorted(report["removed"]) == [content(1), "pipeline-1"]
        assert report["kept"]["pipeline-55"] == report["kept"][content(2)] == "young"
        assert report["kept"]["pipeline-9"] == "age-unknown"
        assert left(fake) == {content(2), "pipeline-55", "pipeline-9", "latest"}
        assert current not in tags
    finally:
        fake.close()


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


def test_the_progress_bar_counts_every_removal_through_an_api(hub_setup, cli, bars):
    config, _, tags, expected = hub_setup
    fake = hub(tags)
    try:
        assert hub_janitor(cli, fake, config, "--dry-run").code == 0
        assert bars == []  # nothing is removed: no bar
        assert hub_janitor(cli, fake, config).code == 0
        assert bars == [["removing tags of docker.io/linaro/ci", len(expected), len(expected)]]
    finally:
        fake.close()


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


def test_the_listing_after_removal_reports_a_tag_still_there_and_a_kept_tag_gone(hub_setup, cli, monkeypatch):
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
    try:
        result = hub_janitor(cli, fake, config, "--json")
        assert result.code == 1
        report = json.loads(result.out)["repositories"][0]
        assert set(report["removed"]) == expected - {"pipeline-1"}
        assert report["failed"] == {"pipeline-1": "still listed after its removal"}
        assert report["vanished"] == ["pipeline-55"]
        assert "pipeline-55 was kept but is gone: removed by someone else during the run" in result.err
        assert "1 tags could not be removed or checked" in result.err
    finally:
        fake.close()
