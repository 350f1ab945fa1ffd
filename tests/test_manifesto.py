"""The version manifesto: ``manifesto:`` per image in ci-tags.yml, run in the built image by a real buildah build;
its output's sha256 is the image's dev.ci-tags.manifesto label, so rebuilds with the same packages compare equal."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from ci_tags.builders.manifesto import LABEL, MAX_TEXT, TEXT_LABEL, manifesto_argv, manifesto_labels, manifesto_output
from ci_tags.oci.image import read_config
from tests.support.project import buildah_env, push_busybox_base, write_project


def test_labels_hash_the_whole_output_and_keep_a_bounded_text() -> None:
    assert manifesto_labels(b"a==1\nb==2\n") == {
        LABEL: "sha256:" + hashlib.sha256(b"a==1\nb==2\n").hexdigest(), TEXT_LABEL: "a==1\nb==2\n"}
    big = b"pkg==1.0\n" * 10_000
    labels = manifesto_labels(big)
    assert labels[LABEL] == "sha256:" + hashlib.sha256(big).hexdigest()
    assert len(labels[TEXT_LABEL].encode()) <= MAX_TEXT and labels[TEXT_LABEL].endswith("(cut: 90000 bytes in all)\n")


@pytest.mark.parametrize(("command", "output", "code"), [
    ("printf 'a==1\\nb==2\\n'", b"a==1\nb==2\n", 0),
    ("printf 'no newline at the end'", b"no newline at the end", 0),
    ("echo out; echo err >&2; exit 4", b"out\n", 4),
    ("true", b"", 0),
])
def test_the_commands_whole_output_is_told_apart_from_an_output_cut_short(command, output, code) -> None:
    """What runs in the container: the command's output, then a marker line; an output whose end was lost on its
    way out of the container has no marker at its end (buildah loses it on a busy machine)."""
    done = subprocess.run(manifesto_argv(command, "end-1"), capture_output=True, check=False)
    assert done.returncode == code
    assert manifesto_output(done.stdout, "end-1") == output
    for cut in (1, len(b"end-1 0\n"), len(done.stdout)):
        assert manifesto_output(done.stdout[:-cut], "end-1") is None
    assert manifesto_output(done.stdout, "end-2") is None  # another run's marker


def test_an_empty_manifesto_is_bad_input(tmp_path: Path, cli) -> None:
    write_project(tmp_path, "r.example/x", "r.example/base:1")
    text = (tmp_path / "ci-tags.yml").read_text().replace(
        "    dockerfile: docker/app/Dockerfile\n", "    dockerfile: docker/app/Dockerfile\n    manifesto: ''\n")
    (tmp_path / "ci-tags.yml").write_text(text)
    result = cli("hash", "--config", str(tmp_path / "ci-tags.yml"))
    assert result.code == 2
    assert result.err.startswith(f"ci-tags: bad input: {tmp_path / 'ci-tags.yml'}:7: images.app.manifesto: empty")


def _manifesto_project(tmp_path: Path, registry_host: str, prefix: str, manifesto: str) -> tuple[Path, dict[str, str]]:
    """The test project under ``<registry>/<prefix>`` whose base image has ``manifesto``, its busybox base pushed;
    its ci-tags.yml and a pipeline's environment with buildah's storage under ``tmp_path``."""
    env = buildah_env(tmp_path / "buildah")
    base = push_busybox_base(registry_host, tmp_path, env)
    root = tmp_path / "proj"
    root.mkdir()
    write_project(root, f"{registry_host}/{prefix}", base)
    config = root / "ci-tags.yml"
    config.write_text(config.read_text().replace(
        "    dockerfile: docker/base/Dockerfile\n",
        f"    dockerfile: docker/base/Dockerfile\n    manifesto: {manifesto}\n"))
    return config, {**env, "CI_TAGS_PIPELINE_ID": "1", "CI_TAGS_BRANCH": "main", "CI_TAGS_DEFAULT_BRANCH": "main"}


@pytest.mark.skipif(shutil.which("buildah") is None, reason="buildah is installed by .ci/setup")
def test_build_labels_the_manifesto_and_rebuilds_with_the_same_packages_compare_equal(
    tmp_path: Path, registry, reg, cli
) -> None:
    config, ci = _manifesto_project(tmp_path, registry.host, "mf", "cat /opt/files/hello.txt; echo done >&2")
    first = cli("build", "base", "--config", str(config), "--json", env=ci)
    assert first.code == 0, first.err
    import json

    built = json.loads(first.out)
    manifest = reg.get_manifest("mf/ci/base", built["digest"])
    labels = read_config(reg, "mf/ci/base", manifest).labels
    assert labels[LABEL] == "sha256:" + hashlib.sha256(b"hello\n").hexdigest()
    assert labels[TEXT_LABEL] == "hello\n"

    # a forced rebuild: another image (another created time), the same packages -> the same manifesto
    again = cli("build", "base", "--config", str(config), "--force", "--pipeline-id", "2", "--json", env=ci)
    assert again.code == 0, again.err
    rebuilt = json.loads(again.out)
    assert rebuilt["digest"] != built["digest"]
    assert read_config(reg, "mf/ci/base", reg.get_manifest("mf/ci/base", rebuilt["digest"])).labels[LABEL] == \
        labels[LABEL]

    # a failing manifesto command fails the build, before anything is pushed under the content tag
    config.write_text(config.read_text().replace("manifesto: cat /opt/files/hello.txt; echo done >&2",
                                                 "manifesto: exit 3"))
    failed = cli("build", "base", "--config", str(config), "--force", "--pipeline-id", "3", env=ci)
    assert failed.code == 1
    assert "the manifesto command 'exit 3' failed" in failed.err
    assert reg.head_manifest("mf/ci/base", rebuilt["content_tag"]) == rebuilt["digest"]


LOSSY_BUILDAH = """#!/bin/sh
# The real buildah, except that the first `buildah run` loses the last bytes of its standard output (as buildah
# itself does now and then on a busy machine)
if [ "$1" = run ] && [ ! -e "{state}" ]; then
  touch "{state}"
  "{real}" "$@" > "{state}.out"; rc=$?
  head -c -7 "{state}.out"
  exit $rc
fi
exec "{real}" "$@"
"""


@pytest.mark.skipif(shutil.which("buildah") is None, reason="buildah is installed by .ci/setup")
def test_a_manifesto_output_the_builder_cut_short_is_run_again_not_labelled(tmp_path: Path, registry, reg, cli) -> None:
    config, ci = _manifesto_project(tmp_path, registry.host, "lossy", "cat /opt/files/hello.txt")
    wrapper = tmp_path / "bin" / "buildah"
    wrapper.parent.mkdir()
    wrapper.write_text(LOSSY_BUILDAH.format(state=tmp_path / "cut-once", real=shutil.which("buildah")))
    wrapper.chmod(0o755)
    ci["PATH"] = f"{wrapper.parent}:{ci['PATH']}"
    result = cli("build", "base", "--config", str(config), "--builder", "buildah", "--json", env=ci)
    assert result.code == 0, result.err
    assert (tmp_path / "cut-once").exists()  # the first run's output was cut
    assert "lost the end of the manifesto's output; running it again" in result.err
    import json

    built = json.loads(result.out)
    labels = read_config(reg, "lossy/ci/base", reg.get_manifest("lossy/ci/base", built["digest"])).labels
    assert labels[LABEL] == "sha256:" + hashlib.sha256(b"hello\n").hexdigest()
