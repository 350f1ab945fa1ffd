"""The layer cache (``cache: registry``): a rebuild on a runner that has never seen the image, after a change to
its last step, re-runs only that step, reusing the others' layers through <repository>/cache; the janitor counts
the cache repository as its own. Real buildah, real registry; each build in fresh container storage."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess

import pytest

from tests.support.project import buildah_env, push_busybox_base

pytestmark = pytest.mark.skipif(shutil.which("buildah") is None, reason="buildah is installed by .ci/setup")

STEP_RE = re.compile(r"^STEP (\d+)/\d+: (.*)$")


def steps_run(log: str) -> list[str]:
    """The steps the builder ran, from its log: a step followed by 'Using cache' was not run."""
    ran, current = [], None
    for line in log.splitlines():
        step = STEP_RE.match(line)
        if step:
            if current:
                ran.append(current)
            current = step[2]
        elif current and "Using cache" in line:
            current = None
    if current:
        ran.append(current)
    return [s for s in ran if s.startswith("RUN")]


@pytest.fixture
def cached_project(registry, tmp_path, cli, monkeypatch):
    base = push_busybox_base(registry.host, tmp_path / "base", buildah_env(tmp_path / "storage-base"))
    root = tmp_path / "proj"
    (root / "app").mkdir(parents=True)
    monkeypatch.chdir(root)
    prefix = f"{registry.host}/c{hashlib.sha256(str(tmp_path).encode()).hexdigest()[:10]}"
    (root / "ci-tags.yml").write_text(f"registry: {prefix}\ncache: registry\nimages:\n  app:\n"
                                      "    dockerfile: app/Dockerfile\n")

    def build(last: str, storage: str):
        (root / "app" / "Dockerfile").write_text(
            f"FROM {base}\nRUN echo slow > /slow\nRUN echo quick > /quick\nRUN echo {last} > /last\n")
        env = {**buildah_env(tmp_path / storage), "CI_TAGS_PIPELINE_ID": "1"}
        return cli("build", "app", env=env)

    # the fixture's function carries its project, for the tests that need more than running it
    build.prefix = prefix  # type: ignore[attr-defined]
    build.root = root  # type: ignore[attr-defined]
    build.base = base  # type: ignore[attr-defined]
    return build


def test_a_changed_last_step_rebuilds_only_that_step_through_the_registry_cache(cached_project, cli):
    first = cached_project("one", "storage-1")
    assert first.code == 0, first.err
    assert steps_run(first.err) == ["RUN echo slow > /slow", "RUN echo quick > /quick", "RUN echo one > /last"]
    assert f"Pushing cache {cached_project.prefix}/app/cache:" in first.err
    # the final image, every per-step image it left for the cache and the base it pulled are gone from local
    # storage (the base was not there before the build)
    listed = subprocess.run(["buildah", "images", "-a", "--format", "{{.Name}}"], check=True, text=True,
                            env=buildah_env(cached_project.root.parent / "storage-1"), capture_output=True).stdout
    assert listed.split() == []

    second = cached_project("two", "storage-2")  # another runner: nothing local to reuse
    assert second.code == 0, second.err
    assert steps_run(second.err) == ["RUN echo two > /last"]
    assert f"Cache pulled from remote {cached_project.prefix}/app/cache:" in second.err

    report = cli("janitor", "--dry-run", "--json", env={"CI_TAGS_PIPELINE_ID": "1"})
    assert report.code == 0, report.err
    repos = {r["repository"]: r for r in json.loads(report.out)["repositories"]}
    cache = repos[f"{cached_project.prefix}/app/cache"]
    # every cache tag is ci-tags' own, aged like its content tags (young here), never "foreign"
    assert len(cache["kept"]) >= 3 and set(cache["kept"].values()) == {"young"}


def test_cache_mode_is_checked(tmp_path, cli):
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "ci-tags.yml").write_text("registry: r.example/g\nimages:\n  app: {dockerfile: Dockerfile, "
                                          "cache: local}\n")
    result = cli("hash", "--config", str(tmp_path / "ci-tags.yml"))
    assert result.code == 2
    assert "images.app.cache" in result.err and "local is not a cache mode (known: none, registry)" in result.err
