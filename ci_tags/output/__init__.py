"""The only package that prints.

Human output uses rich on a terminal (colour unless ``NO_COLOR`` is set), plain lines when not a terminal (CI
logs), and ``--json`` prints one JSON document on stdout. Errors and warnings go to stderr.

The JSON document is held until the run ends, so a run that fails after its results are known still prints one
object: the results plus ``error``. Its shape per command is published in ``schemas/<command>.json``.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

from ci_tags.errors import CiTagsError

if TYPE_CHECKING:
    from ci_tags.output.result import Result
    from ci_tags.output.text import Renderer

# Bumped only when a key is removed or changes meaning; new keys may appear at any version.
SCHEMA_VERSION = 1


class Output:
    def __init__(
        self,
        *,
        json_mode: bool = False,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.json_mode = json_mode
        self.command: str | None = None
        self._document: dict[str, Any] | None = None
        self._error: dict[str, Any] | None = None
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        env = env or {}
        self.tty = hasattr(self.stdout, "isatty") and self.stdout.isatty() and env.get("TERM") != "dumb"
        self.color = self.tty and "NO_COLOR" not in env
        self._debug_handler: logging.Handler | None = None
        self.report_path = env.get("CI_TAGS_REPORT") or None  # the pipeline's Markdown report (output/report.py)
        self.started = time.monotonic()
        self._lock = threading.Lock()  # lines come from worker threads too (a removal printed as it happens)

    # -- results ---------------------------------------------------------------------------------------------

    def json(self, data: Mapping[str, Any]) -> None:
        """The command's result document, written (with ``schema_version`` and ``command``) when the run ends."""
        self._document = dict(data)

    def line(self, text: str = "") -> None:
        """One human line on stdout (silent in JSON mode, where the document is the whole output)."""
        if not self.json_mode:
            with self._lock:
                self.stdout.write(text + "\n")
                self.stdout.flush()

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """A table: rich on a terminal, tab-separated lines with a header otherwise."""
        if self.json_mode:
            return
        if self.tty:
            from rich.console import Console
            from rich.table import Table

            table = Table(title=title)
            for col in columns:
                table.add_column(col)
            for row in rows:
                table.add_row(*(str(c) for c in row))
            Console(file=self.stdout, no_color=not self.color, highlight=False).print(table)
            return
        if title:
            self.stdout.write(f"# {title}\n")
        self.stdout.write("\t".join(columns) + "\n")
        for row in rows:
            self.stdout.write("\t".join(str(c) for c in row) + "\n")
        self.stdout.flush()

    # -- diagnostics -----------------------------------------------------------------------------------------

    def warn(self, text: str) -> None:
        from ci_tags.core.secrets import scrub

        with self._lock:
            self.stderr.write(f"warning: {scrub(text)}\n")
            self.stderr.flush()

    def error(self, exc: CiTagsError) -> None:
        from ci_tags.core.secrets import scrub

        for problem in exc.problems:  # each malformed entry of an input file, before the error that ends the run
            self.problem(problem)
        self.stderr.write(f"ci-tags: {exc.label}: {scrub(str(exc))}\n")
        self.stderr.flush()
        self.failed(exc.kind, exc.message, exc.exit_code, exc.hint)

    def failed(self, kind: str, message: str, exit_code: int, hint: str | None = None) -> None:
        """Record why the run failed, for the ``error`` object of the JSON document."""
        self._error = {"kind": kind, "message": message, "exit_code": exit_code}
        if hint:
            self._error["hint"] = hint

    def log(self, text: str) -> None:
        """A line of a tool's log (the builder's), on stderr in every mode: --json must not hide a failing build."""
        self.stderr.write(text + "\n")
        self.stderr.flush()

    def problem(self, text: str) -> None:
        """One of several problems found in an input (each listed before the error that ends the run)."""
        self.stderr.write(f"problem: {text}\n")
        self.stderr.flush()

    def info(self, text: str) -> None:
        """Progress notes for humans, on stderr so stdout stays parseable."""
        if not self.json_mode:
            self.stderr.write(text + "\n")
            self.stderr.flush()

    @contextmanager
    def progress(self, description: str, total: int) -> Iterator[Any]:
        """A progress bar on a terminal; a no-op callable advance() elsewhere."""
        if not self.tty or self.json_mode or total < 20:
            yield lambda n=1: None
            return
        from rich.console import Console
        from rich.progress import Progress

        # on stderr, so the lines on stdout (one per removed tag) stay whole; transient: gone when done
        with Progress(transient=True, console=Console(file=self.stderr, no_color=not self.color)) as bar:
            task = bar.add_task(description, total=total)
            yield lambda n=1: bar.advance(task, n)

    def enable_debug(self) -> None:
        """Trace every HTTP request on stderr (URLs with secret-looking query values masked, no headers)."""
        handler = logging.StreamHandler(self.stderr)
        handler.setFormatter(logging.Formatter("debug: %(message)s"))
        logger = logging.getLogger("ci_tags")
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        self._debug_handler = handler

    def close(self) -> None:
        """Write the JSON document; detach the debug handler, so in-process runs do not pile them up."""
        if self.json_mode and (self._document is not None or self._error is not None):
            doc: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "command": self.command}
            doc.update(self._document or {})
            if self._error is not None:
                doc["error"] = self._error
            self.stdout.write(json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n")
            self.stdout.flush()
            self._document = self._error = None
        if self._debug_handler is not None:
            logger = logging.getLogger("ci_tags")
            logger.removeHandler(self._debug_handler)
            logger.setLevel(logging.NOTSET)
            self._debug_handler = None


def render(result: Result, out: Output, renderers: Sequence[Renderer[Any]]) -> int:
    """Show a command's result in the chosen format (its renderer is the one of ``renderers`` for its type);
    report its problems and its partial failure after it. The exit code.

    Under --json the document is the whole of stdout and no human renderer runs; the result's problems are warned
    on stderr in every format, as a command's warnings always were."""
    from ci_tags.output.text import renderer_of

    renderer = renderer_of(result, renderers)
    if out.json_mode:
        out.json(result.document())
    elif renderer.lines is not None:
        renderer.lines(result, out)
    for problem in renderer.problems(result) if renderer.problems else ():
        out.warn(problem)
    if out.report_path and renderer.markdown is not None:
        _report(renderer.markdown(result), out)
    if result.failure is not None:
        out.error(result.failure)
        return result.failure.exit_code
    return 0


def _report(lines: list[str], out: Output) -> None:
    """The result's section of the pipeline's Markdown report; a report that cannot be written is a warning, never
    the run's failure (the work is done)."""
    from ci_tags.output.report import append_section

    assert out.report_path is not None
    try:
        append_section(out.report_path, lines, time.monotonic() - out.started)
    except OSError as exc:
        out.warn(f"cannot write the report {out.report_path}: {exc.strerror}")
