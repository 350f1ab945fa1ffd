"""A small Dockerfile reader: what the content hash needs to know, no more.

It follows the Dockerfile reference for line continuations (with the ``escape`` parser directive), comments,
``ARG`` before ``FROM`` (expanded in ``FROM`` lines), ``FROM [--platform=...] IMAGE [AS NAME]`` and
``COPY``/``ADD`` in both the shell and the JSON-array form, with their ``--from``, ``--chown``, ``--chmod``,
``--link`` and ``--parents`` flags. Heredoc bodies are part of the Dockerfile's bytes and read nothing from the
context.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from ci_tags.errors import BadInput

_DIRECTIVE_RE = re.compile(r"#\s*([a-zA-Z_]+)\s*=\s*(\S+)\s*$")
_VAR_RE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-+][^}]*)?\}|([A-Za-z_][A-Za-z0-9_]*))")


@dataclass(frozen=True)
class Stage:
    image: str  # as written, ARGs expanded
    name: str | None
    line: int


@dataclass(frozen=True)
class Copy:
    instruction: str  # COPY or ADD
    sources: tuple[str, ...]
    from_: str | None  # --from value: a stage name or index, or an image
    stage: int  # index of the stage it belongs to
    line: int


@dataclass(frozen=True)
class Dockerfile:
    stages: tuple[Stage, ...]
    copies: tuple[Copy, ...]
    runs: tuple[int, ...] = ()  # line numbers of RUN instructions: steps that execute inside the image

    def stage_names(self) -> set[str]:
        return {s.name for s in self.stages if s.name} | {str(i) for i in range(len(self.stages))}

    def external_images(self) -> list[str]:
        """Images the build pulls: FROM lines that are not earlier stages, and COPY --from=<image>."""
        seen: list[str] = []
        names: set[str] = set()
        for i, stage in enumerate(self.stages):
            if stage.image.lower() not in names and stage.image not in seen:
                seen.append(stage.image)
            if stage.name:
                names.add(stage.name.lower())
            names.add(str(i))
        for c in self.copies:
            if c.from_ and c.from_.lower() not in {n.lower() for n in self.stage_names()} and c.from_ not in seen:
                seen.append(c.from_)
        return [s for s in seen if s != "scratch"]


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Join continuation lines; drop comments and blank lines; keep each instruction's first line number."""
    escape = "\\"
    lines = text.splitlines()
    for raw in lines:  # parser directives come first
        m = _DIRECTIVE_RE.match(raw.strip())
        if not m:
            break
        if m.group(1).lower() == "escape" and m.group(2) in ("\\", "`"):
            escape = m.group(2)
    out: list[tuple[int, str]] = []
    current: list[str] = []
    start = 0
    heredoc: str | None = None
    for number, raw in enumerate(lines, 1):
        if heredoc is not None:  # heredoc bodies are not instructions
            if raw.strip() == heredoc:
                heredoc = None
            continue
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue  # comment lines inside a continuation are removed
        if not current:
            start = number
        if stripped.endswith(escape):
            current.append(stripped[: -len(escape)])
            continue
        current.append(stripped)
        line = " ".join(current)
        current = []
        out.append((start, line))
        doc = re.search(r"<<-?\s*[\"']?([A-Za-z_][A-Za-z0-9_]*)[\"']?", line)
        if doc and line.split(None, 1)[0].upper() in ("RUN", "COPY", "ADD"):
            heredoc = doc.group(1)
    if current:
        out.append((start, " ".join(current)))
    return out


def expand(text: str, values: Mapping[str, str]) -> str:
    """``$VAR`` and ``${VAR}`` with the values known; unknown variables expand to empty, as in Docker."""
    return _VAR_RE.sub(lambda m: values.get(m.group(1) or m.group(2), ""), text)


def _split_flags(args: str) -> tuple[dict[str, str], str]:
    flags: dict[str, str] = {}
    rest = args.strip()
    while rest.startswith("--"):
        word, _, rest = rest.partition(" ")
        key, _, value = word[2:].partition("=")
        flags[key.lower()] = value
        rest = rest.strip()
    return flags, rest


def parse_dockerfile(text: str, build_args: Mapping[str, str] | None = None, where: str = "Dockerfile") -> Dockerfile:
    """Parse a Dockerfile; ``build_args`` override ARG defaults. Raises BadInput for what Docker would refuse."""
    build_args = dict(build_args or {})
    global_args: dict[str, str] = {}
    stage_args: dict[str, str] = {}
    stages: list[Stage] = []
    copies: list[Copy] = []
    runs: list[int] = []
    for line_no, line in _logical_lines(text):
        word, _, args = line.partition(" ")
        instruction = word.upper()
        if instruction == "RUN":
            runs.append(line_no)
            continue
        if instruction == "ARG":
            for item in shlex.split(args):
                name, eq, default = item.partition("=")
                value = build_args.get(name, default if eq else "")
                (stage_args if stages else global_args)[name] = value
            continue
        if instruction == "FROM":
            _, rest = _split_flags(args)  # --platform does not change what is pulled by name
            parts = expand(rest, {**global_args, **build_args}).split()
            if not parts:
                raise BadInput(f"{where}:{line_no}: FROM names no image")
            stage_name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(parts[0], stage_name, line_no))
            stage_args = {}
            continue
        if instruction in ("COPY", "ADD"):
            if not stages:
                raise BadInput(f"{where}:{line_no}: {instruction} before the first FROM")
            flags, rest = _split_flags(args)
            values = {**global_args, **stage_args, **build_args}
            if rest.startswith("["):
                try:
                    items = [str(x) for x in json.loads(rest)]
                except json.JSONDecodeError:
                    raise BadInput(f"{where}:{line_no}: {instruction} has a malformed JSON array") from None
            elif "<<" in rest:
                continue  # a heredoc: the content is in the Dockerfile itself
            else:
                items = rest.split()
            if len(items) < 2:
                raise BadInput(f"{where}:{line_no}: {instruction} needs a source and a destination")
            sources = tuple(expand(s, values) for s in items[:-1])
            from_ = expand(flags["from"], values) if "from" in flags else None
            copies.append(Copy(instruction, sources, from_, len(stages) - 1, line_no))
    if not stages:
        raise BadInput(f"{where}: no FROM instruction")
    return Dockerfile(tuple(stages), tuple(copies), tuple(runs))


def rewrite_bases(text: str, replacements: Mapping[str, str], build_args: Mapping[str, str] | None = None) -> str:
    """The Dockerfile with each FROM image that ``replacements`` names (as it reads after ARG expansion)
    replaced, so a build runs on exactly the parent image it was hashed with. Other lines are untouched."""
    build_args = dict(build_args or {})
    global_args: dict[str, str] = {}
    seen_from = False
    out = []
    for raw in text.splitlines(keepends=True):
        stripped = raw.strip()
        word = stripped.split(None, 1)[0].upper() if stripped else ""
        if word == "ARG" and not seen_from:
            for item in shlex.split(stripped[3:]):
                name, eq, default = item.partition("=")
                global_args[name] = build_args.get(name, default if eq else "")
        if word == "FROM":
            seen_from = True
            tokens = stripped.split()
            i = 1
            while i < len(tokens) and tokens[i].startswith("--"):
                i += 1
            if i < len(tokens):
                image = expand(tokens[i], {**global_args, **build_args})
                if image in replacements:
                    tokens[i] = replacements[image]
                    indent = raw[: len(raw) - len(raw.lstrip())]
                    raw = indent + " ".join(tokens) + ("\n" if raw.endswith("\n") else "")
        out.append(raw)
    return "".join(out)
