"""A project's real life over weeks, whole pipelines under gitlab-ci-local against the real registry with real
buildah builds, through the component as a user includes it. The clock is moved by data (tests/support/clock.py
rewrites image creation times and stamps), never by sleeping:

1. main publishes;
2. 30 days later a branch changes app's Dockerfile: it builds app alone, and its janitor keeps main's content
   tags (latest's stamp names them) while removing main's month-old pipeline tags;
3. main runs again, unchanged: no build, no blob written, no layer read, latest where it was;
4. the janitor's registry refuses deletes: the pipeline still builds, tests and publishes; the janitor job fails
   alone (allowed to), with one line per repository, not one per tag;
5. the janitor job is killed mid-run (SIGTERM, as a job timeout sends; gitlab-ci-local has no job timeout, so
   the job's script runs the janitor under timeout(1)): its log names exactly the tags that are gone.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from ci_tags.core.manifest import ANNOTATION_CONTENT_TAG, stamp_of
from tests.support.clock import move_back
from tests.support.gitlab_pipeline import target
from tests.support.gitlab_registry import GitLabLikeRegistry
from tests.support.proxy import Intercept, RegistryFront

IMAGES = ("base", "app", "tools")


@pytest.fixture(scope="module")
def store(gitlab_registry):
    """The tests' own client (an admin; the pipelines get only the job token)."""
    return gitlab_registry.admin()


@contextmanager
def front_of(gitlab_registry: GitLabLikeRegistry, root: Path, intercept: Intercept) -> Iterator[RegistryFront]:
    """A proxy in front of the job's registry, trusting the test CA upstream. The janitor reaches the registry
    through the proxy's host, so the project's DOCKER_AUTH_CONFIG gets the job's credentials for that host (as a
    project would for a mirror); the variables file is restored afterwards."""
    front = RegistryFront(gitlab_registry.registry.url, intercept, verify=str(gitlab_registry.ca.cert),
                           own_locations=True)
    variables_file = root / ".gitlab-ci-local-variables.yml"
    original = variables_file.read_text()
    variables = yaml.safe_load(original)
    auth_config = json.loads(variables["DOCKER_AUTH_CONFIG"])
    job = gitlab_registry.variables()
    user_password = f"{job['CI_REGISTRY_USER']}:{job['CI_REGISTRY_PASSWORD']}"
    auth_config["auths"][front.host] = {"auth": base64.b64encode(user_password.encode()).decode()}
    variables["DOCKER_AUTH_CONFIG"] = json.dumps(auth_config)
    variables_file.write_text(yaml.safe_dump(variables))
    try:
        yield front
    finally:
        variables_file.write_text(original)
        front.close()


def terminate_janitors() -> int:
    """SIGTERM, as a job's timeout sends it, to each ``ci-tags janitor`` process this test process started (the
    job's, under gitlab-ci-local); never another process of the machine. How many were signalled."""
    processes: dict[int, tuple[int, list[bytes]]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
                processes[int(entry.name)] = (ppid, (entry / "cmdline").read_bytes().split(b"\0"))
            except (OSError, ValueError, IndexError):
                continue  # gone meanwhile

    def ours(pid: int) -> bool:
        while pid > 1 and pid in processes:
            pid = processes[pid][0]
            if pid == os.getpid():
                return True
        return False

    def janitor(argv: list[bytes]) -> bool:
        return any(a.endswith(b"ci-tags") and argv[i + 1:i + 2] == [b"janitor"] for i, a in enumerate(argv))

    found = [pid for pid, (_, argv) in processes.items() if ours(pid) and janitor(argv)]
    for pid in found:
        os.kill(pid, signal.SIGTERM)
    return len(found)


def janitor_targets(gitlab_registry, gitlab_project, front: RegistryFront) -> str:
    """The janitor's arguments for the repositories behind the proxy. Its token realm is on the issuer's host,
    trusted as its registry (the plain-HTTP proxy) is: with the test CA, given as the job's --ca-cert."""
    repos = " ".join(f"{front.host}/{repository(gitlab_project, n)}" for n in IMAGES)
    return f"--ca-cert {gitlab_registry.ca.cert} {repos}"


def repository(gitlab_project, name: str) -> str:
    return f"{gitlab_project.prefix}/{name}"


def stamptarget(store, repo: str, digest: str) -> str:
    return (stamp_of(store.get_manifest(repo, digest)) or {})["dev.ci-tags.target"]


def content_tag_of_latest(store, gitlab_project, name: str) -> str:
    return (stamp_of(store.get_manifest(repository(gitlab_project, name), "latest")) or {})[ANNOTATION_CONTENT_TAG]


@pytest.fixture(scope="module")
def main_publishes(gitlab_project):
    return gitlab_project()


@pytest.fixture(scope="module")
def month_later_branch(gitlab_project, store, main_publishes):
    for name in IMAGES:
        move_back(store, repository(gitlab_project, name), 30)
    before = {name: set(store.tags(repository(gitlab_project, name))) for name in IMAGES}
    mains = {name: content_tag_of_latest(store, gitlab_project, name) for name in IMAGES}
    with gitlab_project.on_new_branch("feature/slow-app"):
        dockerfile = gitlab_project.root / "docker" / "app" / "Dockerfile"
        dockerfile.write_text(dockerfile.read_text() + "ENV SLOW=1\n")
        gitlab_project.git("commit", "-q", "-am", "app: slow")
        return gitlab_project(), before, mains


@pytest.fixture(scope="module")
def main_again(gitlab_project, store, month_later_branch):
    latest = {name: store.head_manifest(repository(gitlab_project, name), "latest") for name in IMAGES}
    return gitlab_project(), latest


@pytest.fixture(scope="module")
def refusing(gitlab_project, gitlab_registry, store, main_again):
    for name in IMAGES:
        move_back(store, repository(gitlab_project, name), 30)

    def refuse(method, path, query):
        if method == "DELETE":
            return 405, {"Content-Type": "application/json"}, b'{"errors":[{"code":"UNSUPPORTED"}]}'
        return None

    ci = gitlab_project.root / ".gitlab-ci.yml"
    with front_of(gitlab_registry, gitlab_project.root, refuse) as front:
        repos = janitor_targets(gitlab_registry, gitlab_project, front)
        text = ci.read_text().replace("janitor-args: --keep-last 0", f"janitor-args: --keep-last 0 {repos}")
        with gitlab_project.changed(ci, text, "the janitor's registry refuses deletes"):
            return gitlab_project()


@pytest.fixture(scope="module")
def killed(gitlab_project, gitlab_registry, store, refusing):
    for name in IMAGES:
        move_back(store, repository(gitlab_project, name), 30)
    before = {name: set(store.tags(repository(gitlab_project, name))) for name in IMAGES}

    deletes = itertools.count(1)

    def term_at_first_delete(method, path, query):
        if method == "DELETE" and next(deletes) == 1:  # a removal in flight: the job's timeout comes now
            assert terminate_janitors() == 1
        return None

    ci = gitlab_project.root / ".gitlab-ci.yml"
    with front_of(gitlab_registry, gitlab_project.root, term_at_first_delete) as front:
        repos = janitor_targets(gitlab_registry, gitlab_project, front)
        text = ci.read_text() + f"""
ci-tags-janitor:
  script:
    - ci-tags janitor --config "$CI_TAGS_CONFIG" --concurrency 1 {repos}
"""
        with gitlab_project.changed(ci, text, "a janitor killed by its job's timeout"):
            return gitlab_project(), before


def test_main_publishes(main_publishes, gitlab_project, store):
    assert main_publishes.code == 0, main_publishes.output[-3000:]
    assert main_publishes.ran("ci-tags-janitor") == "PASS"
    assert main_publishes.ran("ci-tags-publish") == "PASS"
    for name in IMAGES:
        assert content_tag_of_latest(store, gitlab_project, name) in store.tags(repository(gitlab_project, name))


def test_a_branch_a_month_later_keeps_mains_cache_and_removes_mains_old_pipeline_tags(
        month_later_branch, main_publishes, gitlab_project, store):
    run, before, mains = month_later_branch
    assert run.code == 0, run.output[-3000:]
    assert run.ran("ci-tags-janitor") == "PASS", run.output[-3000:]
    assert run.child_jobs == ["build:app:amd64"]
    for name in IMAGES:
        tags = set(store.tags(repository(gitlab_project, name)))
        assert mains[name] in tags, f"{name}: main's content tag was removed"
        assert "latest" in tags
        assert f"pipeline-{main_publishes.pipeline_id}" in before[name]
        assert f"pipeline-{main_publishes.pipeline_id}" not in tags  # a month old: expired


def test_main_again_unchanged_builds_nothing_and_moves_no_blob(main_again, month_later_branch, gitlab_project,
                                                                  store):
    run, latest = main_again
    assert run.code == 0, run.output[-3000:]
    assert run.child_jobs == ["ci-tags:nothing-to-build"]  # main's cache survived the branch's janitor
    assert run.ran("ci-tags-publish") == "PASS"
    blobs = [r for r in run.requests if r.is_blob]
    # the janitor may read the small config of the branch's content tag to date it; no layer, no upload
    assert all(r.method in ("GET", "HEAD") for r in blobs), blobs
    assert len(blobs) <= 1, blobs
    for name in IMAGES:
        repo = repository(gitlab_project, name)
        assert target(store, repo, "latest") == target(store, repo, f"pipeline-{run.pipeline_id}")
        # the image latest stands for did not move; its own digest staying put too is issue 16's publish work
        assert target(store, repo, "latest") == stamptarget(store, repo, latest[name])


def test_a_registry_refusing_deletes_fails_the_janitor_job_alone(refusing, gitlab_project):
    janitor = [result for name, result in refusing.jobs.items() if name.split()[0] == "ci-tags-janitor"]
    assert janitor == ["WARN"], refusing.output[-4000:]  # it failed, and was allowed to
    assert refusing.ran("ci-tags-plan") == "PASS"
    assert refusing.ran("use-app") == "PASS"
    assert refusing.ran("ci-tags-publish") == "PASS"
    not_removed = [line for line in refusing.output.splitlines() if "not removed" in line]
    assert 1 <= len(not_removed) <= len(IMAGES), "\n".join(not_removed)


def test_a_janitor_killed_mid_run_leaves_a_log_of_what_it_removed(killed, gitlab_project, store):
    run, before = killed
    janitor = [result for name, result in run.jobs.items() if name.split()[0] == "ci-tags-janitor"]
    assert janitor == ["WARN"], run.output[-4000:]
    assert run.ran("use-app") == "PASS"
    assert "SIGTERM: stopped starting removals" in run.output
    logged = set()
    for line in run.output.splitlines():
        _, _, text = line.partition("ci-tags-janitor > ")
        if text.startswith("removed "):
            logged.add(text.split(" ")[1].split("/", 1)[1])  # host/<repository:tag>
    gone = {f"{repository(gitlab_project, n)}:{t}" for n in IMAGES
            for t in before[n] - set(store.tags(repository(gitlab_project, n)))}
    assert logged == gone, (logged, gone)
    assert logged, run.output[-3000:]
