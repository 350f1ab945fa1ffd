"""What users shape of the generated build jobs (plan's --job-* and --builder options, the component's build-*
inputs), checked and turned into the emitters' :class:`JobSettings`. Pure: bad values are bad input, named by
their option."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from ci_tags.core.emitters import NOOP_IMAGE, JobSettings
from ci_tags.errors import BadInput

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TIMEOUT = re.compile(r"\d+\s*[a-z]+(\s+\d+\s*[a-z]+)*")  # GitLab's "1h 30m", "90 minutes"


@dataclass(frozen=True)
class JobOptions:
    """The options as given; several values of one option may each hold several lines."""

    image: str | None = None
    setup: tuple[str, ...] = ()
    before_script: tuple[str, ...] = ()
    variables: tuple[str, ...] = ()  # NAME=VALUE lines
    retry: int | None = None
    timeout: str | None = None
    interruptible: bool | None = None
    services: tuple[str, ...] = ()  # space-separated images
    noop_image: str = NOOP_IMAGE
    builder: str | None = None
    builder_args: str | None = None


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
