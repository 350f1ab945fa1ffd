"""What a Dockerfile's build reads, as buildkit evaluates it (``frontend/dockerfile/instructions`` and
``dockerfile2llb``), for one target platform.

The syntax comes from :mod:`ci_tags.dockerfile_syntax` and the words from :mod:`ci_tags.shellwords`. Scoping
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
from dataclasses import dataclass, field

from ci_tags.dockerfile_syntax import (
    DockerfileSyntaxError,
    Node,
    parse_heredoc,
    parse_syntax,
)
from ci_tags.errors import BadInput
from ci_tags.shellwords import ShellLex, ShellSyntaxError

INSTRUCTIONS = ("add", "arg", "cmd", "copy", "entrypoint", "env", "expose", "from", "healthcheck", "label",
                "maintainer", "onbuild", "run", "shell", "stopsignal", "user", "volume", "workdir")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_STAGE_NAME = re.compile(r"[a-z][a-z0-9-_.]*\Z")
_COPY_FLAGS = {"chown": "s", "from": "s", "chmod": "s", "link": "b", "exclude": "m", "parents": "b"}
_ADD_FLAGS = {"chown": "s", "chmod": "s", "link": "b", "keep-git-dir": "b", "checksum": "s", "unpack": "b",
              "exclude": "m"}
# The build machine's platform: ci-tags does not know where a build runs (a native runner or qemu)
UNKNOWN_BUILD_ARGS = ("BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT", "BUILDOSVERSION")


def platform_args(arch: str) -> dict[str, str]:
    """The platform ARGs Docker defines for a ci-tags architecture (containerd's normalised platform)."""
    name, _, variant = arch.partition("-")
    if name == "arm" and not variant:
        variant = "v7"
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


@dataclass(frozen=True)
class BaseInfo:
    """What ci-tags knows of an image used as a base: its environment and ONBUILD triggers."""

    env: Mapping[str, str] | None = None  # None: unknown (an external image)
    onbuild: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dockerfile:
    stages: tuple[Stage, ...]
    copies: tuple[Copy, ...]
    runs: tuple[int, ...] = ()  # line numbers of RUN instructions: steps that execute inside the image
    warnings: tuple[str, ...] = ()
    env: Mapping[str, str] | None = None  # the built image's ENV (None: not fully known)
    onbuild: tuple[str, ...] = ()  # the built image's ONBUILD triggers
    mounts: tuple[str, ...] = ()  # images a RUN --mount=from= pulls
    reachable: frozenset[int] = frozenset()  # the stages a build of the target runs (the others are skipped)

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


@dataclass
class _StageState:
    env: dict[str, str]
    config_env: dict[str, str]
    known: bool  # whether env holds every variable the stage has
    onbuild: list[str] = field(default_factory=list)


class _Reader:
    def __init__(self, where: str, build_args: Mapping[str, str], arch: str,
                 base_info: Callable[[str], BaseInfo]) -> None:
        self.where = where
        self.build_args = dict(build_args)
        self.arch = arch
        self.base_info = base_info
        self.escape = "\\"
        self.warnings: list[str] = []
        self.copies: list[Copy] = []
        self.runs: list[int] = []
        self.mounts: list[str] = []
        self.deps: dict[int, set[int]] = {}  # stage -> stages it copies or mounts from

    def depend(self, stage: int, ref: str, names: Mapping[str, int], count: int) -> None:
        other = int(ref) if ref.isdigit() else names.get(ref.lower())
        if other is not None and other < count:
            self.deps.setdefault(stage, set()).add(other)

    def fail(self, line: int, reason: str) -> BadInput:
        return BadInput(f"{self.where}:{line}: {reason}")

    def lex(self, unknown: Callable[[str], bool] = lambda n: False) -> ShellLex:
        return ShellLex(escape=self.escape, unknown=unknown)

    def word(self, text: str, env: Mapping[str, str], line: int, lex: ShellLex | None = None) -> str:
        try:
            return (lex or self.lex()).process_word(text, env)
        except ShellSyntaxError as exc:
            raise self.fail(line, str(exc)) from None

    def flags(self, node: Node, allowed: Mapping[str, str]) -> dict[str, list[str]]:
        """buildkit's BFlags.Parse: known flags only, values as the flag's type wants."""
        out: dict[str, list[str]] = {}
        name = node.value.upper()
        for arg in node.flags:
            if arg == "--":
                break
            if not arg.startswith("--"):
                raise self.fail(node.start_line, f"{name}: arg should start with -- : {arg}")
            flag, eq, value = arg[2:].partition("=")
            kind = allowed.get(flag)
            if kind is None:
                raise self.fail(node.start_line, f"{name}: unknown flag: --{flag}")
            if flag in out and kind != "m":
                raise self.fail(node.start_line, f"{name}: duplicate flag specified: --{flag}")
            if kind == "b":
                if eq and value == "":
                    raise self.fail(node.start_line, f"{name}: missing a value on flag: --{flag}")
                if value.lower() not in ("true", "false", ""):
                    raise self.fail(node.start_line, f"{name}: expecting boolean value for flag --{flag}, not: {value}")
            elif not eq:
                raise self.fail(node.start_line, f"{name}: missing a value on flag: --{flag}")
            out.setdefault(flag, []).append(value)
        return out


def _kvps(node: Node) -> list[tuple[str, str]]:
    args = node.args
    return [(args[i], args[i + 1]) for i in range(0, len(args) - 2, 3)]


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
    reader = _Reader(where, build_args or {}, arch, base_info or (lambda image: BaseInfo()))
    reader.escape = syntax.escape
    return _evaluate(reader, syntax.nodes, target)


def _evaluate(r: _Reader, nodes: list[Node], target: str | None) -> Dockerfile:
    for node in nodes:
        if node.command not in INSTRUCTIONS:
            raise r.fail(node.start_line, f"unknown instruction: {node.value}")
    froms = [n for n in nodes if n.command == "from"]
    if not froms:
        raise r.fail(nodes[0].start_line, "no FROM instruction (Docker: dockerfile contains no stages to build)")
    stage_names = [n.args[2].lower() if len(n.args) == 3 else None for n in froms]
    if target is not None and target.lower() not in [s for s in stage_names if s]:
        known = ", ".join(s for s in stage_names if s) or "none"
        raise BadInput(f"{r.where}: target stage {target!r} could not be found (stages: {known})")
    global_args: dict[str, str] = platform_args(r.arch)
    global_args["TARGETSTAGE"] = (target or stage_names[-1] or "default")
    for key in list(global_args):
        if key in r.build_args:
            global_args[key] = r.build_args[key]
    stages: list[Stage] = []
    states: list[_StageState] = []
    names: dict[str, int] = {}
    state: _StageState | None = None
    for node in nodes:
        kind = node.command
        line = node.start_line
        if kind == "from":
            state = _from(r, node, global_args, stages, states, names)
            continue
        if state is None:
            if kind == "arg":
                for key, value in _arg_pairs(r, node):
                    if key in r.build_args:
                        global_args[key] = r.build_args[key]
                    elif value is not None:
                        global_args[key] = r.word(value, global_args, line)
                continue
            raise r.fail(line, f"{node.value.upper()} before the first FROM (no build stage in current context)")
        _instruction(r, node, state, len(stages) - 1, global_args, stages, names)
    assert state is not None
    final_index = names[target.lower()] if target else len(states) - 1
    final = states[final_index]
    reachable: set[int] = set()
    todo = [final_index]
    while todo:
        i = todo.pop()
        if i not in reachable:
            reachable.add(i)
            todo += list(r.deps.get(i, ()))
            base = stages[i].base_stage
            if base is not None:
                todo.append(base)
    return Dockerfile(
        tuple(stages), tuple(r.copies), tuple(r.runs), tuple(dict.fromkeys(r.warnings)),
        dict(final.config_env) if final.known else None, tuple(final.onbuild), tuple(r.mounts),
        frozenset(reachable),
    )


def _arg_pairs(r: _Reader, node: Node) -> list[tuple[str, str | None]]:
    if not node.args:
        raise r.fail(node.start_line, "ARG requires at least one argument")
    out: list[tuple[str, str | None]] = []
    for arg in node.args:
        key, eq, value = arg.partition("=")
        if eq and not key:
            raise r.fail(node.start_line, "ARG names can not be blank")
        out.append((key, value if eq else None))
    return out


def _from(r: _Reader, node: Node, global_args: dict[str, str], stages: list[Stage],
          states: list[_StageState], names: dict[str, int]) -> _StageState:
    line = node.start_line
    args = node.args
    if len(args) == 3 and args[1].lower() == "as":
        name: str | None = args[2].lower()
        if not _STAGE_NAME.match(name or ""):
            raise r.fail(line, f"invalid name for build stage: {args[2]!r}, "
                               "name can't start with a number or contain symbols")
    elif len(args) != 1:
        raise r.fail(line, "FROM requires either one or three arguments")
    else:
        name = None
    flags = r.flags(node, {"platform": "s"})
    image = r.word(args[0], global_args, line)
    if not image:
        raise r.fail(line, f"base name ({args[0]}) should not be blank")
    for platform in flags.get("platform", []):
        r.word(platform, global_args, line)
    span = None
    if node.offsets and node.args_offset + len(args[0]) <= len(node.offsets):
        span = (node.offsets[node.args_offset], node.offsets[node.args_offset + len(args[0]) - 1] + 1)
    base = names.get(image)
    if base is not None:
        parent = states[base]
        state = _StageState(dict(parent.env), dict(parent.config_env), parent.known)
        triggers = parent.onbuild
    elif image == "scratch":
        state = _StageState({"PATH": DEFAULT_PATH}, {"PATH": DEFAULT_PATH}, True)
        triggers = []
    else:
        info = r.base_info(image)
        env = dict(info.env) if info.env is not None else {}
        env.setdefault("PATH", DEFAULT_PATH)
        state = _StageState(dict(env), dict(env), info.env is not None)
        triggers = list(info.onbuild)
    stages.append(Stage(image, name, line, span, base))
    states.append(state)
    if name:
        names[name] = len(stages) - 1
    for expression in triggers:
        _trigger(r, expression, node, state, len(stages) - 1, global_args, stages, names)
    return state


def _trigger(r: _Reader, expression: str, from_node: Node, state: _StageState, index: int,
             global_args: dict[str, str], stages: list[Stage], names: dict[str, int]) -> None:
    """An ONBUILD trigger of the base, run at the start of the stage (at the FROM line)."""
    try:
        nodes = parse_syntax(expression).nodes
    except DockerfileSyntaxError as exc:
        raise r.fail(from_node.start_line, f"ONBUILD trigger of {stages[index].image}: {exc.reason}") from None
    for node in nodes:
        node.start_line = node.end_line = from_node.start_line
        before = len(r.copies)
        _instruction(r, node, state, index, global_args, stages, names)
        for i in range(before, len(r.copies)):
            c = r.copies[i]
            r.copies[i] = Copy(c.instruction, c.sources, c.from_, c.stage, c.line, c.broad, True)


def _instruction(r: _Reader, node: Node, state: _StageState, index: int, global_args: dict[str, str],
                 stages: list[Stage], names: dict[str, int]) -> None:
    kind = node.command
    line = node.start_line
    if kind == "arg":
        for key, value in _arg_pairs(r, node):
            if key in r.build_args:
                resolved: str | None = r.build_args[key]
            elif value is not None:
                resolved = r.word(value, state.env, line)
            else:
                resolved = global_args.get(key)
            if resolved is not None:
                state.env[key] = resolved
    elif kind == "env":
        if not node.args:
            raise r.fail(line, "ENV requires at least one argument")
        for key, value in _kvps(node):
            if not key:
                raise r.fail(line, "ENV names can not be blank")
            k, v = r.word(key, state.env, line), r.word(value, state.env, line)
            state.env[k] = v
            state.config_env[k] = v
    elif kind == "onbuild":
        _onbuild(r, node, state)
    elif kind == "run":
        r.runs.append(line)
        _run_mounts(r, node, state, index, names)
    elif kind in ("copy", "add"):
        _copy(r, node, state, index, stages, names)
    else:
        _check_arguments(r, node)


def _check_arguments(r: _Reader, node: Node) -> None:
    """The argument checks of buildkit's instruction parsers: a malformed line is bad input, as in Docker."""
    kind, name, count = node.command, node.value.upper(), len(node.args)
    if kind in ("expose", "label", "volume", "healthcheck") and count == 0:
        raise r.fail(node.start_line, f"{name} requires at least one argument")
    if kind in ("maintainer", "stopsignal", "user", "workdir") and count != 1:
        raise r.fail(node.start_line, f"{name} requires exactly one argument")
    if kind == "shell" and (count == 0 or not node.json):
        raise r.fail(node.start_line, "SHELL requires the arguments to be in JSON form")
    if kind == "volume" and any(not v.strip() for v in node.args):
        raise r.fail(node.start_line, "VOLUME specified can not be an empty string")
    if kind == "healthcheck":
        typ = node.args[0].upper()
        if typ == "NONE" and count > 1:
            raise r.fail(node.start_line, "HEALTHCHECK NONE takes no arguments")
        if typ not in ("NONE", "CMD"):
            raise r.fail(node.start_line, f"Unknown type {typ!r} in HEALTHCHECK (try CMD)")


def _onbuild(r: _Reader, node: Node, state: _StageState) -> None:
    sub = node.sub
    if sub is None:
        raise r.fail(node.start_line, "ONBUILD requires at least one argument")
    trigger = sub.value.upper()
    if trigger == "ONBUILD":
        raise r.fail(node.start_line, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    if trigger in ("MAINTAINER", "FROM"):
        raise r.fail(node.start_line, f"{trigger} isn't allowed as an ONBUILD trigger")
    if sub.command not in INSTRUCTIONS:
        raise r.fail(node.start_line, f"unknown instruction: {sub.value}")
    expression = re.sub(r"(?i)^\s*ONBUILD\s*", "", node.original)
    for doc in node.heredocs:
        expression += "\n" + doc.content + doc.name
    state.onbuild.append(expression)


def _unknown_names(state: _StageState) -> Callable[[str], bool]:
    def unknown(name: str) -> bool:
        if name in UNKNOWN_BUILD_ARGS and name in state.env:
            return True
        return name not in state.env and not state.known

    return unknown


def _copy(r: _Reader, node: Node, state: _StageState, index: int, stages: list[Stage],
          names: dict[str, int]) -> None:
    kind = node.value.upper()
    line = node.start_line
    flags = r.flags(node, _COPY_FLAGS if kind == "COPY" else _ADD_FLAGS)
    if len(node.args) < 2:
        raise r.fail(line, f"{kind} requires at least two arguments, but only one was provided. "
                           "Destination could not be determined")
    try:
        if parse_heredoc(node.args[-1]) is not None:
            raise r.fail(line, f"{kind} cannot accept a heredoc as a destination")
        sources = [s for s in node.args[:-1] if parse_heredoc(s) is None]
    except DockerfileSyntaxError as exc:
        raise r.fail(line, exc.reason) from None
    lex = r.lex(_unknown_names(state))
    expanded = tuple(r.word(s, state.env, line, lex) for s in sources)
    from_ = flags.get("from", [None])[0]
    if from_ is not None:
        if r.word(from_, {}, line) != from_:
            raise r.fail(line, "variable expansion is not supported for --from, define a new stage with FROM "
                               "using ARG from global scope as a workaround")
        if from_.isdigit() and int(from_) >= len(stages):
            raise r.fail(line, f"invalid stage index {from_}")
        r.depend(index, from_, names, len(stages))
    broad = bool(lex.unresolved) and from_ is None  # a --from source is not the context's
    if broad:
        r.warnings.append(
            f"{r.where}:{line}: {kind} source names {', '.join(sorted(lex.unresolved))}, which ci-tags cannot "
            "know here (the base image's environment or the build machine); the whole context is hashed")
    if expanded:
        r.copies.append(Copy(kind, expanded, from_, index, line, broad))


def _run_mounts(r: _Reader, node: Node, state: _StageState, index: int, names: Mapping[str, int]) -> None:
    """``RUN --mount=type=bind`` (the default type) reads the context, or a stage or image with ``from``."""
    for flag in node.flags:
        if not flag.startswith("--mount="):
            continue
        lex = r.lex(_unknown_names(state))
        fields: dict[str, str] = {}
        for item in flag[len("--mount="):].split(","):
            key, eq, value = item.partition("=")
            fields[key.strip().lower()] = r.word(value, state.env, node.start_line, lex) if eq else ""
        kind = fields.get("type", "bind")
        source = fields.get("source", fields.get("src", "/"))
        frm = fields.get("from")
        if kind not in ("bind", "cache") or (kind == "cache" and not frm):
            continue
        if frm:
            r.depend(index, frm, names, index)
            if frm not in r.mounts:
                r.mounts.append(frm)  # a stage or an image: external_images() tells them apart
            continue
        broad = bool(lex.unresolved)
        r.copies.append(Copy("RUN", (source,), None, index, node.start_line, broad))


def rewrite_bases(text: str, replacements: Mapping[str, str], build_args: Mapping[str, str] | None = None,
                  *, arch: str = "amd64") -> str:
    """The Dockerfile with each FROM image that ``replacements`` names (as Docker reads it, ARGs expanded)
    replaced, at the positions the parser found, so a build runs on exactly the parent image it was hashed
    with. Nothing else changes: not a heredoc body, not a line that only looks like a FROM."""
    stages = parse_dockerfile(text, build_args, arch=arch).stages
    body = text[1:] if text.startswith("\ufeff") else text
    out: list[str] = []
    at = 0
    for stage in stages:
        if stage.base_stage is None and stage.image in replacements and stage.image_span:
            start, end = stage.image_span
            out += [body[at:start], replacements[stage.image]]
            at = end
    out.append(body[at:])
    return ("\ufeff" if text.startswith("\ufeff") else "") + "".join(out)
