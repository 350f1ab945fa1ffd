"""What a Dockerfile's build reads, as buildkit evaluates it (``frontend/dockerfile/instructions`` and
``dockerfile2llb``), for one target platform.

The syntax comes from :mod:`ci_tags.core.dockerfile_syntax` and the words from :mod:`ci_tags.core.shellwords`. Scoping
follows Docker: the platform ARGs (``TARGETARCH``...) and ARGs before the first ``FROM`` apply to ``FROM`` lines
only and reach a stage only when redeclared there (a bare ``ARG X`` inherits the global value); build args apply
only to declared ARGs; ARG and ENV values carry into later instructions and into stages built ``FROM`` that
stage; ``ONBUILD`` triggers of the base run first in a stage. A source that names a variable ci-tags cannot know
(the base image's environment, the build machine's platform) is marked ``broad``: the caller then hashes the
whole context, with a warning.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ci_tags.core.arches import normalised_platform
from ci_tags.core.dockerfile_syntax import (
    DockerfileSyntaxError,
    parse_syntax,
)
from ci_tags.errors import BadInput

INSTRUCTIONS = ("add", "arg", "cmd", "copy", "entrypoint", "env", "expose", "from", "healthcheck", "label",
                "maintainer", "onbuild", "run", "shell", "stopsignal", "user", "volume", "workdir")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def decode_dockerfile(data: bytes) -> str:
    """The Dockerfile's bytes as text. buildkit reads them as bytes (Go strings), never refusing one that is not
    UTF-8 (an old Latin-1 comment): a byte that is not UTF-8 is kept as a surrogate escape, so a source path made
    of it names the same file and :func:`encode_dockerfile` gives the same bytes back."""
    return data.decode("utf-8", "surrogateescape")


def encode_dockerfile(text: str) -> bytes:
    """Text from :func:`decode_dockerfile` (possibly rewritten) as bytes, every byte it did not change kept."""
    return text.encode("utf-8", "surrogateescape")


# The build machine's platform: ci-tags does not know where a build runs (a native runner or qemu)
UNKNOWN_BUILD_ARGS = ("BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT", "BUILDOSVERSION")


def platform_args(arch: str) -> dict[str, str]:
    """The platform ARGs Docker defines for a ci-tags architecture (containerd's normalised platform)."""
    name, variant = normalised_platform(arch)
    platform = "linux/" + name + (f"/{variant}" if variant else "")
    values = {"OS": "linux", "OSVERSION": "", "ARCH": name, "VARIANT": variant, "PLATFORM": platform}
    out = {f"TARGET{k}": v for k, v in values.items()}
    out.update({f"BUILD{k}": v for k, v in values.items()})
    return out


@dataclass(frozen=True)
class Stage:
    image: str  # the base as Docker reads it (ARGs expanded)
    name: str | None
    line: int
    image_span: tuple[int, int] | None = None  # where the image word is in the file's text (for build)
    base_stage: int | None = None  # the earlier stage this one builds on


@dataclass(frozen=True)
class Copy:
    instruction: str  # COPY, ADD, or RUN (a bind mount of the context)
    sources: tuple[str, ...]
    from_: str | None  # --from value: a stage name or index, or an image
    stage: int  # index of the stage it belongs to
    line: int
    broad: bool = False  # a source names a variable ci-tags cannot know: the whole context counts
    onbuild: bool = False  # an ONBUILD trigger of the base image, run in this stage
    from_span: tuple[int, int] | None = None  # where the --from value is in the file's text (for build)


@dataclass(frozen=True)
class BaseInfo:
    """What ci-tags knows of an image used as a base: its environment and ONBUILD triggers."""

    env: Mapping[str, str] | None = None  # None: unknown (an external image)
    onbuild: tuple[str, ...] = ()
    uncertain: frozenset[str] = frozenset()  # ENV names whose value ci-tags cannot know
    complete: bool = True  # False: the image may have more ENV than ``env`` (its own base is external)


@dataclass(frozen=True)
class Dockerfile:
    stages: tuple[Stage, ...]
    copies: tuple[Copy, ...]
    runs: tuple[int, ...] = ()  # line numbers of RUN instructions: steps that execute inside the image
    warnings: tuple[str, ...] = ()
    env: Mapping[str, str] | None = None  # the built image's ENV as far as ci-tags knows it
    onbuild: tuple[str, ...] = ()  # the built image's ONBUILD triggers
    mounts: tuple[str, ...] = ()  # images a RUN --mount=from= pulls
    reachable: frozenset[int] = frozenset()  # the stages a build of the target runs (the others are skipped)
    env_uncertain: frozenset[str] = frozenset()  # names of ``env`` whose value ci-tags cannot know
    env_complete: bool = True  # False: the image also has ENV ci-tags does not know (an external base's)

    def stage_names(self) -> set[str]:
        return {s.name for s in self.stages if s.name} | {str(i) for i in range(len(self.stages))}

    def external_images(self) -> list[str]:
        """Images the build pulls: FROM lines that are not earlier stages, COPY --from=<image>, mounts."""
        seen: list[str] = []
        for stage in self.stages:
            if stage.base_stage is None and stage.image not in seen:
                seen.append(stage.image)
        names = {n.lower() for n in self.stage_names()}
        for ref in [c.from_ for c in self.copies if c.from_] + list(self.mounts):
            if ref.lower() not in names and ref not in seen:
                seen.append(ref)
        return [s for s in seen if s != "scratch"]


def parse_dockerfile(
    text: str,
    build_args: Mapping[str, str] | None = None,
    where: str = "Dockerfile",
    *,
    arch: str = "amd64",
    target: str | None = None,
    base_info: Callable[[str], BaseInfo] | None = None,
) -> Dockerfile:
    """Read a Dockerfile for one architecture; ``build_args`` are ci-tags.yml's. Raises BadInput (naming the
    file, the line and the reason) for what Docker refuses."""
    try:
        syntax = parse_syntax(text)
    except DockerfileSyntaxError as exc:
        raise BadInput(f"{where}:{exc.line}: {exc.reason}") from None
    from ci_tags.core.dockerfile_reader import Reader
    from ci_tags.core.dockerfile_stages import evaluate

    reader = Reader(where, build_args or {}, arch, base_info or (lambda image: BaseInfo()))
    reader.escape = syntax.escape
    return evaluate(reader, syntax.nodes, target)


def rewrite_bases(text: str, replacements: Mapping[str, str], build_args: Mapping[str, str] | None = None,
                  *, arch: str = "amd64") -> str:
    """The Dockerfile with each FROM image (and ``COPY --from`` image) that ``replacements`` names (as Docker
    reads it, ARGs expanded) replaced, at the positions the parser found, so a build runs on exactly the parent
    image it was hashed with. Nothing else changes: not a heredoc body, not a line that only looks like a FROM."""
    parsed = parse_dockerfile(text, build_args, arch=arch)
    stage_names = {n.lower() for n in parsed.stage_names()}
    spans = [(stage.image_span, stage.image) for stage in parsed.stages
             if stage.base_stage is None and stage.image in replacements and stage.image_span]
    spans += [(copy.from_span, copy.from_) for copy in parsed.copies
              if copy.from_ and copy.from_.lower() not in stage_names and copy.from_ in replacements
              and copy.from_span]
    body = text[1:] if text.startswith("\ufeff") else text
    out: list[str] = []
    at = 0
    for span, image in sorted((s, i) for s, i in spans if s is not None and i is not None):
        start, end = span
        out += [body[at:start], replacements[image]]
        at = end
    out.append(body[at:])
    return ("\ufeff" if text.startswith("\ufeff") else "") + "".join(out)


PLATFORM_ARGS = ("TARGETOS", "TARGETARCH", "TARGETVARIANT", "TARGETPLATFORM")
_DIRECTIVE = re.compile(r"#\s*[A-Za-z][A-Za-z0-9_-]*\s*=.*")


def declare_platform_args(text: str) -> str:
    """The Dockerfile with the platform ARGs declared in its global scope (after its parser directives).

    buildah and podman set ``TARGETOS``, ``TARGETARCH``, ``TARGETPLATFORM`` (and ``TARGETVARIANT``) as build args
    whenever a platform is given, then warn "one or more build args were not consumed" on every build whose
    Dockerfile does not declare them. A global declaration consumes them and changes nothing else: an image gets
    no history entry from ARGs before its first FROM, and a stage still sees a value only where it redeclares one
    (as Docker's rule says), the same value as before."""
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    lines = text[len(bom):].splitlines(keepends=True)
    at = 0
    while at < len(lines) and _DIRECTIVE.fullmatch(lines[at].rstrip("\r\n")):
        at += 1
    if at and not lines[at - 1].endswith("\n"):
        lines[at - 1] += "\n"
    declared = "".join(f"ARG {name}\n" for name in PLATFORM_ARGS)
    return bom + "".join(lines[:at]) + declared + "".join(lines[at:])
