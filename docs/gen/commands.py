"""The command pages, made from the parsers ``ci-tags COMMAND --help`` prints, so the two cannot drift.

The parsers are read through ``ci_tags.cli``'s own parser building (the names in ``COMMANDS``, ``build_parser``):
whatever way a command declares its options, what argparse ends up with is what the page shows. The options every
command shares are found as what all the parsers have in common.
"""

from __future__ import annotations

import argparse
import functools
import os

from ci_tags import cli

HELP_WIDTH = "88"  # argparse wraps --help at $COLUMNS; fixed, so the pages do not depend on the terminal


def cell(text: str) -> str:
    """Text for a Markdown table cell: no HTML, no column break, no emphasis by accident."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
            .replace("*", "\\*").replace("\n", " "))


def subparser(name: str) -> argparse.ArgumentParser:
    """The parser of ``ci-tags NAME``, built as the CLI builds it when NAME is run."""
    os.environ["COLUMNS"] = HELP_WIDTH
    root = cli.build_parser(name)
    for action in root._actions:  # the subparsers action is argparse's one way to reach a command's parser
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[name]  # type: ignore[no-any-return]
    raise LookupError(f"ci-tags has no command {name}")


def invocation(action: argparse.Action) -> str:
    """``--tag TAG``, ``-n, --dry-run``, ``REPO...``: how the option or argument is written."""
    if not action.option_strings:
        name = action.metavar if isinstance(action.metavar, str) else action.dest  # as argparse shows it
        return f"{name}..." if action.nargs in ("*", "+", argparse.REMAINDER) else name
    if action.nargs == 0:
        return ", ".join(action.option_strings)
    if isinstance(action.metavar, str):
        metavar = action.metavar
    elif action.choices:
        metavar = "{" + ",".join(map(str, action.choices)) + "}"
    else:
        metavar = action.dest.upper()
    if action.nargs in ("*", "+"):
        metavar += " ..."
    elif action.nargs == "?":
        metavar = f"[{metavar}]"
    return ", ".join(f"{o} {metavar}" for o in action.option_strings)


def describe(action: argparse.Action) -> str:
    help_text = action.help or ""
    if "%(" in help_text:
        help_text = help_text % {**vars(action), "prog": "ci-tags"}
    notes = []
    if action.choices and (isinstance(action.metavar, str) or not action.option_strings):
        notes.append("one of " + ", ".join(f"`{c}`" for c in action.choices))
    if isinstance(action, argparse._AppendAction):
        notes.append("repeatable")
    default = action.default
    if (action.option_strings and action.nargs != 0 and default not in (None, [], "", argparse.SUPPRESS)
            and "default" not in help_text):
        notes.append(f"default `{default}`")
    text = cell(help_text)
    return f"{text} ({'; '.join(notes)})" if notes else text


def documented(actions: list[argparse.Action]) -> list[argparse.Action]:
    """What --help shows: not -h itself, not the options it hides (help=SUPPRESS)."""
    return [a for a in actions if a.dest != "help" and a.help != argparse.SUPPRESS]


def table(actions: list[argparse.Action], head: str) -> list[str]:
    lines = [f"| {head} | what it does |", "|---|---|"]
    for action in documented(actions):
        lines.append(f"| `{cell(invocation(action))}` | {describe(action)} |")
    return lines


@functools.cache
def parsers() -> dict[str, argparse.ArgumentParser]:
    """Every command's parser, as ``ci-tags NAME --help`` builds it."""
    return {name: subparser(name) for name in cli.COMMANDS}


def dests(parser: argparse.ArgumentParser) -> set[str]:
    return {a.dest for a in documented(parser._actions)}


def talks_to_registries(parser: argparse.ArgumentParser) -> bool:
    return "--username" in parser._option_string_actions


@functools.cache
def shared_dests() -> tuple[frozenset[str], frozenset[str]]:
    """The options every command takes (--json, --debug) and those every registry command takes besides: what all
    their parsers have in common, whichever way the commands declare them."""
    every = list(parsers().values())
    common = frozenset.intersection(*(frozenset(dests(p)) for p in every))
    remote = [p for p in every if talks_to_registries(p)]
    registry = frozenset.intersection(*(frozenset(dests(p)) for p in remote)) - common if remote else frozenset()
    return common, registry


def shared_actions(dest_names: frozenset[str]) -> list[argparse.Action]:
    """Those options' actions, in the order a parser that has them all lists them."""
    for parser in parsers().values():
        actions = [a for a in documented(parser._actions) if a.dest in dest_names]
        if len(actions) == len(dest_names):
            return actions
    return []


def summary(parser: argparse.ArgumentParser) -> str:
    text = (parser.description or "").strip()
    return f"{text[:1].upper()}{text[1:]}." if text and not text.endswith(".") else text


def command_page(name: str) -> str:
    parser = parsers()[name]
    remote = talks_to_registries(parser)
    common, registry = shared_dests()
    own = documented([a for a in parser._actions if a.dest not in common | (registry if remote else frozenset())])
    positionals = [a for a in own if not a.option_strings]
    options = [a for a in own if a.option_strings]
    lines = [f"# ci-tags {name}", "", cell(summary(parser)), "", "```text",
             parser.format_usage().strip(), "```", ""]
    if positionals:
        lines += ["## Arguments", "", *table(positionals, "argument"), ""]
    if options:
        lines += ["## Options", "", *table(options, "option"), ""]
    shared = "[every command's](index.md#options-of-every-command)"
    if remote:
        shared += " and [every registry command's](index.md#options-of-every-registry-command)"
    lines += [f"Also {shared} options.", ""]
    if parser.epilog:
        examples = parser.epilog.split("\n", 1)[1] if parser.epilog.startswith("examples:") else parser.epilog
        lines += ["## Examples", "", "```sh", *(line.strip() for line in examples.splitlines()), "```", ""]
    lines += ["The same text as `ci-tags " + name + " --help`: this page is generated from its parser.", ""]
    return "\n".join(lines)


def index_page() -> str:
    lines = ["# Commands", "", "Every page here is generated from the command's parser, the one `ci-tags COMMAND "
             "--help` prints.", "", "| command | what it does |", "|---|---|"]
    for name, parser in parsers().items():
        lines.append(f"| [`ci-tags {name}`]({name}.md) | {cell(parser.description or '')} |")
    common_dests, registry_dests = shared_dests()
    common, registry = shared_actions(common_dests), shared_actions(registry_dests)
    lines += ["", "## Options of every command", "",
              "Given before or after the command name (`ci-tags --json tags REPO` = `ci-tags tags REPO --json`).",
              "", *table(common, "option"), "",
              "## Options of every registry command", "", *table(registry, "option"), ""]
    return "\n".join(lines)


def pages() -> dict[str, str]:
    """``commands/<name>.md`` for every command, and ``commands/index.md``."""
    found = {f"commands/{name}.md": command_page(name) for name in parsers()}
    found["commands/index.md"] = index_page()
    return found
