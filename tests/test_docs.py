"""The documentation: a short README that leads with Install; the MkDocs site built strictly from docs/, its command
pages equal to what ``ci-tags COMMAND --help`` says and its ci-tags.yml reference to what the reader accepts; and the
built site opened in a real browser (headless Chromium), every internal link followed, the search run once."""

from __future__ import annotations

import functools
import html as html_module
import importlib.util
import io
import re
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import redirect_stdout
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ci_tags import cli
from ci_tags.project import config
from tests.support.browser import Browser

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def test_the_readme_is_short_and_leads_with_install() -> None:
    lines = README.read_text().splitlines()
    assert len(lines) <= 300
    install = lines.index("## Install")
    assert install < 40
    section = "\n".join(lines[install:]).split("\n## ", 2)[0]
    assert re.search(r"^pipx install ci-tags==\S+$", section, re.M)
    assert re.search(r"pip install ci-tags==\S+$", section, re.M)
    assert "include:\n  - component: $CI_SERVER_FQDN/ci-tags/ci-tags/pipeline@" in README.read_text()
    assert "@Library('ci-tags@" in README.read_text()


def test_the_readme_names_the_test_command_ci_runs() -> None:
    run = (ROOT / ".ci" / "run").read_text()
    assert "exec bash .ci/test" in run
    assert "bash .ci/test" in README.read_text() and "bash .ci/demo" in README.read_text()


def test_every_relative_link_of_the_readme_and_changelog_is_a_file() -> None:
    for path in (README, ROOT / "CHANGELOG.md"):
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", path.read_text()):
            if "://" not in target:
                assert (path.parent / target).exists(), f"{path.name} links to {target}, which does not exist"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site as .ci/test builds it: --strict, so a broken link, a missing anchor or a page out of the nav fails."""
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)], cwd=ROOT,
                          capture_output=True, text=True, env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
                          check=False)
    assert done.returncode == 0, done.stderr
    return out


def help_text(*argv: str) -> str:
    out = io.StringIO()
    with redirect_stdout(out), pytest.raises(SystemExit):
        cli.main([*argv, "--help"], env={"COLUMNS": "100"})
    return out.getvalue()


def page_text(site: Path, page: str) -> str:
    html = (site / page / "index.html").read_text()
    return " ".join(html_module.unescape(re.sub(r"<[^>]+>", "", html)).split())


@pytest.mark.parametrize("command", list(cli.COMMANDS))
def test_each_command_page_has_every_option_its_help_shows(site: Path, command: str) -> None:
    shown = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", help_text(command))) - {"--help"}
    text = page_text(site, f"commands/{command}")
    assert shown, command
    assert sorted(o for o in shown if o not in text) == []
    summary = re.search(r"^usage: .*?\n\n(.+?)\n\n", help_text(command), re.S)
    assert summary and " ".join(summary.group(1).split()).lower() in text.lower()


def test_the_config_reference_lists_every_key_the_reader_accepts(site: Path) -> None:
    text = page_text(site, "reference/config")
    for key in (*config.TOP_KEYS, *config.IMAGE_KEYS, *config.TAG_KEYS, *config.CACHE_MODES):
        assert f"{key}" in text, key
    assert "hash-{hash}" in text and "pipeline-{pipeline_id}" in text  # the dataclasses' defaults


def test_a_key_of_ci_tags_yml_without_words_stops_the_build() -> None:
    spec = importlib.util.spec_from_file_location("config_reference", ROOT / "docs" / "gen" / "config_reference.py")
    assert spec is not None and spec.loader is not None
    config_reference = importlib.util.module_from_spec(spec)
    sys.modules["config_reference"] = config_reference
    spec.loader.exec_module(config_reference)
    with pytest.raises(config_reference.UndocumentedKey, match="new_key"):
        config_reference.check((*config.TOP_KEYS, "new_key"), config_reference.TOP, "top level")


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    opened = Browser()
    yield opened
    opened.close()


LINKS = "[...document.querySelectorAll('a[href]')].map(a => a.href)"
IDS = "[...document.querySelectorAll('[id], a[name]')].map(e => e.id || e.name)"
STATUS = "performance.getEntriesByType('navigation')[0].responseStatus"
FAILED_RESOURCES = ("performance.getEntriesByType('resource').filter(r => r.responseStatus >= 400)"
                    ".map(r => r.name + ' ' + r.responseStatus)")


def test_every_internal_link_of_the_site_opens_in_a_browser(served: str, browser: Browser) -> None:
    """From the home page, every page a link leads to loads (HTTP 200, its own scripts and styles too, no script
    error), and every link to an anchor finds an element with that id on its page."""
    ids: dict[str, set[str]] = {}
    anchors: list[tuple[str, str, str]] = []  # (page with the link, target page, fragment)
    todo = [served]
    while todo:
        page = todo.pop()
        if page in ids:
            continue
        browser.goto(page)
        assert browser.evaluate(STATUS) == 200, f"{page} did not open"
        assert browser.evaluate(FAILED_RESOURCES) == [], page
        ids[page] = set(browser.evaluate(IDS))
        for href in browser.evaluate(LINKS):
            if not href.startswith(served):
                continue
            target, _, fragment = href.partition("#")
            if fragment:
                anchors.append((page, target, urllib.parse.unquote(fragment)))
            if target not in ids:
                todo.append(target)
    assert len(ids) > 30, sorted(ids)  # the home page, the guides, the concepts and every command page
    assert browser.exceptions == []  # no page's script failed
    missing = [f"{page} -> {target}#{fragment}" for page, target, fragment in anchors if fragment not in ids[target]]
    assert missing == []


def test_the_search_finds_the_janitor_page(served: str, browser: Browser) -> None:
    browser.goto(served)
    browser.evaluate("document.getElementById('__search').checked = true; "
                     "document.querySelector('input.md-search__input').focus()")
    browser.type_text("janitor")
    results = browser.wait_until(
        "[...document.querySelectorAll('.md-search-result__item a')].map(a => a.href)", bool)
    assert any("/concepts/janitor/" in href for href in results), results
    meta = browser.evaluate("document.querySelector('.md-search-result__meta').textContent")
    assert re.search(r"\d+ matching documents?", meta), meta


def test_the_pages_job_publishes_the_strict_build_from_the_default_branch() -> None:
    import yaml

    job = yaml.safe_load((ROOT / ".gitlab-ci.yml").read_text())["pages"]
    assert job["artifacts"]["paths"] == ["public"]
    assert "mkdocs build --strict --site-dir public" in job["script"]
    assert any(".[docs]" in line for line in job["script"])
    assert [rule["if"] for rule in job["rules"]] == ["$CI_COMMIT_BRANCH && $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"]
