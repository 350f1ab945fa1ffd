"""Options shared by the pipeline commands (hash, plan, build, manifest, publish, janitor), and the backend
options of janitor and prune."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ci_tags.ci.environment import Pipeline, detect_pipeline
from ci_tags.context import Context

if TYPE_CHECKING:
    from ci_tags.backends.base import Backend
    from ci_tags.project.config import Config


def add_config_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default="ci-tags.yml", help="the image set (default: ci-tags.yml)")


def add_no_referrers(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-referrers", action="store_true",
                   help="copy the image alone: not its signatures, attestations, SBOMs and other referrers")


def add_backend_options(p: argparse.ArgumentParser) -> None:
    """--backend, --gitlab-url (and the hidden --hub-url) of the commands that list and remove tags by service."""
    from ci_tags.backends import kinds
    from ci_tags.core.hosts import DOCKER_HUB_API_URL

    p.add_argument("--backend", choices=kinds(), default="auto",
                   help="API to list, date and remove tags through (default auto: Docker Hub's API for docker.io, "
                   "GitLab's registry API for the job's registry in GitLab CI with a token, else the registry API)")
    p.add_argument("--gitlab-url",
                   help="GitLab URL (default: CI_SERVER_URL); token: CI_TAGS_GITLAB_TOKEN or CI_JOB_TOKEN")
    p.add_argument("--hub-url", default=DOCKER_HUB_API_URL, help=argparse.SUPPRESS)


@dataclass(frozen=True)
class BackendOptions:
    """--backend, --gitlab-url and --hub-url, typed."""

    kind: str = "auto"
    gitlab_url: str | None = None
    hub_url: str | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> BackendOptions:
        return cls(kind=args.backend, gitlab_url=args.gitlab_url, hub_url=args.hub_url)


def backend_from_options(ctx: Context, host: str, opts: BackendOptions) -> Backend:
    """The backend for ``host`` as the backend options and the credential options ask."""
    from ci_tags.backends import backend_for
    from ci_tags.core.hosts import DOCKER_HUB_API_URL

    return backend_for(opts.kind, host, registries=ctx.registries, env=ctx.env, username=ctx.registry.username,
                       password=ctx.registry.password, gitlab_url=opts.gitlab_url,
                       hub_url=opts.hub_url or DOCKER_HUB_API_URL, concurrency=ctx.concurrency)


def add_pipeline_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--pipeline-id",
        help="id in pipeline tags (default: GitLab CI_PIPELINE_IID; Jenkins <branch slug>-<BUILD_NUMBER>; "
        "else CI_TAGS_PIPELINE_ID)",
    )
    p.add_argument("--default-branch", help="the default branch (default: CI_DEFAULT_BRANCH, or the config's)")


@dataclass(frozen=True)
class PipelineOptions:
    """--config, --pipeline-id and --default-branch, typed. ``config`` stays as written: it is passed on to the
    generated jobs' commands."""

    config: str = "ci-tags.yml"
    pipeline_id: str | None = None
    default_branch: str | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> PipelineOptions:
        return cls(config=args.config, pipeline_id=getattr(args, "pipeline_id", None),
                   default_branch=getattr(args, "default_branch", None))


def load_image_set(ctx: Context, path: str) -> Config:
    """The image set of ``path``; its registry becomes the command's target (the explicit credentials are for it)."""
    from ci_tags.core.reference import parse_reference
    from ci_tags.project.config import load_config

    config = load_config(Path(path), ctx.env)
    ctx.aim(parse_reference(f"{config.registry}/x").api_host)
    return config


def pipeline_of(ctx: Context, opts: PipelineOptions, config: Config | None = None) -> Pipeline:
    """The pipeline this runs in; the default branch is --default-branch, else the CI's, else the config's."""
    found = detect_pipeline(ctx.env, pipeline_id=opts.pipeline_id, default_branch=opts.default_branch)
    if found.default_branch is None and config is not None and config.default_branch:
        found = replace(found, default_branch=config.default_branch)
    return found

