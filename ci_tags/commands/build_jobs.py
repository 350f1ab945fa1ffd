"""``ci-tags plan``'s options that shape the generated build jobs (the component's build-* inputs pass them on):
set-up lines, variables, retry, timeout, interruptible, services, the builder and its extra arguments."""

from __future__ import annotations

import argparse
import re
import shlex

from ci_tags.core.emitters import NOOP_IMAGE, JobSettings
from ci_tags.errors import BadInput

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TIMEOUT = re.compile(r"\d+\s*[a-z]+(\s+\d+\s*[a-z]+)*")  # GitLab's "1h 30m", "90 minutes"


def add_job_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--job-image", help="image of the generated GitLab jobs (needs ci-tags and a builder)")
    p.add_argument("--job-setup", action="append", default=[], help="a before_script line of generated jobs")
    p.add_argument("--job-before-script", action="append", default=[], metavar="LINES",
                   help="your before_script lines of the build jobs, after ci-tags' set-up (one per line)")
    p.add_argument("--job-variable", action="append", default=[], metavar="NAME=VALUE",
                   help="a variable of the build jobs (several: repeat, or one NAME=VALUE per line)")
    p.add_argument("--job-retry", type=int, choices=[0, 1, 2], help="retry: of the build jobs (GitLab allows 0-2)")
    p.add_argument("--job-timeout", metavar="DURATION", help="timeout: of the build jobs, e.g. '1h 30m'")
    p.add_argument("--job-interruptible", choices=["true", "false"], help="interruptible: of the build jobs")
    p.add_argument("--job-service", action="append", default=[], metavar="IMAGE",
                   help="a service of the build jobs, e.g. docker:dind for --builder docker (several: repeat)")
    p.add_argument("--job-noop-image", default=NOOP_IMAGE,
                   help=f"image of the job a pipeline with nothing to build runs (default {NOOP_IMAGE})")
    p.add_argument("--builder", choices=["buildah", "podman", "docker"],
                   help="the builder of the build jobs (default: the first found on the runner)")
    p.add_argument("--builder-args", metavar="ARGS",
                   help="extra arguments of the builder's build command, e.g. '--network host --secret id=x,src=f'")


def _lines(values: list[str]) -> list[str]:
    return [line.strip() for value in values for line in value.splitlines() if line.strip()]


def job_settings(args: argparse.Namespace, stage: str = "build") -> JobSettings:
    """The generated jobs' settings from plan's options; bad values are bad input, named by their option."""
    variables: dict[str, str] = {}
    for line in _lines(args.job_variable):
        name, eq, value = line.partition("=")
        if not eq or not _NAME.fullmatch(name.strip()):
            raise BadInput(f"--job-variable {line}: expected NAME=VALUE")
        variables[name.strip()] = value.strip()
    timeout = args.job_timeout.strip() if args.job_timeout else None
    if timeout is not None and not _TIMEOUT.fullmatch(timeout):
        raise BadInput(f"--job-timeout {timeout}: expected a duration like 1h, 90m or '1h 30m'")
    build_args: list[str] = []
    if args.builder:
        build_args += ["--builder", args.builder]
    if args.builder_args:
        try:
            shlex.split(args.builder_args)
        except ValueError as exc:
            raise BadInput(f"--builder-args: {exc}") from None
        build_args.append(f"--builder-args={args.builder_args}")
    return JobSettings(
        stage=stage,
        image=args.job_image,
        before_script=(*args.job_setup, *_lines(args.job_before_script)),
        variables=variables,
        retry=args.job_retry,
        timeout=timeout,
        interruptible=None if args.job_interruptible is None else args.job_interruptible == "true",
        services=tuple(s for value in args.job_service for s in value.split()),
        build_args=tuple(build_args),
        noop_image=args.job_noop_image,
    )
