"""Options declared once (ci_tags/flags.py): a field of an options dataclass is its flag in --help and its typed
value in the options a command runs with; a mistaken declaration fails when the parser is built."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import pytest

from ci_tags.flags import flag, from_args, group, positional, register


@dataclass(frozen=True, kw_only=True)
class Access:
    user: str | None = flag("--user", help="who", env="CI_TAGS_TEST_USER")


@dataclass(frozen=True, kw_only=True)
class Options:
    names: tuple[str, ...] = positional("NAME", nargs="*", help="names")
    age: str | None = flag("--age", help="how old")
    keep: tuple[str, ...] = flag("--keep", default=(), metavar="REGEX", help="keep these")
    last: int = flag("--last", default=0, metavar="N", help="keep N", convert=lambda n: max(0, n))
    fast: bool | None = flag("--fast", help="fast or not")
    out: Path | None = flag("--out", help="a file")
    dry_run: bool = flag("--dry-run", default=False, help="change nothing")
    access: Access = group(Access)
    secret: str = flag("--secret", default="x", hidden=True)


def parse(*argv: str) -> Options:
    parser = argparse.ArgumentParser(prog="t")
    register(parser, Options)
    return from_args(Options, parser.parse_args(list(argv)))


def test_a_field_is_its_flag_and_its_typed_value():
    opts = parse("a", "b", "--age", "3d", "--keep", "^v", "--keep", "x", "--last", "-2", "--fast", "false",
                 "--out", "o.yml", "--dry-run", "--user", "me", "--secret", "s")
    assert opts == Options(names=("a", "b"), age="3d", keep=("^v", "x"), last=0, fast=False, out=Path("o.yml"),
                           dry_run=True, access=Access(user="me"), secret="s")


def test_flags_not_given_are_the_fields_defaults():
    assert parse() == Options()
    assert parse("--out", "").out is None


def test_help_shows_flags_in_field_order_with_env_and_without_hidden_ones(capsys):
    with pytest.raises(SystemExit):
        parse("--help")
    text = capsys.readouterr().out
    assert "usage: t [-h] [--age AGE] [--keep REGEX] [--last N] [--fast {true,false}] [--out OUT]" in " ".join(
        text.split())
    assert "--user USER who; env CI_TAGS_TEST_USER" in " ".join(text.split())
    assert "--secret" not in text


def test_a_switch_or_list_without_its_empty_default_is_refused_when_the_parser_is_built():
    @dataclass(frozen=True, kw_only=True)
    class Wrong:
        dry_run: bool = flag("--dry-run")

    with pytest.raises(TypeError, match="defaults to False"):
        register(argparse.ArgumentParser(), Wrong)
