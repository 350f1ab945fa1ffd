"""Start-up of one-shot commands (issue 15): ``--version`` and a command's ``--help`` import nothing heavy, and a
retag imports only what a retag uses. Checked by the modules a new process loaded, never by a clock (the figures
are measured by bench/retag.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ci_tags.cli import COMMANDS

HEAVY = ("requests", "urllib3", "yaml", "rich", "gitlab", "jenkins", "jsonschema")
SHARED = ("ci_tags.commands.options", "ci_tags.commands.texts")  # what every command may share


def loaded(argv: list[str]) -> set[str]:
    """The modules a new process has loaded after ``ci-tags ARGV`` (its exit, --help's included, is caught)."""
    code = "\n".join([
        "import json, sys",
        "from ci_tags.cli import main",
        "try:",
        f"    main({argv!r})",
        "except SystemExit:",
        "    pass",
        "print('\\n' + json.dumps(sorted(sys.modules)))",
    ])
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_version_loads_no_command_and_no_output_machinery():
    modules = loaded(["--version"])
    assert not [m for m in modules if m.startswith(("ci_tags.commands", "ci_tags.output", "ci_tags.oci"))]
    assert not [m for m in modules if m.split(".")[0] in (*HEAVY, "dataclasses", "logging")]


@pytest.mark.parametrize("command", ["retag", "tags", "publish", "promote", "plan", "janitor"])
def test_a_commands_help_builds_its_parser_alone_and_loads_nothing_heavy(command):
    modules = loaded([command, "--help"])
    assert {m for m in modules if m.startswith("ci_tags.commands.") and m not in SHARED} == {
        f"ci_tags.commands.{COMMANDS[command][0]}"}
    assert not [m for m in modules if m.split(".")[0] in HEAVY]


def test_a_retag_loads_its_http_client_and_nothing_it_does_not_use(reg, registry):
    """A whole one-shot retag on a loopback registry: requests, and none of what other commands need (YAML, the
    project, the backends, the pipeline services, a thread pool for a single copy)."""
    from tests.support.images import push_image

    push_image(reg, "startup/app", "hash-abc")
    modules = loaded(["retag", f"{registry.host}/startup/app:hash-abc", "v1"])
    assert "requests" in modules and "ci_tags.oci.copy" in modules
    assert not [m for m in modules if m.split(".")[0] in ("yaml", "rich", "gitlab", "jenkins", "jsonschema")]
    assert not [m for m in modules if m.startswith(("ci_tags.project", "ci_tags.backends", "ci_tags.services.pipeline",
                                                    "ci_tags.services.janitor", "ci_tags.core.policy",
                                                    "concurrent.futures"))]
    assert reg.head_manifest("startup/app", "v1") == reg.head_manifest("startup/app", "hash-abc")
