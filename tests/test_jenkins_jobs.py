"""The Jenkins library beyond a Multibranch Pipeline, under the Groovy harness (tests/test_jenkins_library.py says
what it does and does not reproduce), against the real registry with real buildah builds: a plain Pipeline job
publishes (its branch from the checkout's GIT_BRANCH, or from a job parameter), ``janitor: 'schedules'`` runs the
janitor only in builds its cron trigger started, the declarative ``pipeline {}`` example for Jenkins admins runs,
and each build's description is the report of what plan, janitor and publish did."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.jenkins_harness import Build
from tests.support.jenkins_project import LATEST, Project, agent_path, assert_ran_cleanly, pipeline_script, target

TIMER = "hudson.triggers.TimerTrigger$TimerTriggerCause"

# The declarative example of the Jenkins admins' docs (docs/jenkins-admin.md), for a plain Pipeline job ("Pipeline
# script from SCM"); here with install: 'path' (the agents have ci-tags on PATH) instead of pip's default.
DECLARATIVE = """@Library('ci-tags@0.2.0') _

pipeline {
    agent none
    triggers {
        cron('H 3 * * *')  // nightly: the build that also runs the janitor (janitor: 'schedules')
    }
    parameters {
        string(name: 'BRANCH', defaultValue: 'main', description: 'the branch this job builds and publishes')
    }
    stages {
        stage('images') {
            steps {
                script {
                    ciTagsPipeline(config: 'ci-tags.yml', agentLabel: 'linux', credentialsId: 'registry',
                                   janitor: 'schedules', branch: params.BRANCH, install: 'path')
                }
            }
        }
    }
}
"""


@pytest.fixture(scope="module")
def project(registry: Any, tmp_path_factory: pytest.TempPathFactory) -> Project:
    return Project(tmp_path_factory.mktemp("jenkins-jobs"), registry, agent_path())


@pytest.fixture(scope="module")
def plain(project: Project) -> Build:
    """A plain Pipeline job's first build: no BRANCH_NAME; the Git plugin reports GIT_BRANCH=origin/main."""
    return project.build(pipeline_script(), job="images", multibranch=False, git_branch="origin/main")


def test_a_plain_pipeline_job_takes_its_branch_from_the_checkout_and_publishes(plain: Build, project: Project,
                                                                              reg: Any) -> None:
    assert_ran_cleanly(plain)
    assert plain.result == "SUCCESS", plain.text[-3000:]
    assert len(plain.builds()) == 4
    assert all(s["env"]["GIT_BRANCH"] == "origin/main" for s in plain.commands("plan"))
    assert len(plain.commands("publish")) == 1
    for name in ("base", "app", "tools"):
        repository = project.repository(name)
        assert target(reg, repository, LATEST) == target(reg, repository, "pipeline-main-1")


def test_the_build_description_is_the_report_of_plan_janitor_and_publish(plain: Build, project: Project) -> None:
    description = plain.description or ""
    assert description.startswith("## ci-tags plan: pipeline main-1\n")
    assert "| app | amd64 |" in description and "- to build: 4 image x arch build(s) (3 image(s))" in description
    assert "## ci-tags janitor\n" in description
    assert f"- moved `{project.registry.host}/{project.repository('app')}:latest`" in description
    assert description.index("## ci-tags janitor") < description.index("## ci-tags publish")


def test_a_branch_parameter_names_the_branch_of_a_detached_checkout(plain: Build, project: Project,
                                                                     reg: Any) -> None:
    script = pipeline_script().replace("credentialsId: 'registry'", "credentialsId: 'registry', branch: params.BRANCH")
    done = project.build(script, job="images", multibranch=False, git_branch=None, params={"BRANCH": "main"})
    assert_ran_cleanly(done)
    assert done.result == "SUCCESS", done.text[-3000:]
    assert done.builds() == []
    assert [s["env"].get("GIT_BRANCH") for s in done.commands("plan")] == [None]
    assert len(done.commands("publish")) == 1
    app = project.repository("app")
    assert target(reg, app, "pipeline-main-2") == target(reg, app, LATEST)
    assert "Not published" not in (done.description or "")


def test_without_any_branch_a_plain_job_does_not_publish(plain: Build, project: Project) -> None:
    done = project.build(pipeline_script(), job="images", multibranch=False, git_branch=None)
    assert_ran_cleanly(done)
    assert done.commands("publish") == []
    assert "ci-tags: not publishing: this build is not the default branch main" in done.text
    assert "## ci-tags publish\n\nNot published: this build is not the default branch main" in (done.description
                                                                                              or "")


def test_the_declarative_example_runs_the_janitor_only_in_its_cron_builds(plain: Build, project: Project,
                                                                           reg: Any) -> None:
    by_hand = project.build(DECLARATIVE, job="images-declarative", multibranch=False, git_branch=None)
    assert_ran_cleanly(by_hand)
    assert by_hand.result == "SUCCESS", by_hand.text[-3000:]
    assert by_hand.triggers == ["cron H 3 * * *"] and by_hand.params == {"BRANCH": "main"}
    assert by_hand.commands("janitor") == []
    assert ("ci-tags: no janitor in this build: janitor: 'schedules', and the job's cron trigger did not start this "
            "build") in by_hand.text
    assert len(by_hand.commands("publish")) == 1
    assert [s["stages"] for s in by_hand.commands("plan")] == [["images", "ci-tags plan"]]

    nightly = project.build(DECLARATIVE, job="images-declarative", multibranch=False, git_branch=None,
                            causes=[TIMER])
    assert_ran_cleanly(nightly)
    assert nightly.result == "SUCCESS", nightly.text[-3000:]
    assert [s["branch"] for s in nightly.commands("janitor")] == ["janitor"]
    assert "## ci-tags janitor" in (nightly.description or "")
    app = project.repository("app")
    number = project.numbers["other jobs:main"]
    assert target(reg, app, f"pipeline-main-{number}") == target(reg, app, LATEST)


@pytest.mark.parametrize(("value", "runs"), [("true", True), ("false", False), ("'always'", True),
                                             ("'never'", False)])
def test_janitor_true_and_false_still_mean_always_and_never(value: str, runs: bool, plain: Build,
                                                            project: Project) -> None:
    done = project.build(pipeline_script().replace("install: 'path',", f"install: 'path', janitor: {value},"),
                         job="images", multibranch=False, git_branch="origin/main")
    assert_ran_cleanly(done)
    assert bool(done.commands("janitor")) == runs


DECLARATIVE_SELF_CHECK = """pipeline {
    agent { label 'linux' }
    environment {
        GREETING = 'hello'
    }
    stages {
        stage('first') {
            steps {
                sh 'test -e ci-tags.yml && echo "first $GREETING"'
            }
        }
        stage('second') {
            steps {
                script {
                    error('second fails')
                }
            }
        }
        stage('third') {
            steps {
                echo 'never'
            }
        }
    }
    post {
        always {
            echo 'post always'
        }
        failure {
            echo 'post failure'
        }
        success {
            echo 'post success'
        }
    }
}
"""


def test_the_harness_runs_declarative_as_its_documentation_says(project: Project) -> None:
    """agent { label } runs the stages on a node with the scm checked out; environment reaches the steps; a failing
    stage fails the build and skips the next; post runs by the result."""
    done = project.build(DECLARATIVE_SELF_CHECK, job="self-check", multibranch=False, git_branch="origin/main")
    assert_ran_cleanly(done)
    assert done.result == "FAILURE"
    assert [n["label"] for n in done.nodes] == ["linux"]
    assert "first hello" in done.log
    assert 'Stage "third" skipped due to earlier failure(s)' in done.log and "never" not in done.log
    assert "post always" in done.log and "post failure" in done.log and "post success" not in done.log

    unknown = project.build("pipeline {\n    agent any\n    stages {\n        stage('x') {\n            when { branch "
                            "'main' }\n            steps { echo 'x' }\n        }\n    }\n}\n", job="self-check",
                            multibranch=False, git_branch="origin/main")
    assert unknown.code == 3
    assert unknown.harness_errors == ["the harness does not provide the stage directive when"]
