"""What users shape of the generated build jobs (plan's --job-* and --builder options, the component's build-*
inputs), checked and turned into the emitters' :class:`JobSettings`. Pure: bad values are bad input, named by
their option."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from ci_tags.core.emitters import NOOP_IMAGE, JobSettings
from ci_tags.errors import BadInput
from ci_tags.flags import flag

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TIMEOUT = re.compile(r"\d+\s*[a-z]+(\s+\d+\s*[a-z]+)*")  # GitLab's "1h 30m", "90 minutes"


BUILDERS = ("buildah", "podman", "docker")  # --builder's values


@dataclass(frozen=True, kw_only=True)
class JobOptions:
    """The options as given (plan's --job-* and --builder options); several values of one option may each hold
    several lines."""

    image: str | None = flag("--job-image", help="image of the generated GitLab jobs (needs ci-tags and a builder)")
    setup: tuple[str, ...] = flag("--job-setup", default=(), help="a before_script line of generated jobs")
    before_script: tuple[str, ...] = flag(
        "--job-before-script", default=(), metavar="LINES",
        help="your before_script lines of the build jobs, after ci-tags' set-up (one per line)")
    variables: tuple[str, ...] = flag(  # NAME=VALUE lines
        "--job-variable", default=(), metavar="NAME=VALUE",
        help="a variable of the build jobs (several: repeat, or one NAME=VALUE per line)")
    retry: int | None = flag("--job-retry", choices=(0, 1, 2), help="retry: of the build jobs (GitLab allows 0-2)")
    timeout: str | None = flag("--job-timeout", metavar="DURATION", help="timeout: of the build jobs, e.g. '1h 30m'")
    interruptible: bool | None = flag("--job-interruptible", help="interruptible: of the build jobs")
    services: tuple[str, ...] = flag(  # space-separated images
        "--job-service", default=(), metavar="IMAGE",
        help="a service of the build jobs, e.g. docker:dind for --builder docker (several: repeat)")
    noop_image: str = flag("--job-noop-image", default=NOOP_IMAGE,
                           help=f"image of the job a pipeline with nothing to build runs (default {NOOP_IMAGE})")
    builder: str | None = flag("--builder", choices=BUILDERS,
                               help="the builder of the build jobs (default: the first found on the runner)")
    builder_args: str | None = flag("--builder-args", metavar="ARGS", help="extra arguments of the builder's build "
                                    "command, e.g. '--network host --secret id=x,src=f'")


def _lines(values: tuple[str, ...]) -> list[str]:
    return [line.strip() for value in values for line in value.splitlines() if line.strip()]


def _variables(values: tuple[str, ...]) -> dict[str, str]:
    variables: dict[str, str] = {}
    for line in _lines(values):
        name, eq, value = line.partition("=")
        if not eq or not _NAME.fullmatch(name.strip()):
            raise BadInput(f"--job-variable {line}: expected NAME=VALUE")
        variables[name.strip()] = value.strip()
    return variables


def _build_args(builder: str | None, builder_args: str | None) -> tuple[str, ...]:
    """The options every generated ``ci-tags build`` gets: --builder, --builder-args (checked to split)."""
    build_args: list[str] = []
    if builder:
        build_args += ["--builder", builder]
    if builder_args:
        try:
            shlex.split(builder_args)
        except ValueError as exc:
            raise BadInput(f"--builder-args: {exc}") from None
        build_args.append(f"--builder-args={builder_args}")
    return tuple(build_args)


def job_settings(opts: JobOptions, stage: str = "build") -> JobSettings:
    """The generated jobs' settings; bad values are bad input, named by their option."""
    variables = _variables(opts.variables)
    timeout = opts.timeout.strip() if opts.timeout else None
    if timeout is not None and not _TIMEOUT.fullmatch(timeout):
        raise BadInput(f"--job-timeout {timeout}: expected a duration like 1h, 90m or '1h 30m'")
    return JobSettings(
        stage=stage,
        image=opts.image,
        before_script=(*opts.setup, *_lines(opts.before_script)),
        variables=variables,
        retry=opts.retry,
        timeout=timeout,
        interruptible=opts.interruptible,
        services=tuple(s for value in opts.services for s in value.split()),
        build_args=_build_args(opts.builder, opts.builder_args),
        noop_image=opts.noop_image,
    )
