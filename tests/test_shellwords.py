"""Shell-word processing as buildkit's lexer does it: quotes, escapes, every substitution form."""

from __future__ import annotations

import pytest

from ci_tags.core.shellwords import ShellLex, ShellSyntaxError

ENV = {"PWD": "/home", "EMPTY": "", "FILE": "dist/app-amd64.tar.gz", "SPACE": "a  b"}


@pytest.mark.parametrize(
    ("word", "result"),
    [
        ("hello", "hello"),
        ("he'll'o", "hello"),
        ("he\\'llo", "he'llo"),
        ('"abc\\tdef"', "abc\\tdef"),
        ("'hello\\'", "hello\\"),
        ("hello\\", "hello"),
        ("$PWD", "/home"),
        ("\\$PWD", "$PWD"),
        ('"\\$PWD"', "$PWD"),
        ("'$PWD'", "$PWD"),
        ("${PWD}x", "/homex"),
        ("$.", "$."),
        ("he$1x", "hex"),
        ("${NOPE:-word}", "word"),
        ("${EMPTY:-word}", "word"),
        ("${EMPTY-word}", ""),
        ("${NOPE-word}", "word"),
        ("${PWD:+word}", "word"),
        ("${EMPTY:+word}", ""),
        ("${EMPTY+word}", "word"),
        ("${NOPE+word}", ""),
        ("${FILE#*/}", "app-amd64.tar.gz"),
        ("${FILE##*.}", "gz"),
        ("${FILE%.*}", "dist/app-amd64.tar"),
        ("${FILE%%.*}", "dist/app-amd64"),
        ("${FILE/amd64/arm64}", "dist/app-arm64.tar.gz"),
        ("${FILE//a/A}", "dist/App-Amd64.tAr.gz"),
        ("${NOPE:-${PWD}/x}", "/home/x"),
        ('"${SPACE}"', "a  b"),
        ("${PWD:?}", "/home"),
    ],
)
def test_process_word(word, result):
    assert ShellLex().process_word(word, ENV) == result


@pytest.mark.parametrize("word", ["he'llo", '"hello', "${PWD", "${}", "${:x}", "${PWD:#x}", "${NOPE:?}",
                                  "${EMPTY:?}", "${NOPE?must}", "${FILE/a}"])
def test_what_docker_refuses(word):
    with pytest.raises(ShellSyntaxError):
        ShellLex().process_word(word, ENV)


def test_words_split_after_expansion_quotes_kept_together():
    assert ShellLex().process_words('x${SPACE}y "${SPACE}"z', ENV) == ["xa", "by", "a  bz"]


def test_backtick_escape_token():
    assert ShellLex(escape="`").process_word("a`$PWD\\x", ENV) == "a$PWD\\x"


def test_unknown_names_are_reported():
    lex = ShellLex(unknown=lambda name: name == "BASE_ENV")
    assert lex.process_word("${BASE_ENV:-x}/$PWD", ENV) == "x//home"
    assert lex.unresolved == {"BASE_ENV"}
