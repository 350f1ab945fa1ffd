"""Every environment variable ci-tags reads is in the documentation's table (docs/reference/environment.md), so a
newcomer finds it in one place."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# env.get("X"), env["X"], "X" in env, os.environ...: any quoted upper-case name next to an env mapping
READ = re.compile(
    r"""env(?:iron)?(?:\.get\(|\[)\s*["']([A-Z][A-Z0-9_]+)["']"""
    r"""|["']([A-Z][A-Z0-9_]+)["'] (?:not )?in (?:self\.|ctx\.)?env"""
)


def test_every_variable_the_code_reads_is_in_the_documented_table():
    read = set()
    for path in (ROOT / "ci_tags").rglob("*.py"):
        for match in READ.finditer(path.read_text()):
            read.add(match.group(1) or match.group(2))
    assert {"CI_TAGS_BRANCH", "CI_TAGS_COMMIT", "CI_REGISTRY_IMAGE"} <= read
    page = ROOT.joinpath("docs", "reference", "environment.md").read_text()
    table = page.split("| variable | read by | meaning |", 1)[1].split("\n\n", 1)[0]
    listed = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", table))
    assert sorted(read - listed) == []
