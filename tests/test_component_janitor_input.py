"""The component's ``janitor`` input under gitlab-ci-local (which evaluates inputs and rules as GitLab does): 0.2's
values, and 0.1's ``true``/``false`` given as strings, accepted for this release as ``always``/``never`` with a
deprecation line in the plan job's log. 0.1's unquoted booleans cannot be accepted: GitLab (and gitlab-ci-local)
check an input's type before the component sees it, and refuse the pipeline with their own message.

The component's jobs call a stand-in ``ci-tags`` that records its arguments (what ci-tags does in these jobs is
tested with the real one in test_gitlab_pipelines.py); its ``plan`` writes the files the next jobs need."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STAND_IN = """#!/bin/sh
echo "ci-tags $*" >> "$CI_TAGS_RECORD"
if [ "$1" = plan ]; then
  printf 'nothing-to-build:\\n  script: [echo nothing to build]\\n' > ci-tags-child.yml
  : > ci-tags.env
  echo '{}' > ci-tags-matrix.json
fi
"""
DEPRECATED = ("ci-tags: deprecated: the component's input janitor: {given} means janitor: {means}; "
              "write always, schedules or never (0.3 refuses true and false)")


def run_pipeline(tmp_path: Path, janitor_line: str) -> tuple[str, dict[str, str], list[str]]:
    """A project that includes templates/pipeline.yml with ``janitor_line`` among its inputs; (log, jobs, calls)."""
    if shutil.which("gitlab-ci-local") is None:
        pytest.fail("gitlab-ci-local is installed by .ci/setup")
    root = tmp_path / "project"
    (root / "templates").mkdir(parents=True)
    shutil.copy(ROOT / "templates" / "pipeline.yml", root / "templates" / "pipeline.yml")
    (root / "bin").mkdir()
    (root / "bin" / "ci-tags").write_text(STAND_IN)
    (root / "bin" / "ci-tags").chmod(0o755)
    (root / ".gitignore").write_text(".gitlab-ci-local/\nci-tags-*\n")
    (root / ".gitlab-ci.yml").write_text(
        "include:\n  - local: templates/pipeline.yml\n    inputs:\n" + janitor_line + "\n")

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args], cwd=root, check=True,
                       capture_output=True)

    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / "origin.git")], check=True, capture_output=True)
    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "first")
    git("remote", "add", "origin", str(tmp_path / "origin.git"))
    record = tmp_path / "calls"
    env = {"PATH": f"{root / 'bin'}:/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path), "CI_TAGS_RECORD": str(record)}
    done = subprocess.run(["gitlab-ci-local", "--force-shell-executor", "--no-color", "--variable",
                           "CI_DEFAULT_BRANCH=main", "--variable", f"CI_TAGS_RECORD={record}"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    log = done.stdout + done.stderr
    jobs = {name: result for result, name in re.findall(r"^\s*(PASS|FAIL)\s+(\S+)", log, re.MULTILINE)}
    calls = record.read_text().splitlines() if record.exists() else []
    return log, jobs, calls


@pytest.mark.parametrize(("line", "janitor_runs", "deprecated"), [
    ('      janitor: "true"', True, DEPRECATED.format(given="true", means="always")),
    ('      janitor: "false"', False, DEPRECATED.format(given="false", means="never")),
    ("      janitor: always", True, None),
    ("      janitor: never", False, None),
], ids=["true", "false", "always", "never"])
def test_janitor_input(tmp_path: Path, line: str, janitor_runs: bool, deprecated: str | None) -> None:
    log, jobs, calls = run_pipeline(tmp_path, line)
    assert jobs.get("ci-tags-plan") == "PASS", log[-3000:]
    assert jobs.get("ci-tags-publish") == "PASS", log[-3000:]
    assert ("ci-tags-janitor" in jobs) == janitor_runs, log[-3000:]
    assert any(c.startswith("ci-tags janitor ") for c in calls) == janitor_runs, calls
    # the plan job's own variable is merged with those of the install template it extends, not in their place
    assert any(c.startswith("ci-tags plan --config ci-tags.yml ") for c in calls), calls
    if deprecated:
        assert deprecated in log
    else:
        assert "deprecated" not in log


def test_an_unquoted_boolean_is_refused_by_gitlab_with_its_own_message(tmp_path: Path) -> None:
    """What 0.1 users wrote (the input was a boolean then): no job runs, and the message names the input."""
    log, jobs, calls = run_pipeline(tmp_path, "      janitor: false")
    assert jobs == {} and calls == []
    assert "`janitor` input: `false` cannot be used because it is not in the list of allowed options" in log, \
        log[-2000:]
