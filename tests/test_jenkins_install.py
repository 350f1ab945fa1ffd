"""What ciTagsPipeline sets up before ci-tags runs, under the Groovy harness (see tests/test_jenkins_library.py):
registry credentials from a Jenkins credentials id, and pip installing ci-tags itself (``ci-tags==<version>``),
never the project's checkout."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import ci_tags
from tests.support.auth import BASIC_USERS
from tests.support.jenkins_harness import Harness
from tests.support.jenkins_project import AGENTS, agent_path, assert_ran_cleanly, git
from tests.support.project import buildah_env


def test_registry_credentials_from_a_credentials_id_reach_ci_tags_and_its_builder(
        basic_registry: Any, cli: Any, tmp_path: Path) -> None:
    """Against the real registry behind Basic auth: plan is refused without the credentials id and fine with it;
    then the whole pipeline, whose buildah push gets the same credentials from ci-tags."""
    root = tmp_path / "project"
    (root / "img").mkdir(parents=True)
    (root / "img" / "Dockerfile").write_text("FROM scratch\nCOPY a.txt /a.txt\n")
    (root / "img" / "a.txt").write_text("a\n")
    repository = f"jenkins{hashlib.sha256(str(tmp_path).encode()).hexdigest()[:10]}/img"
    (root / "ci-tags.yml").write_text(f"registry: {basic_registry.host}/{repository.split('/')[0]}\nimages:\n  "
                                      "img: {dockerfile: img/Dockerfile}\npublish: [latest]\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "first")
    user, password = next(iter(BASIC_USERS.items()))
    env = {**buildah_env(tmp_path / "buildah"), "PATH": agent_path(), "NO_COLOR": "1"}
    harness = Harness(tmp_path / "jenkins", AGENTS[1:], env, {"registry": (user, password)})
    script = """@Library('ci-tags') _
ciTagsNode('linux') {{
    Map plan = ciTagsPlan(install: 'path'{extra})
    echo "builds planned: ${{plan.waves*.builds.flatten().collect {{ it.image }}}}"
}}
"""
    commit = git(root, "rev-parse", "HEAD")
    without = harness.run(script.format(extra=""), scm_url=str(root), commit=commit, branch="main", number=1)
    assert_ran_cleanly(without)
    assert without.result == "FAILURE"
    assert [s["exit"] for s in without.commands("plan")] == [3], "exit code 3: authentication refused"
    given = harness.run(script.format(extra=", credentialsId: 'registry'"), scm_url=str(root), commit=commit,
                        branch="main", number=2)
    assert_ran_cleanly(given)
    assert given.result == "SUCCESS", given.text[-3000:]
    assert "builds planned: [img]" in given.text
    assert password not in given.output
    missing = harness.run(script.format(extra=", credentialsId: 'nope'"), scm_url=str(root), commit=commit,
                          branch="main", number=3)
    assert missing.result == "FAILURE"
    assert "ERROR: Could not find credentials entry with ID 'nope'" in missing.text

    built = harness.run("@Library('ci-tags') _\nciTagsPipeline(agentLabel: 'linux', install: 'path', "
                        "credentialsId: 'registry')\n", scm_url=str(root), commit=commit, branch="main", number=4)
    assert_ran_cleanly(built)
    assert built.result == "SUCCESS", built.text[-3000:]
    assert built.builds() == [("img", "amd64", "linux-amd64")]
    assert len(built.commands("publish")) == 1
    assert password not in built.output
    tags = cli("tags", f"{basic_registry.host}/{repository}",
               env={"CI_TAGS_REGISTRY_USER": user, "CI_TAGS_REGISTRY_PASSWORD": password})
    assert tags.code == 0, tags.err
    assert {"latest", "pipeline-main-4"} <= set(tags.out.split())


def test_pip_installs_the_pinned_ci_tags_release_and_not_the_projects_checkout(tmp_path: Path) -> None:
    """install: 'pip' (the default) makes a venv beside the workspace and asks pip for ci-tags==<the library's
    version>, the version this package releases. pip here has no index and no wheel of it, so pip's refusal
    names exactly what was asked for, and the build fails there."""
    version = ci_tags.__version__
    root = tmp_path / "project"
    root.mkdir()
    (root / "ci-tags.yml").write_text("registry: 127.0.0.1:9/none\nimages: {}\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "first")
    (tmp_path / "wheels").mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PIP_NO_INDEX": "1",
           "PIP_FIND_LINKS": str(tmp_path / "wheels"), "PIP_CONFIG_FILE": os.devnull}
    harness = Harness(tmp_path / "jenkins", AGENTS[1:], env)
    done = harness.run("@Library('ci-tags') _\nciTagsPipeline(agentLabel: 'linux', janitor: false)\n",
                       scm_url=str(root), commit=git(root, "rev-parse", "HEAD"), branch="main", number=1)
    assert_ran_cleanly(done)
    assert done.result == "FAILURE"
    [install] = [s for s in done.shells if "pip" in s["script"]]
    assert install["env"]["CI_TAGS_PIP_SPEC"] == f"ci-tags=={version}"
    assert install["env"]["CI_TAGS_VENV"].startswith(install["workspace"] + "@tmp/")
    assert f"No matching distribution found for ci-tags=={version}" in done.text
    assert done.commands("plan") == []
