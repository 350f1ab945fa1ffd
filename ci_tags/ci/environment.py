"""Read the pipeline a command runs in from the CI environment: GitLab CI, Jenkins, or a local run.

Pure: takes the environment as a mapping. Pipeline tags must be unique per pipeline:
- GitLab: ``CI_PIPELINE_IID`` (per project, usable in rules);
- Jenkins: ``<branch slug>-<BUILD_NUMBER>``, since build numbers are per branch in multibranch jobs;
- elsewhere: ``CI_TAGS_PIPELINE_ID`` (or ``--pipeline-id``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from ci_tags.core.reference import slugify, validate_tag
from ci_tags.core.times import parse_time
from ci_tags.errors import BadInput

PREVIEW_ID = "preview"  # the pipeline id of a dry run outside CI, where there is none


@dataclass(frozen=True)
class Pipeline:
    system: str  # "gitlab", "jenkins" or "local"
    pipeline_id: str | None  # what goes into pipeline tags
    branch: str | None  # None in merge-request and tag pipelines
    default_branch: str | None
    commit: str | None
    source_url: str | None = None
    created_at: datetime | None = None
    api_url: str | None = None  # GitLab: CI_API_V4_URL; Jenkins: JENKINS_URL
    project: str | None = None  # GitLab: CI_PROJECT_ID; Jenkins: JOB_NAME
    run_id: str | None = None  # GitLab: CI_PIPELINE_ID (instance-wide); Jenkins: BUILD_NUMBER
    job_id: str | None = None  # GitLab: CI_JOB_ID

    @property
    def on_default_branch(self) -> bool:
        return bool(self.branch) and self.branch == self.default_branch

    def preview_id(self, dry_run: bool) -> tuple[str, bool]:
        """(the pipeline id, whether it is the placeholder): a dry run outside CI previews with PREVIEW_ID."""
        if dry_run and not self.pipeline_id:
            return PREVIEW_ID, True
        return self.require_id(), False

    def require_id(self) -> str:
        if not self.pipeline_id:
            raise BadInput(
                "no pipeline id: not in GitLab CI or Jenkins",
                hint="set CI_TAGS_PIPELINE_ID or pass --pipeline-id",
            )
        return self.pipeline_id


def _checked_id(pipeline_id: str | None, source: str) -> str | None:
    if pipeline_id is None:
        return None
    try:
        return validate_tag(pipeline_id)
    except BadInput as exc:
        raise BadInput(f"{source} gives an unusable pipeline id: {exc.message}") from None


def detect_pipeline(
    env: Mapping[str, str], *, pipeline_id: str | None = None, default_branch: str | None = None
) -> Pipeline:
    """The pipeline described by ``env``; ``pipeline_id``/``default_branch`` override what it says."""
    if env.get("GITLAB_CI") == "true":
        return Pipeline(
            system="gitlab",
            pipeline_id=_checked_id(pipeline_id or env.get("CI_PIPELINE_IID"), "CI_PIPELINE_IID"),
            branch=env.get("CI_COMMIT_BRANCH") or None,
            default_branch=default_branch or env.get("CI_DEFAULT_BRANCH") or None,
            commit=env.get("CI_COMMIT_SHA") or None,
            source_url=env.get("CI_PROJECT_URL") or None,
            created_at=parse_time(env.get("CI_PIPELINE_CREATED_AT")),
            api_url=env.get("CI_API_V4_URL") or None,
            project=env.get("CI_PROJECT_ID") or None,
            run_id=env.get("CI_PIPELINE_ID") or None,
            job_id=env.get("CI_JOB_ID") or None,
        )
    if env.get("JENKINS_URL") or (env.get("BUILD_NUMBER") and env.get("JOB_NAME")):
        branch = env.get("BRANCH_NAME") or env.get("GIT_BRANCH") or None
        if branch and branch.startswith("origin/"):
            branch = branch[len("origin/") :]
        number = env.get("BUILD_NUMBER")
        generated = f"{slugify(branch)}-{number}" if branch and number else number
        return Pipeline(
            system="jenkins",
            pipeline_id=_checked_id(pipeline_id or generated, "BRANCH_NAME/BUILD_NUMBER"),
            branch=branch,
            default_branch=default_branch or env.get("CI_TAGS_DEFAULT_BRANCH") or None,
            commit=env.get("GIT_COMMIT") or None,
            source_url=env.get("GIT_URL") or None,
            api_url=env.get("JENKINS_URL") or None,
            project=env.get("JOB_NAME") or None,
            run_id=number,
        )
    return Pipeline(
        system="local",
        pipeline_id=_checked_id(pipeline_id or env.get("CI_TAGS_PIPELINE_ID"), "CI_TAGS_PIPELINE_ID"),
        branch=env.get("CI_TAGS_BRANCH") or None,
        default_branch=default_branch or env.get("CI_TAGS_DEFAULT_BRANCH") or None,
        commit=env.get("CI_TAGS_COMMIT") or None,
        source_url=env.get("CI_TAGS_SOURCE_URL") or None,
    )
