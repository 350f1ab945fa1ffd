"""The stages of a Dockerfile evaluated as buildkit's dockerfile2llb dispatches them: ARG and ENV scoping, the
base of each stage, ONBUILD triggers, COPY/ADD sources expanded, RUN mounts, and what each stage depends on.
The public reader is :func:`ci_tags.core.dockerfile.parse_dockerfile`."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ci_tags.core.dockerfile import (
    DEFAULT_PATH,
    INSTRUCTIONS,
    UNKNOWN_BUILD_ARGS,
    Copy,
    Dockerfile,
    Stage,
    platform_args,
)
from ci_tags.core.dockerfile_reader import Reader
from ci_tags.core.dockerfile_syntax import DockerfileSyntaxError, Node, parse_heredoc, parse_syntax
from ci_tags.core.shellwords import ShellLex
from ci_tags.errors import BadInput

_STAGE_NAME = re.compile(r"[a-z][a-z0-9-_.]*\Z")
_COPY_FLAGS = {"chown": "s", "from": "s", "chmod": "s", "link": "b", "exclude": "m", "parents": "b"}
# instructions whose parser refuses every flag (buildkit's ARG and STOPSIGNAL parsers ignore flags)
_NO_FLAGS = ("cmd", "entrypoint", "env", "expose", "label", "maintainer", "onbuild", "shell", "user", "volume",
             "workdir")
_HEALTHCHECK_FLAGS = {"interval": "s", "timeout": "s", "start-period": "s", "start-interval": "s", "retries": "s"}
_ADD_FLAGS = {"chown": "s", "chmod": "s", "link": "b", "keep-git-dir": "b", "checksum": "s", "unpack": "b",
              "exclude": "m"}


@dataclass
class _StageState:
    env: dict[str, str]
    config_env: dict[str, str]
    known: bool  # whether env holds every variable the stage has
    onbuild: list[str] = field(default_factory=list)
    uncertain: set[str] = field(default_factory=set)  # names whose value depends on what ci-tags cannot know


def _kvps(node: Node) -> list[tuple[str, str]]:
    args = node.args
    return [(args[i], args[i + 1]) for i in range(0, len(args) - 2, 3)]


def evaluate(r: Reader, nodes: list[Node], target: str | None) -> Dockerfile:
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
    needed = [i for i in sorted(r.deferred) if i in reachable]
    if needed:
        raise r.deferred[needed[0]]
    return Dockerfile(
        tuple(stages), tuple(r.copies), tuple(r.runs), tuple(dict.fromkeys(r.warnings)),
        dict(final.config_env), tuple(final.onbuild), tuple(r.mounts),
        frozenset(reachable), frozenset(k for k in final.uncertain if k in final.config_env), final.known,
    )


def _arg_pairs(r: Reader, node: Node) -> list[tuple[str, str | None]]:
    if not node.args:
        raise r.fail(node.start_line, "ARG requires at least one argument")
    out: list[tuple[str, str | None]] = []
    for arg in node.args:
        key, eq, value = arg.partition("=")
        if eq and not key:
            raise r.fail(node.start_line, "ARG names can not be blank")
        out.append((key, value if eq else None))
    return out


def _from(r: Reader, node: Node, global_args: dict[str, str], stages: list[Stage],
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
        state = _StageState(dict(parent.env), dict(parent.config_env), parent.known,
                            uncertain=set(parent.uncertain))
        triggers = parent.onbuild
    elif image == "scratch":
        state = _StageState({"PATH": DEFAULT_PATH}, {"PATH": DEFAULT_PATH}, True)
        triggers = []
    else:
        info = r.base_info(image)
        env = dict(info.env) if info.env is not None else {}
        env.setdefault("PATH", DEFAULT_PATH)
        state = _StageState(dict(env), dict(env), info.env is not None and info.complete,
                            uncertain=set(info.uncertain))
        if info.env is None:
            state.uncertain.add("PATH")  # the image's own PATH, most likely
        triggers = list(info.onbuild)
    stages.append(Stage(image, name, line, span, base))
    states.append(state)
    if name:
        names[name] = len(stages) - 1
    for expression in triggers:
        _trigger(r, expression, node, state, len(stages) - 1, global_args, stages, names)
    return state


def _trigger(r: Reader, expression: str, from_node: Node, state: _StageState, index: int,
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


def _instruction(r: Reader, node: Node, state: _StageState, index: int, global_args: dict[str, str],
                 stages: list[Stage], names: dict[str, int]) -> None:
    r.stage = index
    try:
        _dispatch(r, node, state, index, global_args, stages, names)
    finally:
        r.stage = None


def _dispatch(r: Reader, node: Node, state: _StageState, index: int, global_args: dict[str, str],
              stages: list[Stage], names: dict[str, int]) -> None:
    kind = node.command
    line = node.start_line
    if kind in _NO_FLAGS:
        r.flags(node, {})
    elif kind == "healthcheck" and [a.upper() for a in node.args[:1]] != ["NONE"]:
        r.flags(node, _HEALTHCHECK_FLAGS)
    if kind == "arg":
        for key, value in _arg_pairs(r, node):
            lex = r.lex(_unknown_names(state))
            if key in r.build_args:
                resolved: str | None = r.build_args[key]
            elif value is not None:
                resolved = r.word(value, state.env, line, lex)
            else:
                resolved = global_args.get(key)
            if resolved is not None:
                state.env[key] = resolved
                _note_certainty(state, key, lex)
    elif kind == "env":
        if not node.args:
            raise r.fail(line, "ENV requires at least one argument")
        for key, value in _kvps(node):
            if not key:
                raise r.fail(line, "ENV names can not be blank")
            lex = r.lex(_unknown_names(state))
            k, v = r.word(key, state.env, line, lex), r.word(value, state.env, line, lex)
            state.env[k] = v
            state.config_env[k] = v
            _note_certainty(state, k, lex)
    elif kind == "onbuild":
        _onbuild(r, node, state)
    elif kind == "run":
        r.runs.append(line)
        _run_mounts(r, node, state, index, names)
    elif kind in ("copy", "add"):
        _copy(r, node, state, index, stages, names)
    else:
        _check_arguments(r, node)


def _check_arguments(r: Reader, node: Node) -> None:
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


def _onbuild(r: Reader, node: Node, state: _StageState) -> None:
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


def _note_certainty(state: _StageState, key: str, lex: ShellLex) -> None:
    """A value made from a name ci-tags cannot know is not known either (``ARG D=$BASE_ENV_DIR``)."""
    if lex.unresolved:
        state.uncertain.add(key)
    else:
        state.uncertain.discard(key)


def _unknown_names(state: _StageState) -> Callable[[str], bool]:
    def unknown(name: str) -> bool:
        if name in state.uncertain:
            return True
        if name in UNKNOWN_BUILD_ARGS and name in state.env:
            return True
        return name not in state.env and not state.known

    return unknown


def _copy(r: Reader, node: Node, state: _StageState, index: int, stages: list[Stage],
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
    from_ = flags.get("from", [""])[0] or None  # an empty --from= is the context, as in buildkit
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
        r.copies.append(Copy(kind, expanded, from_, index, line, broad, from_span=_from_span(node, from_)))


def _from_span(node: Node, from_: str | None) -> tuple[int, int] | None:
    """Where a plainly written ``--from=<value>`` is in the file, for build to pin a parent image there."""
    if from_ is None or not node.offsets:
        return None
    m = re.search(r"--from=(\S+)", node.original[: node.args_offset])
    if not m or m.group(1) != from_ or m.end(1) > len(node.offsets):
        return None  # quoted or escaped: left as written
    return node.offsets[m.start(1)], node.offsets[m.end(1) - 1] + 1


def _run_mounts(r: Reader, node: Node, state: _StageState, index: int, names: Mapping[str, int]) -> None:
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
