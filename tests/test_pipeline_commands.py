"""The stage commands end to end on the real registry with real buildah builds: hash, plan, build, manifest,
publish. A busybox base image made from Debian's busybox-static stands in for an image from the internet."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
import yaml

from ci_tags.core.manifest import ANNOTATION_CREATED, ANNOTATION_PIPELINE, OCI_INDEX, stamp_of
from tests.support.project import buildah_env, push_busybox_base, write_project

pytestmark = pytest.mark.skipif(shutil.which("buildah") is None, reason="buildah is installed by .ci/setup")


@pytest.fixture(scope="module")
def builds(registry, tmp_path_factory):
    work = tmp_path_factory.mktemp("builds")
    env = buildah_env(work / "buildah")
    base = push_busybox_base(registry.host, work, env)
    return env, base


@pytest.fixture
def project(tmp_path, registry, builds, cli, monkeypatch):
    """A checkout with ci-tags.yml; ``run(*args, pipeline=..., branch=...)`` runs ci-tags in it."""
    env, base = builds
    root = tmp_path / f"proj-{tmp_path.name}"
    root.mkdir()
    unique = hashlib.sha256(str(tmp_path).encode()).hexdigest()[:10]
    write_project(root, f"{registry.host}/p{unique}", base)
    monkeypatch.chdir(root)

    def run(*args, pipeline="1", branch="main", **extra):
        ci = {"CI_TAGS_PIPELINE_ID": pipeline, "CI_TAGS_BRANCH": branch, "CI_TAGS_DEFAULT_BRANCH": "main"}
        return cli(*args, env={**env, **ci, **extra})

    # the fixture's function carries its project, for the tests that need more than running it
    run.root = root  # type: ignore[attr-defined]
    run.registry_prefix = yaml.safe_load((root / "ci-tags.yml").read_text())["registry"]  # type: ignore[attr-defined]
    return run


def repo(project, name):
    return project.registry_prefix.split("/", 1)[1] + "/" + name


def test_first_pipeline_builds_everything_second_reuses_everything(project, reg, registry):
    first = project("plan", "--gitlab-child", "child.yml", "--dotenv", "ci.env", "--json")
    assert first.code == 0, first.err
    plan = json.loads(first.out)
    assert [(i["image"], i["action"], i["builds"]) for i in plan["images"]] == [
        ("base", "build", ["amd64"]),
        ("app", "build", ["amd64"]),
        ("tools", "build", ["amd64", "arm64"]),
    ]
    child = yaml.safe_load((project.root / "child.yml").read_text())
    assert child["build:app:amd64"]["needs"] == ["build:base:amd64"]
    assert child["manifest:tools"]["needs"] == ["build:tools:amd64", "build:tools:arm64"]
    assert (project.root / "ci.env").read_text().splitlines()[0] == (
        f"CI_TAGS_IMAGE_BASE={project.registry_prefix}/base:pipeline-1"
    )

    for args in (["base"], ["app"], ["tools", "--arch", "amd64"], ["tools", "--arch", "arm64"]):
        built = project("build", *args)
        assert built.code == 0, built.err
    assert project("manifest", "tools").code == 0

    # app was built on exactly the base image this pipeline built: its layers start with base's layers
    base_image = reg.get_manifest(repo(project, "base"), plan["images"][0]["content_tag"])
    app_image = reg.get_manifest(repo(project, "app"), plan["images"][1]["content_tag"])
    assert [b.digest for b in app_image.blobs[1 : len(base_image.blobs)]] == [b.digest for b in base_image.blobs[1:]]

    # every pipeline tag is a stamped index pointing at the built image
    for name in ("base", "app", "tools"):
        tagged = reg.get_manifest(repo(project, name), "pipeline-1")
        assert tagged.media_type == OCI_INDEX
        assert (stamp_of(tagged) or {})[ANNOTATION_PIPELINE] == "1"
        assert (stamp_of(tagged) or {})[ANNOTATION_CREATED]
    tools = reg.get_manifest(repo(project, "tools"), "pipeline-1")
    assert sorted(c.platform["architecture"] for c in tools.children) == ["amd64", "arm64"]

    mark = registry.mark()
    second = project("plan", "--gitlab-child", "child2.yml", "--json", pipeline="2")
    assert second.code == 0, second.err
    assert [i["action"] for i in json.loads(second.out)["images"]] == ["reuse", "reuse", "reuse"]
    requests = registry.since(mark)
    assert not [r for r in requests if r.is_blob], "reuse must not read or write a blob"
    # per image: HEAD (or GET) the content tag, PUT the pipeline tag (the registry confirms the digest, and refuses
    # an index naming an image it no longer holds: no read-back)
    assert len(requests) == 6
    # no pull spent on metadata: single-arch images are checked with a HEAD; only the multi-arch index, whose
    # entries the stamp copies, is read
    gets = [r.uri for r in requests if r.method == "GET"]
    assert len(gets) == 1 and "/tools/manifests/" in gets[0], gets

    mark = registry.mark()
    files = ["--gitlab-child", "child3.yml", "--dotenv", "ci3.env", "--jenkins-matrix", "m3.json"]
    dry = project("plan", *files, "--dry-run", pipeline="3")
    assert dry.code == 0, dry.err
    assert [r for r in registry.since(mark) if r.method != "HEAD" and r.method != "GET"] == []  # no tag written
    assert not any((project.root / f).exists() for f in ("child3.yml", "ci3.env", "m3.json"))  # no file written
    real = project("plan", *files, pipeline="3")
    assert real.code == 0, real.err

    def table(out):
        return [line for line in out.splitlines() if "\thash-" in line or line.startswith(("#", "image\t"))]

    assert table(dry.out) == table(real.out) and table(dry.out)
    for name in ("child3.yml", "ci3.env", "m3.json"):  # the files' contents, exactly as the real run wrote them
        assert f"--- {name} (not written)\n" + (project.root / name).read_text().rstrip("\n") in dry.out
    assert "pipeline-3" in reg.tags(repo(project, "base"))
    assert list(yaml.safe_load((project.root / "child2.yml").read_text())) == ["stages", "ci-tags:nothing-to-build"]
    for name in ("base", "app", "tools"):
        first_tag = stamp_of(reg.get_manifest(repo(project, name), "pipeline-1")) or {}
        second_tag = stamp_of(reg.get_manifest(repo(project, name), "pipeline-2")) or {}
        assert first_tag["dev.ci-tags.target"] == second_tag["dev.ci-tags.target"]


def test_a_changed_file_rebuilds_that_image_and_its_children_only(project):
    before = {line.split()[0]: line.split()[-1] for line in project("hash").out.splitlines()}
    (project.root / "docker" / "base" / "unused.txt").write_text("changed, but no COPY reads it\n")
    assert {line.split()[0]: line.split()[-1] for line in project("hash").out.splitlines()} == before
    (project.root / "docker" / "base" / "files" / "hello.txt").write_text("hello again\n")
    after = {line.split()[0]: line.split()[-1] for line in project("hash").out.splitlines()}
    assert after["base"] != before["base"]
    assert after["app"] != before["app"]  # app builds FROM base
    assert after["tools"] == before["tools"]


def test_publish_only_from_the_default_branch_and_never_backwards(project, reg):
    for args in (["plan"], ["build", "base"], ["build", "app"], ["build", "tools", "--arch", "amd64"],
                 ["build", "tools", "--arch", "arm64"], ["manifest", "tools"]):
        assert project(*args, pipeline="5").code == 0
    feature = project("publish", pipeline="5", branch="feature/x")
    assert feature.code == 0
    assert "not publishing" in feature.out and "not the default branch" in feature.out
    assert "latest" not in reg.tags(repo(project, "base"))

    dry = project("publish", "--dry-run", pipeline="5")
    assert "would move" in dry.out
    assert "latest" not in reg.tags(repo(project, "base"))
    assert project("publish", pipeline="5").code == 0
    latest5 = reg.head_manifest(repo(project, "base"), "latest")
    assert (stamp_of(reg.get_manifest(repo(project, "base"), "latest")) or {})[ANNOTATION_PIPELINE] == "5"

    assert project("plan", pipeline="6").code == 0
    unchanged = project("publish", "--json", pipeline="6")  # nothing changed: latest keeps its digest
    assert unchanged.code == 0, unchanged.err
    report = json.loads(unchanged.out)
    assert report["published"] is False and report["unchanged"] is True
    assert {m["status"] for m in report["moves"]} == {"unchanged"}
    assert reg.head_manifest(repo(project, "base"), "latest") == latest5
    late = project("publish", pipeline="5")  # a slow, older pipeline finishing last
    assert "kept" in late.out and "later pipeline 6" in late.out
    assert reg.head_manifest(repo(project, "base"), "latest") == latest5

    (project.root / "docker" / "tools" / "tool.txt").write_text("a changed tool\n")
    for args in (["plan"], ["build", "tools", "--arch", "amd64"], ["build", "tools", "--arch", "arm64"],
                 ["manifest", "tools"]):
        assert project(*args, pipeline="7").code == 0
    moved = project("publish", pipeline="7")
    assert moved.code == 0, moved.err
    assert f"moved {project.registry_prefix}/tools:latest" in moved.out
    assert f"unchanged {project.registry_prefix}/base:latest" in moved.out
    assert reg.head_manifest(repo(project, "base"), "latest") == latest5
    late = project("publish", pipeline="6")  # pipeline 6's older tools image never comes back
    assert (stamp_of(reg.get_manifest(repo(project, "tools"), "latest")) or {})[ANNOTATION_PIPELINE] == "7"


def test_publish_refuses_a_half_built_set(project, reg):
    assert project("plan", pipeline="9").code == 0
    assert project("build", "base", pipeline="9").code == 0
    result = project("publish", pipeline="9")
    assert result.code == 0
    assert "half-built" in result.out
    assert "latest" not in reg.tags(repo(project, "base"))


def test_unknown_image_and_bad_config_are_bad_input(project):
    unknown = project("build", "nope")
    assert unknown.code == 2 and "unknown image 'nope'" in unknown.err
    (project.root / "ci-tags.yml").write_text("images:\n  base:\n    dockerfile: docker/base/Dockerfile\n"
                                              "    arches: [amd64, arm65]\n")
    bad = project("hash", CI_REGISTRY_IMAGE="reg.example.com/x")
    assert bad.code == 2
    assert "ci-tags.yml:4: images.base.arches[1]: unknown architecture 'arm65'" in bad.err


def test_rebuilding_an_existing_content_tag_is_skipped(project):
    assert project("build", "base").code == 0
    again = project("build", "base")
    assert again.code == 0
    assert "exists already" in again.err


def test_build_runs_on_the_parent_the_parser_sees(project):
    """``FROM \\`` + newline + ``base``: hashed as a child of base, so built on base's exact digest (there is no
    image named plain ``base`` anywhere: a build on the mutable name would fail)."""
    (project.root / "docker" / "app" / "Dockerfile").write_text(
        "FROM \\\n    base\nCOPY app.sh /usr/local/bin/app.sh\nRUN test -f /opt/built\n")
    assert project("build", "base", pipeline="12").code == 0
    built = project("build", "app", pipeline="12")
    assert built.code == 0, built.err


def test_what_hash_refuses_build_refuses_the_same_way(project):
    (project.root / "docker" / "app" / "Dockerfile").write_text('FROM base\nARG X="abc\nCOPY app.sh /\n')
    for command in (["hash"], ["plan"], ["build", "app"]):
        result = project(*command)
        assert result.code == 2, command
        assert "docker/app/Dockerfile:2:" in result.err and "double-quote" in result.err
