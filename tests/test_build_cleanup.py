"""What a build leaves on a long-lived runner, with real buildah builds: the parent images it pulled go with the
built image (unless --keep-image), images that were there before stay; and no "build args were not consumed"
warning about the platform args buildah sets itself."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.project import buildah_env, push_busybox_base

pytestmark = pytest.mark.skipif(shutil.which("buildah") is None, reason="buildah is installed by .ci/setup")


@pytest.fixture(scope="module")
def base(registry, tmp_path_factory):
    """The busybox base in the registry, built in a storage of its own (the builds below start empty)."""
    work = tmp_path_factory.mktemp("cleanup-base")
    return push_busybox_base(registry.host, work, buildah_env(work / "buildah"), repository="cleanup/busybox")


@dataclass(frozen=True)
class Runner:
    """``runner(*args)`` runs ci-tags in the checkout; ``local()`` lists the images in its storage."""

    cli: Any
    env: dict[str, str]
    prefix: str

    def __call__(self, *args: str) -> Any:
        return self.cli(*args, env=self.env)

    def local(self) -> list[str]:
        done = subprocess.run(["buildah", "images", "--format", "{{.Name}}:{{.Tag}}"], env=self.env, check=True,
                              capture_output=True, text=True)
        return sorted(done.stdout.split())


@pytest.fixture
def runner(tmp_path, registry, base, cli, monkeypatch):
    """A checkout (``parent`` FROM the busybox base, ``child`` FROM parent) and an empty local storage; ``run``
    runs ci-tags there, ``local()`` lists the images in that storage."""
    root = tmp_path / "checkout"
    for name, text in {
        "parent": f"FROM {base}\nCOPY p.txt /p.txt\n",
        "child": "FROM parent\nARG TARGETARCH\nLABEL built.arch=$TARGETARCH\nCOPY c.txt /c.txt\n",
    }.items():
        (root / name).mkdir(parents=True)
        (root / name / "Dockerfile").write_text(text)
        (root / name / f"{name[0]}.txt").write_text(f"{name}\n")
    prefix = f"{registry.host}/c{hashlib.sha256(str(tmp_path).encode()).hexdigest()[:10]}"
    (root / "ci-tags.yml").write_text(f"registry: {prefix}\nimages:\n  parent:\n    dockerfile: parent/Dockerfile\n"
                                      "  child:\n    dockerfile: child/Dockerfile\n")
    monkeypatch.chdir(root)
    env = {**buildah_env(tmp_path / "storage"), "CI_TAGS_PIPELINE_ID": "1"}

    return Runner(cli, env, prefix)


def test_a_build_removes_the_parents_it_pulled_and_keeps_what_was_there(runner, base):
    assert runner.local() == []
    built = runner("build", "parent")
    assert built.code == 0, built.err
    assert runner.local() == []  # neither the built image nor the busybox base it pulled

    subprocess.run(["buildah", "pull", "--tls-verify=false", base], env=runner.env, check=True, capture_output=True)
    child = runner("build", "child")
    assert child.code == 0, child.err
    assert runner.local() == [base]  # the parent pulled by digest went; the image there before stayed


def test_keep_image_keeps_the_parents_too(runner, base):
    assert runner("build", "parent", "--keep-image").code == 0
    kept = runner.local()
    assert base in kept and any(n.startswith(f"{runner.prefix}/parent:") for n in kept)


def test_no_warning_about_the_platform_args_buildah_sets(runner):
    for image in ("parent", "child"):  # one declares no platform ARG, one declares TARGETARCH and uses it
        built = runner("build", image, "--keep-image")
        assert built.code == 0, built.err
        assert "not consumed" not in built.err
    child = next(n for n in runner.local() if n.startswith(f"{runner.prefix}/child:"))
    labels = subprocess.run(["buildah", "inspect", "--type", "image", "--format", "{{.OCIv1.Config.Labels}}", child],
                            env=runner.env, check=True, capture_output=True, text=True).stdout
    assert "built.arch:amd64" in labels  # the declared platform ARG still has its value
