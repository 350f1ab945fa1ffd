"""Options declared once: each command's options are a frozen dataclass whose fields carry their flag, and the
parser (:func:`register`) and the typed options (:func:`from_args`) are made from it. No other module calls
``add_argument`` (tests/test_architecture.py checks it).

Adding a flag is one line in the dataclass that holds it (the command's ``Options``, or a shared group)::

    @dataclass(frozen=True, kw_only=True)
    class Options:
        repositories: tuple[str, ...] = positional("REPO", nargs="*", help="default: every image of ci-tags.yml")
        keep: tuple[str, ...] = flag("--keep", default=(), metavar="REGEX", help="never remove tags matching this")
        keep_last: int = flag("--keep-last", default=0, metavar="N", help="keep the N newest tags of each kind")
        dry_run: bool = flag("--dry-run", default=False, help="print what a real run would remove; remove nothing")
        backend: BackendOptions = group(BackendOptions)  # a shared group: its flags, in its order

The field's type says how the value is read (a flag not given is its ``default``: None unless said; a ``bool``
switch says ``default=False`` and a flag given several times ``default=()``, which the parser checks):

==========================  =========================================================================
``bool``                    ``--flag`` alone (store_true), False when not given
``bool | None``             ``--flag true|false``; None when not given
``int``, ``int | None``     a number (argparse says so when it is not one)
``str``, ``str | None``     as written
``Path``, ``Path | None``   a path (an empty value is None)
``tuple[str, ...]``         a flag given several times, or a positional of ``nargs`` "*" or "+"
a dataclass, by ``group``   that dataclass's own flags, in its field order, filled in as one value
==========================  =========================================================================

``flag``'s keywords are argparse's where they mean the same (``metavar``, ``choices``, ``required``, ``help``);
``choices`` may be a function (called when the parser is built: a table imported only then); ``hidden=True``
keeps a flag out of ``--help``; ``env="CI_TAGS_X"`` names the environment variable the value falls back to
(read where it is used, from the context's environment) and adds ``; env CI_TAGS_X`` to the help unless the help
names it already; ``convert`` turns the parsed value into the field's (e.g. a lower bound). Fields are in help
order; the flags' order in ``--help`` is the fields' order.

Declare options dataclasses with ``kw_only=True`` (a required positional may follow a defaulted flag) and import
the types of their fields at run time (the reading is found from the annotations).
"""

from __future__ import annotations

import argparse
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
_FLAG = "ci_tags.flag"
_GROUP = "ci_tags.group"


@dataclass(frozen=True)
class Flag:
    """What a field's flag is (the metadata :func:`flag` and :func:`positional` put on a field)."""

    names: tuple[str, ...]  # ("--max-age",); () for a positional
    metavar: str | None = None
    help: str | None = None
    choices: Sequence[Any] | Callable[[], Sequence[Any]] | None = None
    env: str | None = None
    required: bool = False
    hidden: bool = False
    nargs: str | None = None  # a positional's "*" or "+"
    convert: Callable[[Any], Any] | None = None

    def help_text(self) -> str | None:
        if self.hidden:
            return argparse.SUPPRESS
        if self.env and (self.help is None or self.env not in self.help):
            return f"{self.help}; env {self.env}" if self.help else f"env {self.env}"
        return self.help


def flag(*names: str, default: Any = None, metavar: str | None = None, help: str | None = None,
         choices: Sequence[Any] | Callable[[], Sequence[Any]] | None = None, env: str | None = None,
         required: bool = False, hidden: bool = False, convert: Callable[[Any], Any] | None = None) -> Any:
    """A field read from ``--name`` (the first name is the one help and errors show); ``default``: the value
    when not given (None; a ``bool`` switch says False, several values say ())."""
    spec = Flag(names, metavar, help, choices, env, required, hidden, None, convert)
    return field(metadata={_FLAG: spec}) if required else field(default=default, metadata={_FLAG: spec})


def positional(metavar: str | None = None, *, nargs: str | None = None, help: str | None = None) -> Any:
    """A field read from a positional argument (``metavar`` is its name in help; the field's name without);
    ``nargs`` "*" or "+" for several (a tuple, () when "*" has none)."""
    spec = Flag((), metavar, help, nargs=nargs)
    return field(default=(), metadata={_FLAG: spec}) if nargs == "*" else field(metadata={_FLAG: spec})


def group(options: type[Any]) -> Any:
    """A field holding a shared options dataclass: its flags are the command's, where the field stands."""
    return field(default_factory=options, metadata={_GROUP: options})


@dataclass(frozen=True)
class _Reading:
    """How a field's value is read, from its type."""

    kind: str  # "switch", "bool", "int", "str", "path", "many"
    optional: bool


def _reading(hint: Any) -> _Reading:
    args = typing.get_args(hint)
    optional = type(None) in args and (typing.get_origin(hint) in (typing.Union, types.UnionType))
    if optional:
        (hint,) = [a for a in args if a is not type(None)]
    if typing.get_origin(hint) is tuple:
        return _Reading("many", optional)
    for kind, python_type in (("int", int), ("path", Path), ("str", str)):
        if hint is python_type:
            return _Reading(kind, optional)
    if hint is bool:
        return _Reading("bool" if optional else "switch", optional)
    raise TypeError(f"no command-line reading for a field of type {hint!r}")


_HINTS: dict[type[Any], dict[str, Any]] = {}  # once per class: evaluating the annotations is most of a parse


def _hints(options: type[Any]) -> dict[str, Any]:
    if options not in _HINTS:
        _HINTS[options] = typing.get_type_hints(options)
    return _HINTS[options]


def register(parser: argparse.ArgumentParser, options: type[Any], *, suppress_defaults: bool = False,
             prefix: str = "") -> None:
    """Add the flags of ``options`` (a dataclass of :func:`flag` and :func:`positional` fields) to ``parser``.
    ``suppress_defaults``: a flag not given sets nothing (a command's copy of an option the root parser also
    takes must not reset what the root parser set); ``prefix``: of the flags' names in the parsed namespace (a
    group added by another parser than the command's, as the registry options)."""
    hints = _hints(options)
    for f in fields(options):
        dest = prefix + f.name
        if _GROUP in f.metadata:
            register(parser, f.metadata[_GROUP], suppress_defaults=suppress_defaults, prefix=dest + ".")
            continue
        spec: Flag = f.metadata[_FLAG]
        reading = _reading(hints[f.name])
        expected = {"switch": False, "many": ()}.get(reading.kind, f.default)
        if spec.names and f.default != expected:  # a mistake of the declaration: found by any test of the command
            raise TypeError(f"{options.__name__}.{f.name}: a flag of type {hints[f.name]} defaults to {expected!r}")
        kwargs: dict[str, Any] = {"help": spec.help_text()}
        if spec.metavar is not None:
            kwargs["metavar"] = spec.metavar
        choices = spec.choices() if callable(spec.choices) else spec.choices
        if reading.kind == "bool":
            choices = choices or ("true", "false")
        if choices is not None:
            kwargs["choices"] = list(choices)
        if reading.kind == "int":
            kwargs["type"] = int
        if not spec.names:  # a positional: its dest is its name
            if spec.nargs is not None:
                kwargs["nargs"] = spec.nargs
            parser.add_argument(dest, **kwargs)
            continue
        kwargs["dest"] = dest
        if reading.kind == "switch":
            kwargs["action"] = "store_true"
        elif spec.metavar is None and choices is None:  # as argparse names it from the flag
            kwargs["metavar"] = spec.names[0].lstrip("-").replace("-", "_").upper()
        if reading.kind == "many":
            kwargs["action"] = "append"
        if spec.required:
            kwargs["required"] = True
        if suppress_defaults:
            kwargs["default"] = argparse.SUPPRESS
        elif reading.kind == "many":
            kwargs["default"] = []
        elif f.default is not MISSING and reading.kind != "switch":
            kwargs["default"] = f.default
        parser.add_argument(*spec.names, **kwargs)


def from_args(options: type[T], args: argparse.Namespace, *, prefix: str = "") -> T:
    """The typed options of a parsed command line (the parser made by :func:`register`); a flag the parser did
    not set takes the field's default; ``prefix`` as given to :func:`register`."""
    hints = _hints(options)
    values: dict[str, Any] = {}
    for f in fields(typing.cast(Any, options)):
        dest = prefix + f.name
        if _GROUP in f.metadata:
            values[f.name] = from_args(f.metadata[_GROUP], args, prefix=dest + ".")
            continue
        if not hasattr(args, dest):
            continue  # the field's default
        spec: Flag = f.metadata[_FLAG]
        value = _typed(_reading(hints[f.name]), getattr(args, dest))
        values[f.name] = spec.convert(value) if spec.convert else value
    return options(**values)


def _typed(reading: _Reading, value: Any) -> Any:
    if reading.kind == "many":
        return tuple(value or ())
    if reading.kind == "bool":
        return None if value is None else value == "true"
    if reading.kind == "path":
        return Path(value) if value or not reading.optional else None
    return value


def add_version(parser: argparse.ArgumentParser, version: str) -> None:
    """``--version`` of the root parser."""
    parser.add_argument("--version", action="version", version=version)

