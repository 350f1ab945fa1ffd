"""What one evaluation of a Dockerfile carries from instruction to instruction (:mod:`ci_tags.core.dockerfile_stages`):
the build args, the words' expansion (errors deferred per stage, as Docker expands only the stages it runs), flags
read as buildkit's BFlags reads them, and what was found (copies, RUN lines, mounts, stage dependencies)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ci_tags.core.dockerfile import BaseInfo, Copy
from ci_tags.core.dockerfile_lines import Node
from ci_tags.core.shellwords import ShellLex, ShellSyntaxError
from ci_tags.errors import BadInput

# Docker's shell lexer reads a word rune by rune (Go's text/scanner): a byte that is not UTF-8 (kept by
# decode_dockerfile as a surrogate escape) comes out as U+FFFD, so `COPY caf\xe9.txt` names caf\ufffd.txt.
_GO_RUNE_ERROR = {code: "\ufffd" for code in range(0xDC80, 0xDD00)}


class Reader:
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
        # Docker expands a stage's instructions only when it runs the stage: an expansion error (an unbalanced
        # quote, ${X:?unset}) in a stage is kept here, by stage, and raised only if the target needs that stage
        self.stage: int | None = None
        self.deferred: dict[int, BadInput] = {}

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
            return (lex or self.lex()).process_word(text, env).translate(_GO_RUNE_ERROR)
        except ShellSyntaxError as exc:
            error = self.fail(line, str(exc))
            if self.stage is None:
                raise error from None
            self.deferred.setdefault(self.stage, error)
            return text  # as written: only a stage the build skips goes on with it

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
