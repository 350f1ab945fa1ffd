"""The GitLab backend (GitLab's registry REST API through python-gitlab) against a fake that replays the response
shapes of GitLab's API docs: no GitLab can run here (see tests/support/fake_gitlab_registry.py)."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import pytest

from ci_tags.backends.gitlab import GitLabBackend
from ci_tags.errors import AuthError, NotFound
from tests.support.fake_gitlab_registry import FakeGitLabRegistry, FakeTag, digest_of

GL_TOKEN = "glpat-s3cr3t-token-never-printed"
JOB_TOKEN = "glcbt-job-s3cr3t-never-printed"
UTC = timezone.utc


def gitlab_fake(**kwargs) -> FakeGitLabRegistry:
    fake = FakeGitLabRegistry(GL_TOKEN, job_token=JOB_TOKEN, job_project="team/app", **kwargs)
    content = digest_of("content")
    fake.add_repository("team/app", "", {"latest": FakeTag(content, "2026-01-01T00:00:00.000+00:00")})
    for i in range(120):
        fake.add_repository("team/app", f"ci-{i:03d}", {"5.0.0": FakeTag(content, "2026-01-01T00:00:00Z")})
    fake.add_repository("team/app", "tools", {"5.0.0": FakeTag(content, "2026-01-01T00:00:00Z")})
    fake.add_repository("team/sub/lib", "ci-x", {"5.0.0": FakeTag(content, "2026-01-01T00:00:00Z")})
    fake.add_repository("other/app", "ci-000", {"5.0.0": FakeTag(content, "2026-01-01T00:00:00Z")})
    tags = {f"t{i:03d}": FakeTag(digest_of(f"t{i}"), "2025-11-01T00:00:00.000+00:00") for i in range(130)}
    # a pipeline tag copied today onto a month-old image: created_at is the image's, published_at the push's
    tags["pipeline-9"] = FakeTag(content, "2025-12-01T08:00:00.000+00:00", "2026-01-02T09:30:00.500+00:00")
    tags["hash-1"] = FakeTag(content, "2025-12-01T08:00:00.000+00:00")  # a GitLab without published_at
    tags["release"] = FakeTag(content, "2025-12-01T08:00:00.000+00:00", protected=True)
    fake.add_repository("team/app", "big", tags)
    return fake


@pytest.fixture
def gl():
    fake = gitlab_fake()
    yield fake
    fake.close()


def test_gitlab_group_repositories_page_and_filter_by_prefix(gl):
    backend = GitLabBackend(gl.url, GL_TOKEN)
    found = backend.repositories("team", "app/ci-")
    assert len(found) == 120 and found[0] == "registry.gitlab.example.com/team/app/ci-000"
    assert gl.count("GET", r"/groups/team/registry/repositories") == 2  # 124 over pages of 100
    everything = backend.repositories("team", "")
    assert "registry.gitlab.example.com/team/app" in everything  # the project's root image
    assert "registry.gitlab.example.com/team/sub/lib/ci-x" in everything  # subgroups are included
    assert not any("/other/" in r for r in everything)


def test_gitlab_project_namespace_falls_back_to_the_project_registry(gl):
    backend = GitLabBackend(gl.url, GL_TOKEN)
    found = backend.repositories("team/app", "ci-")
    assert len(found) == 120 and "registry.gitlab.example.com/team/app/tools" not in found
    assert gl.count("GET", r"/projects/team%2Fapp/registry/repositories") == 2


def test_gitlab_tags_page_and_prefer_published_at_over_created_at(gl):
    backend = GitLabBackend(gl.url, GL_TOKEN)
    tags = {t.tag: t for t in backend.tags("registry.gitlab.example.com/team/app/big")}
    assert len(tags) == 133
    assert gl.count("GET", r"/registry/repositories/\d+/tags\?") == 2  # the listing, over two pages
    assert gl.count("GET", r"/registry/repositories/\d+/tags/[^/?]+$") == 133  # one detail each
    piped = tags["pipeline-9"]
    assert piped.pushed_at == datetime(2026, 1, 2, 9, 30, 0, 500000, tzinfo=UTC)
    assert piped.created_at == datetime(2025, 12, 1, 8, 0, tzinfo=UTC)
    assert piped.digest == digest_of("content")
    assert tags["hash-1"].pushed_at is None  # created_at is no push time: the tag's age stays unknown
    assert tags["hash-1"].created_at == datetime(2025, 12, 1, 8, 0, tzinfo=UTC)
    assert tags["t007"].digest == digest_of("t7")


def test_gitlab_listing_with_details_needs_no_request_per_tag(closing):
    fake = closing(gitlab_fake(rich_list=True))
    tags = GitLabBackend(fake.url, GL_TOKEN).tags("registry.gitlab.example.com/team/app/big")
    assert len(tags) == 133 and fake.count("GET", r"/tags/[^/?]+$") == 0
    assert next(t for t in tags if t.tag == "pipeline-9").pushed_at == datetime(2026, 1, 2, 9, 30, 0, 500000,
                                                                                tzinfo=UTC)


def test_gitlab_delete_removes_one_tag_never_in_bulk(gl):
    backend = GitLabBackend(gl.url, GL_TOKEN)  # no listing first: the repository is found from its path
    backend.delete_tag("registry.gitlab.example.com/team/app/big", "pipeline-9")
    left = {t.tag: t.digest for t in backend.tags("registry.gitlab.example.com/team/app/big")}
    assert "pipeline-9" not in left and left["hash-1"] == digest_of("content")  # the sibling keeps its image
    assert gl.count("DELETE", r"/tags/pipeline-9$") == 1
    assert gl.count("DELETE", r"/tags(\?.*)?$") == 0  # the asynchronous bulk delete is never used
    with pytest.raises(NotFound):
        backend.delete_tag("registry.gitlab.example.com/team/app/big", "pipeline-9")
    with pytest.raises(NotFound):
        backend.delete_tag("registry.gitlab.example.com/team/app/nope", "5.0.0")
    with pytest.raises(AuthError):  # a protected tag: 403
        backend.delete_tag("registry.gitlab.example.com/team/app/big", "release")


def test_gitlab_wrong_token_raises_auth_error_without_the_token(gl, caplog):
    caplog.set_level(logging.DEBUG)
    backend = GitLabBackend(gl.url, "glpat-wrong-" + GL_TOKEN)
    with pytest.raises(AuthError) as info:
        backend.repositories("team", "")
    shown = f"{info.value} {info.value!r} {info.value.hint} {backend!r} {caplog.text}"
    assert "s3cr3t" not in shown
    assert gl.count("GET", r"/groups/team/registry/repositories") == 1  # refused at once, not retried


def test_gitlab_job_token_reaches_its_own_project_only(gl):
    backend = GitLabBackend(gl.url, JOB_TOKEN, job_token=True)
    assert len(backend.repositories("team/app", "ci-")) == 120
    assert gl.count("GET", r"/groups/") == 0  # a job token never asks for a group's registry
    backend.delete_tag("registry.gitlab.example.com/team/app/ci-001", "5.0.0")
    assert backend.tags("registry.gitlab.example.com/team/app/ci-001") == []
    with pytest.raises(AuthError):
        backend.repositories("other/app", "")
