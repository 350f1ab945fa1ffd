"""Options shared by the pipeline commands (hash, plan, build, manifest, publish, janitor), and the backend
options of janitor and prune."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ci_tags.ci.environment import Pipeline, detect_pipeline
from ci_tags.commands.texts import CONFIG_HELP
from ci_tags.context import Context
from ci_tags.core.hosts import DOCKER_HUB_API_URL
from ci_tags.flags import flag

if TYPE_CHECKING:
    from ci_tags.backends.base import Backend
    from ci_tags.project.config import Config


def _kinds() -> Sequence[str]:
    from ci_tags.backends import kinds  # the backend table: imported when a parser with --backend is built

    return kinds()




@dataclass(frozen=True, kw_only=True)
class BackendOptions:
    """--backend, --gitlab-url (and the hidden --hub-url) of the commands that list and remove tags by service."""

    kind: str = flag("--backend", default="auto", choices=_kinds,
                     help="API to list, date and remove tags through (default auto: Docker Hub's API for docker.io, "
                     "GitHub's packages API for ghcr.io, Quay's for quay.io or a Quay host with CI_TAGS_QUAY_TOKEN, "
                     "Harbor's for a Harbor host, GitLab's registry API for the job's registry in GitLab CI with a "
                     "token, else the registry API)")
    gitlab_url: str | None = flag(
        "--gitlab-url", help="GitLab URL (default: CI_SERVER_URL); token: CI_TAGS_GITLAB_TOKEN or CI_JOB_TOKEN")
    hub_url: str = flag("--hub-url", default=DOCKER_HUB_API_URL, hidden=True)


def backend_from_options(ctx: Context, host: str, opts: BackendOptions) -> Backend:
    """The backend for ``host`` as the backend options and the credential options ask."""
    from ci_tags.backends import Where, backend_for

    return backend_for(opts.kind, Where(host, ctx.registries, ctx.env, username=ctx.registry.username,
                                        password=ctx.registry.password, gitlab_url=opts.gitlab_url,
                                        hub_url=opts.hub_url or DOCKER_HUB_API_URL, concurrency=ctx.concurrency))


@dataclass(frozen=True, kw_only=True)
class PipelineOptions:
    """--config, --pipeline-id and --default-branch. ``config`` stays as written: it is passed on to the
    generated jobs' commands."""

    config: str = flag("--config", default="ci-tags.yml", help=CONFIG_HELP)
    pipeline_id: str | None = flag(
        "--pipeline-id", help="id in pipeline tags (default: GitLab CI_PIPELINE_IID; Jenkins <branch slug>-"
        "<BUILD_NUMBER>; else CI_TAGS_PIPELINE_ID)")
    default_branch: str | None = flag("--default-branch",
                                      help="the default branch (default: CI_DEFAULT_BRANCH, or the config's)")


def load_image_set(ctx: Context, path: str, *, need_registry: bool = True) -> Config:
    """The image set of ``path``; its registry becomes the command's target (the explicit credentials are for it).
    ``need_registry=False``: the run names full repositories, so an unset ``$CI_REGISTRY_IMAGE`` is no problem."""
    from ci_tags.core.reference import parse_reference
    from ci_tags.project.config import load_config

    config = load_config(Path(path), ctx.env, need_registry=need_registry)
    if not config.registry_unset:
        ctx.aim(parse_reference(f"{config.registry}/x").api_host)
    return config


def pipeline_of(ctx: Context, opts: PipelineOptions, config: Config | None = None) -> Pipeline:
    """The pipeline this runs in; the default branch is --default-branch, else the CI's, else the config's."""
    found = detect_pipeline(ctx.env, pipeline_id=opts.pipeline_id, default_branch=opts.default_branch)
    if found.default_branch is None and config is not None and config.default_branch:
        found = replace(found, default_branch=config.default_branch)
    return found

