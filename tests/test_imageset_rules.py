"""The image set and Docker's rules across images: aliases (parents named the old way), ENV and ONBUILD of a
set parent seen by its children, and the warning for a FROM that looks like a local image."""

from __future__ import annotations

from pathlib import Path

from ci_tags.project.config import load_config
from ci_tags.project.imageset import resolve

ENV = {"CI_REGISTRY_IMAGE": "registry.example.com/group/project"}


def project(root: Path, files: dict[str, str], config: str) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / "ci-tags.yml").write_text(config)
    return root


def hashes(root: Path) -> dict[str, str]:
    config = load_config(root / "ci-tags.yml", ENV)
    return {i.name: i.content_tag for i in resolve(config)}


CONFIG = """\
images:
  qemu/debian10:
    dockerfile: debian10/Dockerfile
    aliases: ["qemu:debian10"]
  qemu/app:
    dockerfile: app/Dockerfile
"""


def test_a_from_naming_an_alias_is_a_parent(tmp_path):
    root = project(tmp_path, {
        "debian10/Dockerfile": "FROM debian:10\nCOPY base.txt /\n", "debian10/base.txt": "1\n",
        "app/Dockerfile": "FROM qemu:debian10\nCOPY app.txt /\n", "app/app.txt": "a\n",
    }, CONFIG)
    config = load_config(root / "ci-tags.yml", ENV)
    app = {i.name: i for i in resolve(config)}["qemu/app"]
    assert app.parents == ("qemu/debian10",)
    assert app.bases == {"qemu:debian10": "qemu/debian10"}
    before = hashes(root)
    (root / "debian10" / "base.txt").write_text("2\n")
    after = hashes(root)
    assert after["qemu/debian10"] != before["qemu/debian10"]
    assert after["qemu/app"] != before["qemu/app"]  # the child moves with its parent


def test_without_the_alias_a_warning_names_the_likely_parent(tmp_path):
    root = project(tmp_path, {
        "debian10/Dockerfile": "FROM debian:10\n", "app/Dockerfile": "FROM qemu:debian10\n",
    }, CONFIG.replace('    aliases: ["qemu:debian10"]\n', ""))
    app = {i.name: i for i in resolve(load_config(root / "ci-tags.yml", ENV))}["qemu/app"]
    assert app.parents == ()
    assert any("qemu:debian10" in w and "aliases" in w for w in app.warnings)


def test_onbuild_and_env_of_a_set_parent_reach_the_child(tmp_path):
    root = project(tmp_path, {
        "debian10/Dockerfile": "FROM scratch\nENV APP_FILE=app.txt\nONBUILD COPY hook.txt /\n",
        "app/Dockerfile": "FROM qemu/debian10\nCOPY $APP_FILE /\n",
        "app/app.txt": "a\n", "app/hook.txt": "h\n", "app/other.txt": "o\n",
    }, CONFIG)
    before = hashes(root)
    (root / "app" / "other.txt").write_text("changed\n")
    assert hashes(root) == before  # APP_FILE is known through the set: not the whole context
    for name in ("app.txt", "hook.txt"):
        (root / "app" / name).write_text("changed\n")
        after = hashes(root)
        assert after["qemu/app"] != before["qemu/app"], name
        assert after["qemu/debian10"] == before["qemu/debian10"]
        before = after


def test_cli_refuses_what_docker_refuses_with_exit_2(tmp_path, cli, monkeypatch):
    cases: dict[str, tuple[str | bytes, str, str]] = {
        "target: nosuchstage": ("FROM scratch AS build\nCOPY a.txt /\n", "    target: nosuchstage\n",
                                "target stage 'nosuchstage' could not be found"),
        "unknown instruction": ("FROM scratch\nCOPPY a.txt /\n", "",
                                "debian10/Dockerfile:2: unknown instruction: COPPY"),
        "bad ignore pattern": ("FROM scratch\nCOPY a.txt /\n", "", "debian10/.dockerignore:1: Docker refuses"),
    }
    for i, (name, (dockerfile, extra, message)) in enumerate(cases.items()):
        root = tmp_path / str(i)
        project(root, {"debian10/a.txt": "a\n"}, "images:\n  qemu/debian10:\n    dockerfile: debian10/Dockerfile\n"
                + extra)
        data = dockerfile if isinstance(dockerfile, bytes) else dockerfile.encode()
        (root / "debian10" / "Dockerfile").write_bytes(data)
        if name == "bad ignore pattern":
            (root / "debian10" / ".dockerignore").write_text("[\\]a\n")
        monkeypatch.chdir(root)
        result = cli("hash", env=ENV)
        assert result.code == 2, name
        assert message in result.err, (name, result.err)
        assert "internal error" not in result.err


def test_env_a_parent_sets_is_known_even_when_its_own_base_is_external(tmp_path):
    root = project(tmp_path, {
        "debian10/Dockerfile": "FROM debian:10\nENV APP_FILE=app.txt\n",
        "app/Dockerfile": "FROM qemu/debian10\nCOPY $APP_FILE /\nCOPY ${FROM_DEBIAN:-app.txt} /\n",
        "app/app.txt": "a\n", "app/other.txt": "o\n",
    }, CONFIG)
    before = hashes(root)
    (root / "app" / "app.txt").write_text("changed\n")
    assert hashes(root)["qemu/app"] != before["qemu/app"]
    before = hashes(root)
    (root / "app" / "other.txt").write_text("changed\n")  # FROM_DEBIAN may be debian's ENV: whole context
    assert hashes(root)["qemu/app"] != before["qemu/app"]
    (root / "app" / "Dockerfile").write_text("FROM qemu/debian10\nCOPY $APP_FILE /\n")
    before = hashes(root)
    (root / "app" / "other.txt").write_text("changed again\n")
    assert hashes(root)["qemu/app"] == before["qemu/app"]


def test_a_registry_less_from_whose_last_element_is_a_set_name_gets_the_alias_hint(tmp_path):
    # qemu 5.1 renamed qemu:debian10 to qemu/debian10; a set that names the image debian10 meets FROM qemu/debian10
    root = project(tmp_path, {
        "debian10/Dockerfile": "FROM debian:10\n", "app/Dockerfile": "FROM qemu/debian10:latest\n",
    }, "images:\n  debian10:\n    dockerfile: debian10/Dockerfile\n  app:\n    dockerfile: app/Dockerfile\n")
    app = {i.name: i for i in resolve(load_config(root / "ci-tags.yml", ENV))}["app"]
    assert app.parents == ()
    assert any("FROM qemu/debian10:latest" in w and "images.debian10.aliases" in w for w in app.warnings)


def test_a_from_naming_a_registry_gets_no_hint(tmp_path):
    root = project(tmp_path, {
        "debian10/Dockerfile": "FROM debian:10\n", "app/Dockerfile": "FROM quay.io/qemu/debian10\n",
    }, "images:\n  debian10:\n    dockerfile: debian10/Dockerfile\n  app:\n    dockerfile: app/Dockerfile\n")
    app = {i.name: i for i in resolve(load_config(root / "ci-tags.yml", ENV))}["app"]
    assert not any("aliases" in w for w in app.warnings)
