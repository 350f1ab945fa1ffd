"""Run a pipeline script with ci-tags' shared library under tests/jenkins/run_pipeline.groovy (Debian's groovy),
the stand-in for the Jenkins steps the library calls, and read its report."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
RUNNER = ROOT / "tests" / "jenkins" / "run_pipeline.groovy"


@dataclass(frozen=True)
class Agent:
    name: str
    labels: tuple[str, ...]
    executors: int = 2


@dataclass
class Build:
    """One build's report: result, log, stages, nodes and every ``sh`` with its agent, folder and variables."""

    code: int
    result: str
    log: list[str]
    stages: list[dict[str, Any]]
    nodes: list[dict[str, Any]]
    shells: list[dict[str, Any]]
    harness_errors: list[str]
    output: str = ""
    requests: list[Any] = field(default_factory=list)
    description: str | None = None  # currentBuild.description
    triggers: list[str] = field(default_factory=list)  # a declarative pipeline's
    params: dict[str, Any] = field(default_factory=dict)  # the build's parameters, declared defaults included

    @property
    def text(self) -> str:
        return "\n".join(self.log)

    def commands(self, word: str) -> list[dict[str, Any]]:
        """The ``sh`` steps that ran ``ci-tags <word>``."""
        return [s for s in self.shells if f"ci-tags {word}" in s["script"]]

    def builds(self) -> list[tuple[str, str, str]]:
        """(image, arch, agent) of every ``ci-tags build``, sorted."""
        return sorted((s["env"]["CI_TAGS_BUILD_IMAGE"], s["env"]["CI_TAGS_BUILD_ARCH"], s["agent"])
                      for s in self.commands("build"))


class Harness:
    """Agents (folders under ``work``), credentials and the environment every agent runs with."""

    def __init__(self, work: Path, agents: Sequence[Agent], env: Mapping[str, str],
                 credentials: Mapping[str, tuple[str, str]] | None = None) -> None:
        if shutil.which("groovy") is None:
            raise RuntimeError("groovy is not installed: .ci/setup installs groovy and default-jre-headless")
        self.work = work
        work.mkdir(parents=True, exist_ok=True)
        self.agents = list(agents)
        self.env = dict(env)
        self.credentials = dict(credentials or {})
        self.runs = 0

    def run(self, script: str, *, scm_url: str, commit: str, branch: str, number: int,
            job: str = "project", agent_env: Mapping[str, Mapping[str, str]] | None = None,
            multibranch: bool = True, git_branch: str | None = None, params: Mapping[str, Any] | None = None,
            causes: Sequence[str] = ("hudson.model.Cause$UserIdCause",)) -> Build:
        """One build. ``multibranch=False``: a plain Pipeline job (no BRANCH_NAME; JOB_NAME is ``job``), whose
        checkout reports ``git_branch`` (the Git plugin's ``origin/<branch>``; None: a detached commit);
        ``params``: the values the build was started with; ``causes``: its causes' classes (a cron trigger's is
        ``hudson.triggers.TimerTrigger$TimerTriggerCause``)."""
        self.runs += 1
        report = self.work / f"report-{self.runs}.json"
        spec = {
            "library": str(ROOT),
            "report": str(report),
            "script": script,
            "name": f"{job}/{branch.replace('/', '%2F')}" if multibranch else job,
            "branch": branch,
            "multibranch": multibranch,
            "params": dict(params or {}),
            "causes": list(causes),
            "number": number,
            "url": "http://jenkins.invalid/",
            "scm": {"url": scm_url, "commit": commit, "branch": branch,
                    **({} if multibranch else {"gitBranch": git_branch})},
            "agents": [{"name": a.name, "labels": list(a.labels), "executors": a.executors,
                        "root": str(self.work / "agents" / a.name), "env": dict((agent_env or {}).get(a.name, {}))}
                       for a in self.agents],
            "credentials": {k: {"username": u, "password": p} for k, (u, p) in self.credentials.items()},
            "env": self.env,
        }
        job_file = self.work / f"job-{self.runs}.json"
        job_file.write_text(json.dumps(spec))
        done = subprocess.run(["groovy", "-cp", str(RUNNER.parent), str(RUNNER), str(job_file)], capture_output=True,
                              text=True, timeout=900, check=False, stdin=subprocess.DEVNULL)
        if not report.exists():
            raise AssertionError(f"the harness wrote no report (exit {done.returncode}):\n{done.stdout}\n"
                                 f"{done.stderr}")
        found = json.loads(report.read_text())
        return Build(done.returncode, found["result"], found["log"], found["stages"], found["nodes"],
                     found["shells"], found["harnessErrors"], done.stdout + done.stderr,
                     description=found.get("description"), triggers=found.get("triggers") or [],
                     params=found.get("params") or {})
