"""``ci-tags janitor`` through GitLab's registry API.

The GitLab server here is a FAKE (tests/support/fake_gitlab_registry.py): no GitLab can run on these
machines, so it replays the routes, status codes and response shapes of the service's API docs. What it
cannot show is how the real service behaves beyond those docs. The registry used for
GitLab's undated tags is the real CNCF distribution registry (tests/conftest.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ci_tags.core.manifest import ANNOTATION_CREATED, ANNOTATION_KIND
from ci_tags.oci.stamp import stamp
from tests.support.fake_gitlab_registry import FakeGitLabRegistry, FakeTag, digest_of
from tests.support.images import push_image
from tests.support.janitor_setup import ago, content, one_image_project, removal_lines, tags_of_mixed_ages

GL_TOKEN = "glpat-janitor-s3cr3t"
JOB_TOKEN = "glcbt-janitor-job-s3cr3t"
GL_HOST = "registry.gitlab.example.com"


@pytest.fixture
def project(tmp_path: Path):
    return one_image_project(tmp_path)


# -- GitLab ----------------------------------------------------------------------------------------------------


def gitlab_env(fake: FakeGitLabRegistry, registry_host: str | None = None) -> dict[str, str]:
    return {"GITLAB_CI": "true", "CI_REGISTRY": registry_host or fake.registry_host, "CI_SERVER_URL": fake.url,
            "CI_JOB_TOKEN": JOB_TOKEN,
            "CI_PIPELINE_IID": "57", "CI_COMMIT_BRANCH": "feature/x", "CI_DEFAULT_BRANCH": "main"}


@pytest.fixture
def gl_host(registry) -> str:
    """The job's registry: the real one, where the janitor reads the stamps of publish tags (none here: the
    tags live in the fake API only, so a read finds no stamp, as for a tag another tool made)."""
    return str(registry.host)


@pytest.fixture
def gitlab_setup(project, gl_host):
    """GitLab with the metadata database: ``created_at`` for every tag, ``published_at`` for some."""
    config, current = project(f"{gl_host}/team/app")
    ages, expected = tags_of_mixed_ages(current)
    tags = {tag: FakeTag(digest_of(tag), ago(days)) for tag, days in ages.items()}
    tags["latest"] = FakeTag(digest_of(content(2)), ago(60))  # shares the digest of a young content tag
    tags["feature-x"] = FakeTag(digest_of("x"), ago(30))  # this pipeline's branch slug: protected
    # a content tag whose image is old but which was pushed (published) yesterday: its push time decides
    tags[content(4)] = FakeTag(digest_of(content(4)), ago(90), published_at=ago(1))
    return config, tags, expected


@pytest.fixture
def gitlab(closing):
    """``gitlab(tags, registry_host, **behaviour)``: a fake GitLab whose team/app/ci holds ``tags`` (and
    team/app/other one tag), closed when the test ends."""

    def start(tags: dict[str, FakeTag], registry_host: str = GL_HOST, **kwargs: Any) -> FakeGitLabRegistry:
        fake: FakeGitLabRegistry = closing(FakeGitLabRegistry(
            GL_TOKEN, job_token=JOB_TOKEN, job_project="team/app",
            registry_host=registry_host, **kwargs))
        fake.add_repository("team/app", "ci", dict(tags))
        fake.add_repository("team/app", "other", {"pipeline-1": FakeTag(digest_of("o"), ago(30))})
        return fake

    return start


def gl_janitor(cli, fake: FakeGitLabRegistry, config: str, *more: str):
    return cli("janitor", "--config", config, *more, env=gitlab_env(fake))


def current_of(report: dict[str, Any]) -> str:
    return str(next(tag for tag, why in report["kept"].items() if why == "current"))


def left(fake: FakeGitLabRegistry, name: str = "ci") -> set[str]:
    return set(next(r for r in fake.repositories if r.name == name).tags)


def test_gitlab_janitor_removes_exactly_the_expired_owned_tags_one_by_one(gitlab_setup, gl_host, gitlab, cli):
    config, tags, expected = gitlab_setup
    fake = gitlab(tags, gl_host)
    dry = gl_janitor(cli, fake, config, "--dry-run")
    assert dry.code == 0, dry.err
    assert left(fake) == set(tags) and fake.count("DELETE", ".") == 0

    before = len(fake.requests)
    real = gl_janitor(cli, fake, config, "--json")
    assert real.code == 0, real.err
    detail_re = re.compile(r"/registry/repositories/\d+/tags/[^/?]+$")
    details = [p for m, p in fake.requests[before:] if m == "GET" and detail_re.search(p)]
    report = json.loads(real.out)["repositories"][0]
    assert report["repository"] == f"{gl_host}/team/app/ci"
    assert set(report["removed"]) == expected
    assert sorted(f"removed {gl_host}/team/app/ci:{t} (expired" for t in expected) == removal_lines(
        dry.out, "would remove")  # the dry run printed exactly what the real run removed
    assert left(fake) == set(tags) - expected
    assert left(fake, "other") == {"pipeline-1"}  # not named in ci-tags.yml: untouched
    assert report["kept"][content(4)] == "young"  # published yesterday, though its image is 90 days old
    assert report["kept"]["feature-x"] == report["kept"]["main"] == report["kept"]["latest"] == "protected"
    assert fake.count("DELETE", r"/tags(\?.*)?$") == 0  # never the asynchronous bulk delete
    assert fake.count("DELETE", r"/tags/[^/?]+$") == len(expected)
    # a tag's detail (its dates) is read at most once, and only where its age can decide it: never for a
    # publish, foreign or current tag; the check after removal needs the listing alone
    assert sorted(details) == sorted(set(details)) and len(details) < len(tags)
    read = {p.rsplit("/", 1)[1] for p in details}
    assert not read & {"latest", "main", "feature-x", "5.0.0", "release-2", current_of(report)}
    assert expected <= read  # a tag is removed only on its own date

    again = gl_janitor(cli, fake, config, "--json")
    assert again.code == 0, again.err
    assert json.loads(again.out)["repositories"][0]["removed"] == []
    for run in (dry, real, again):
        assert JOB_TOKEN not in run.out + run.err and GL_TOKEN not in run.out + run.err


def test_gitlab_rate_limit_is_waited_out_and_retried(gitlab_setup, gl_host, gitlab, cli):
    config, tags, expected = gitlab_setup
    fake = gitlab(tags, gl_host, rate_limit_once_on=("DELETE", r"/tags/pipeline-1$"))
    result = gl_janitor(cli, fake, config, "--json")
    assert result.code == 0, result.err
    assert set(json.loads(result.out)["repositories"][0]["removed"]) == expected
    assert fake.count("DELETE", r"/tags/pipeline-1$") == 2  # the 429, then its retry
    assert left(fake) == set(tags) - expected


def test_gitlab_protected_tag_fails_with_exit_1_and_a_summary(gitlab_setup, gl_host, gitlab, cli):
    config, tags, expected = gitlab_setup
    tags["pipeline-2"] = FakeTag(digest_of("pipeline-2"), ago(8), protected=True)
    fake = gitlab(tags, gl_host)
    result = gl_janitor(cli, fake, config)
    assert result.code == 1
    assert f"warning: {gl_host}/team/app/ci:pipeline-2: GitLab denied" in result.err
    assert "1 tags could not be removed" in result.err
    assert left(fake) == set(tags) - expected | {"pipeline-2"}


def test_gitlab_without_dates_reads_the_stamps_through_the_registry(reg, registry, project, closing, cli):
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
        "latest": FakeTag(digest_of("an image of another repository"), None),
    }
    fake = closing(FakeGitLabRegistry(GL_TOKEN, registry_host=registry.host, job_token=JOB_TOKEN,
                                      job_project="team/app"))
    fake.add_repository("team/app", "ci", tags)
    result = cli("janitor", "--config", config, "--json", env=gitlab_env(fake, registry.host))
    assert result.code == 0, result.err
    report = json.loads(result.out)["repositories"][0]
    assert sorted(report["removed"]) == [content(1), "pipeline-1"]
    assert report["kept"]["pipeline-55"] == "young"
    assert report["kept"][content(2)] == "in-use"  # pipeline-55's stamp (read from the registry) names it
    assert report["kept"]["pipeline-9"] == "age-unknown"
    assert left(fake) == {content(2), "pipeline-55", "pipeline-9", "latest"}
    assert current not in tags


def test_gitlab_keeps_the_content_tag_that_latest_was_published_from(reg, registry, project, closing, cli):
    """A branch pipeline whose Dockerfile changed: main's content tag is a month old and not current here, but
    latest's stamp (read through the registry API: GitLab's API lists only latest's own digest) names it."""
    from ci_tags.core.manifest import ANNOTATION_CONTENT_TAG

    config, _ = project(f"{registry.host}/team/app")
    repo = "team/app/ci"
    mains = push_image(reg, repo, content(7), created=ago(30))
    published = stamp(reg, repo, mains.manifest, "latest", {ANNOTATION_KIND: "publish", ANNOTATION_CREATED: ago(30),
                                                              ANNOTATION_CONTENT_TAG: content(7)}, "amd64")
    tags = {content(7): FakeTag(mains.manifest.digest, ago(30)), "latest": FakeTag(published.digest, ago(30)),
            content(8): FakeTag(digest_of(content(8)), ago(30))}
    fake = closing(FakeGitLabRegistry(GL_TOKEN, registry_host=registry.host, job_token=JOB_TOKEN,
                                      job_project="team/app"))
    fake.add_repository("team/app", "ci", tags)
    result = cli("janitor", "--config", config, "--json", env=gitlab_env(fake, registry.host))
    assert result.code == 0, result.err
    report = json.loads(result.out)["repositories"][0]
    assert report["removed"] == [content(8)]
    assert report["kept"][content(7)] == "in-use"
    assert left(fake) == {content(7), "latest"}


def test_gitlab_steady_state_reads_the_detail_of_the_oldest_pipeline_tag_alone(project, gl_host, gitlab, cli):
    """GitLab's tag listing carries no dates: a detail request per tag would cost every pipeline as many
    requests as tags. Pipeline numbers order the tags: with nothing to remove, one detail is read."""
    config, current = project(f"{gl_host}/team/app")
    tags = {f"pipeline-{n}": FakeTag(digest_of(str(n)), ago(6 - n * 0.1)) for n in range(50)}
    tags[current] = FakeTag(digest_of(current), ago(40))
    tags["latest"] = FakeTag(digest_of(current), ago(40))
    fake = gitlab(tags, gl_host)
    before = len(fake.requests)
    result = gl_janitor(cli, fake, config, "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)["repositories"][0]
    assert report["removed"] == [] and report["kept"]["pipeline-49"] == "young"
    detail_re = re.compile(r"/registry/repositories/\d+/tags/[^/?]+$")
    details = [p for m, p in fake.requests[before:] if m == "GET" and detail_re.search(p)]
    assert [p.rsplit("/", 1)[1] for p in details] == ["pipeline-0"]


def test_gitlab_without_dates_steady_state_reads_one_detail_and_one_stamp(reg, registry, project, closing, cli):
    """Without the metadata database GitLab dates no index, so a pipeline tag's age is its stamp, read through
    the registry API: in the steady state that of the oldest pipeline tag alone."""
    config, current = project(f"{registry.host}/team/steady")
    repo = "team/steady/ci"
    image = push_image(reg, repo, current, created=ago(2))
    tags = {current: FakeTag(image.manifest.digest, None)}
    for n in range(30):
        made = stamp(reg, repo, image.manifest, f"pipeline-{n}",
                     {ANNOTATION_KIND: "pipeline", ANNOTATION_CREATED: ago(6 - n * 0.1)}, "amd64")
        tags[f"pipeline-{n}"] = FakeTag(made.digest, None)
    fake = closing(FakeGitLabRegistry(GL_TOKEN, registry_host=registry.host, job_token=JOB_TOKEN,
                                      job_project="team/steady"))
    fake.add_repository("team/steady", "ci", tags)
    before, mark = len(fake.requests), registry.mark()
    result = cli("janitor", "--config", config, "--json", env=gitlab_env(fake, registry.host))
    assert result.code == 0, result.err
    assert json.loads(result.out)["repositories"][0]["removed"] == []
    detail_re = re.compile(r"/registry/repositories/\d+/tags/[^/?]+$")
    details = [p.rsplit("/", 1)[1] for m, p in fake.requests[before:] if m == "GET" and detail_re.search(p)]
    assert details == ["pipeline-0"]
    manifests = [r.uri for r in registry.since(mark) if "/manifests/" in r.uri]
    assert manifests == [f"/v2/{repo}/manifests/pipeline-0"]
