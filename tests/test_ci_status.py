"""Publish's CI check against a fake GitLab API (documented response shapes; no GitLab server runs here)."""

import pytest

from ci_tags.ci.environment import Pipeline
from ci_tags.ci.gitlab import check_gitlab_pipeline
from ci_tags.ci.status import judge_jobs
from ci_tags.errors import AuthError
from tests.support.fake_gitlab import FakeGitLab, job

TOKEN = "glpat-s3cret-t0ken"
ME = 999


def pipeline(url):
    return Pipeline(system="gitlab", pipeline_id="5", branch="main", default_branch="main", commit="c",
                    api_url=f"{url}/api/v4", project="12", run_id="77", job_id=str(ME))


@pytest.fixture
def gitlab():
    servers = []

    def start(jobs, bridges=None):
        server = FakeGitLab(TOKEN, jobs, bridges)
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.close()


def base_jobs():
    return [job(1, "prepare", ".pre", "success"), job(2, "test", "test", "success"),
            job(ME, "publish", "publish", "running"), job(4, "notify", "notify", "created")]


def test_all_succeeded(gitlab):
    fake = gitlab(base_jobs())
    status = check_gitlab_pipeline(pipeline(fake.url), TOKEN)
    assert (status.ok, status.checked, status.reasons) == (True, True, ())


def test_a_failed_job_on_page_two_blocks_publish(gitlab):
    jobs = [job(i, f"build-{i}", "build", "success") for i in range(1, 130)] + base_jobs()
    jobs[120] = job(121, "build-121", "build", "failed")
    fake = gitlab(jobs)
    status = check_gitlab_pipeline(pipeline(fake.url), TOKEN)
    assert not status.ok and status.reasons == ("job build-121 failed",)
    assert status.jobs_seen == len(jobs)
    assert any("page=2" in r for r in fake.requests)


def test_allowed_failure_and_bridges(gitlab):
    jobs = [*base_jobs(), job(5, "lint", "test", "failed", allow_failure=True)]
    bridge = {**job(6, "child", "build", "success"), "downstream_pipeline": {"id": 8, "status": "failed"}}
    status = check_gitlab_pipeline(pipeline(gitlab(jobs, [bridge]).url), TOKEN)
    assert status.reasons == ("job child failed",)


def test_wrong_token_is_an_auth_error_without_the_token(gitlab):
    fake = gitlab(base_jobs())
    with pytest.raises(AuthError) as err:
        check_gitlab_pipeline(pipeline(fake.url), "glpat-wrong-value")
    assert err.value.exit_code == 3
    assert "glpat-wrong-value" not in str(err.value) and TOKEN not in str(err.value)


def test_no_token_checks_nothing():
    status = check_gitlab_pipeline(pipeline("http://127.0.0.1:9"), None)
    assert status.checked is False


@pytest.mark.parametrize(
    ("other", "reason"),
    [("running", "job other is still running"), ("canceled", "job other canceled"), ("pending", "still pending")],
)
def test_judge_jobs(other, reason):
    jobs = [*base_jobs(), job(7, "other", "test", other)]
    status = judge_jobs(jobs, str(ME))
    assert not status.ok and reason in status.reasons[0]


def test_publish_refuses_when_the_api_reports_a_failure(gitlab, registry, reg, cli, tmp_path, monkeypatch):
    from tests.support.images import push_image

    fake = gitlab([*base_jobs(), job(8, "e2e", "test", "failed")])
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "Dockerfile").write_text("FROM scratch\n")
    config = f"registry: {registry.host}/cis\nimages:\n  a:\n    dockerfile: d/Dockerfile\n"
    (tmp_path / "ci-tags.yml").write_text(config)
    image = push_image(reg, "cis/a", "x")
    from ci_tags.oci.stamp import stamp

    stamp(reg, "cis/a", image.manifest, "pipeline-5", {"dev.ci-tags.kind": "pipeline"}, "amd64")
    monkeypatch.chdir(tmp_path)
    env = {"GITLAB_CI": "true", "CI_PIPELINE_IID": "5", "CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main",
           "CI_API_V4_URL": f"{fake.url}/api/v4", "CI_PROJECT_ID": "12", "CI_PIPELINE_ID": "77",
           "CI_JOB_ID": str(ME), "CI_TAGS_GITLAB_TOKEN": TOKEN}
    result = cli("publish", env=env)
    assert result.code == 0
    assert "not publishing: the CI API reports: job e2e failed" in result.out
    assert "latest" not in reg.tags("cis/a")
    assert TOKEN not in result.out + result.err
