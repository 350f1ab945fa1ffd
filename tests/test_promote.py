"""ci-tags promote end to end against two real registries, the release one behind htpasswd Basic auth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ci_tags.oci.client import Registry
from ci_tags.oci.http import Http
from ci_tags.oci.registries import Registries
from tests.support.auth import BASIC_USERS
from tests.support.images import push_image, push_index

PASSWORD = BASIC_USERS["alice"]


@pytest.fixture
def release(clean_env, basic_registry):
    regs = Registries(Http(), clean_env, username="alice", password=PASSWORD)
    yield regs.get(basic_registry.host)
    regs.http.close()


@pytest.fixture
def auth_env() -> dict[str, str]:
    return {"CI_TAGS_REGISTRY_USER": "alice", "CI_TAGS_REGISTRY_PASSWORD": PASSWORD}


def write(path: Path, entries: list[dict[str, str]]) -> Path:
    lines = ["images:"]
    for e in entries:
        first = True
        for k, v in e.items():
            lines.append(f"  {'- ' if first else '  '}{k}: {v}")
            first = False
    path.write_text("\n".join(lines) + "\n")
    return path


def test_same_repository_promotion_copies_by_metadata_and_rerun_is_all_nothing_to_do(
    reg: Registry, registry, cli, tmp_path: Path
) -> None:
    name = f"{registry.host}/stx/same"
    one = push_image(reg, "stx/same", "master-20191203T153530Z.0", layers=2).manifest
    two = push_image(reg, "stx/same", "master-20191204T000000Z.0").manifest
    path = write(tmp_path / "images.yml", [
        {"name": name, "src_build_tag": "master-20191203T153530Z.0", "src_ref": "https://opendev.org/c/1",
         "tag": "stx.4.0-v2.2"},
        {"name": name, "src_build_tag": "master-20191204T000000Z.0", "src_ref": "https://opendev.org/c/2",
         "tag": "stx.4.0-v2.3"},
    ])
    mark = registry.mark()
    result = cli("promote", str(path))
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        f"copied {name}:master-20191203T153530Z.0 -> {name}:stx.4.0-v2.2 {one.digest} (src_ref https://opendev.org/c/1)",
        f"copied {name}:master-20191204T000000Z.0 -> {name}:stx.4.0-v2.3 {two.digest} (src_ref https://opendev.org/c/2)",
    ]
    assert reg.head_manifest("stx/same", "stx.4.0-v2.2") == one.digest
    assert reg.head_manifest("stx/same", "stx.4.0-v2.3") == two.digest
    assert [r for r in registry.since(mark) if r.is_blob] == []  # metadata alone

    mark = registry.mark()
    again = cli("promote", str(path))
    assert again.code == 0, again.err
    assert again.out.splitlines() == [
        f"nothing to do: {name}:stx.4.0-v2.2 is {one.digest} (src_ref https://opendev.org/c/1)",
        f"nothing to do: {name}:stx.4.0-v2.3 is {two.digest} (src_ref https://opendev.org/c/2)",
    ]
    assert {r.method for r in registry.since(mark)} == {"HEAD"}  # a re-run writes nothing


def test_cross_registry_promotion_into_an_authenticated_registry(
    reg: Registry, release: Registry, registry, basic_registry, cli, tmp_path: Path, auth_env
) -> None:
    image = push_image(reg, "build/cni", "master-1", layers=3, layer_size=4096).manifest
    index, _ = push_index(reg, "build/multi", "master-1")
    path = write(tmp_path / "images.yml", [
        {"name": f"{basic_registry.host}/starlingx/cni", "source": f"{registry.host}/build/cni:master-1",
         "src_ref": "https://opendev.org/c/cni", "tag": "stx.4.0"},
        {"name": f"{basic_registry.host}/starlingx/multi", "source": f"{registry.host}/build/multi",
         "src_build_tag": "master-1", "src_ref": "https://opendev.org/c/multi", "tag": "stx.4.0"},
    ])
    dry = cli("promote", str(path), "--dry-run", env=auth_env)
    assert dry.code == 0, dry.err
    assert dry.out.startswith(f"would copy {registry.host}/build/cni:master-1 -> {basic_registry.host}/starlingx/cni")
    assert release.head_manifest("starlingx/cni", "stx.4.0") is None  # a dry run writes nothing

    result = cli("promote", str(path), "--json", env=auth_env)
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert [e["action"] for e in doc["entries"]] == ["copy", "copy"]
    assert doc["entries"][0]["copied"]["blobs_streamed"] == 4  # config + 3 layers
    assert doc["entries"][0]["copied"]["bytes_streamed"] > 3 * 4096
    assert release.head_manifest("starlingx/cni", "stx.4.0") == image.digest
    assert release.head_manifest("starlingx/multi", "stx.4.0") == index.digest
    for child in index.children:
        assert release.blob_exists("starlingx/multi", release.get_manifest("starlingx/multi", child.digest)
                                   .config.digest)  # type: ignore[union-attr]  # a child is an image manifest
    assert PASSWORD not in result.out + result.err + dry.out + dry.err

    again = cli("promote", str(path), "--json", env=auth_env)
    assert [e["action"] for e in json.loads(again.out)["entries"]] == ["nothing", "nothing"]


def test_a_conflict_or_a_missing_source_writes_nothing_and_lists_every_problem(
    reg: Registry, registry, cli, tmp_path: Path
) -> None:
    name = f"{registry.host}/stx/conflict"
    good = push_image(reg, "stx/conflict", "build-good").manifest
    mine = push_image(reg, "stx/conflict", "build-mine").manifest
    theirs = push_image(reg, "stx/conflict", "stx.5.0").manifest  # another branch released this tag already
    path = write(tmp_path / "images.yml", [
        {"name": name, "src_build_tag": "build-good", "src_ref": "https://opendev.org/c/good", "tag": "stx.5.0-ok"},
        {"name": name, "src_build_tag": "build-mine", "src_ref": "https://opendev.org/c/mine", "tag": "stx.5.0"},
        {"name": name, "src_build_tag": "build-gone", "src_ref": "https://opendev.org/c/gone", "tag": "stx.5.1"},
    ])
    for flags in ([], ["--dry-run"]):
        mark = registry.mark()
        result = cli("promote", str(path), *flags)
        assert result.code == 1
        assert [r for r in registry.since(mark) if r.method not in ("HEAD", "GET")] == []
        lines = result.out.splitlines()
        assert lines[0] == (f"blocked, not copied: {name}:build-good -> {name}:stx.5.0-ok {good.digest} "
                            "(src_ref https://opendev.org/c/good)")
        assert lines[1] == (f"conflict: {name}:stx.5.0 from {name}:build-mine ({mine.digest}): the tag is on another "
                            f"image ({theirs.digest}) (src_ref https://opendev.org/c/mine)")
        assert lines[2] == (f"missing source: {name}:build-gone for {name}:stx.5.1 does not exist "
                            "(src_ref https://opendev.org/c/gone)")
        assert "2 of 3 entries have problems (1 conflict, 1 missing-source): nothing was written" in result.err
    assert reg.head_manifest("stx/conflict", "stx.5.0-ok") is None
    assert reg.head_manifest("stx/conflict", "stx.5.0") == theirs.digest  # never overwritten


def test_two_entries_asking_one_tag_with_different_builds_conflict(
    reg: Registry, registry, cli, tmp_path: Path
) -> None:
    name = f"{registry.host}/stx/twice"
    push_image(reg, "stx/twice", "build-a")
    push_image(reg, "stx/twice", "build-b")
    path = write(tmp_path / "images.yml", [
        {"name": name, "src_build_tag": "build-a", "src_ref": "branch-a", "tag": "stx.6.0"},
        {"name": name, "src_build_tag": "build-b", "src_ref": "branch-b", "tag": "stx.6.0"},
    ])
    result = cli("promote", str(path), "--json")
    assert result.code == 1
    doc = json.loads(result.out)
    assert [e["action"] for e in doc["entries"]] == ["conflict", "conflict"]
    assert doc["written"] is False
    assert reg.head_manifest("stx/twice", "stx.6.0") is None


def test_a_malformed_entry_exits_2_naming_file_line_and_key_and_writes_nothing(
    reg: Registry, registry, cli, tmp_path: Path
) -> None:
    name = f"{registry.host}/stx/malformed"
    push_image(reg, "stx/malformed", "build-1")
    path = tmp_path / "images.yml"
    path.write_text(
        "images:\n"
        f"  - name: {name}\n    src_build_tag: build-1\n    src_ref: c1\n    tag: stx.7.0\n"
        f"  - name: {name}\n    src_build_tag: build-1\n    src_ref: c1\n    tag: -stx\n"
        f"  - name: {name}\n    src_build_tag: build-1\n    tagg: stx.7.1\n"
    )
    mark = registry.mark()
    result = cli("promote", str(path))
    assert result.code == 2
    assert result.out == ""
    err = result.err.splitlines()
    assert err[0] == f"problem: {path}:9: images[1].tag: invalid tag '-stx': it starts with '-'"
    assert err[1] == f"problem: {path}:12: images[2].tagg: unknown key (did you mean 'tag'?)"
    assert err[2].startswith(f"ci-tags: bad input: {path}:9: images[1].tag")
    assert "(and 1 more problem, listed above); nothing was changed" in err[2]
    assert registry.since(mark) == []  # the file is checked before any request


def test_an_unreadable_target_is_a_problem_and_nothing_is_written(
    reg: Registry, registry, token_registry, cli, tmp_path: Path
) -> None:
    """A job token may push to its own project's repositories only: the target it cannot read stops the file."""
    from tests.support.auth import TOKEN_USERS

    push_image(reg, "stx/tok", "build-1")
    path = write(tmp_path / "images.yml", [
        {"name": f"{token_registry.host}/gitlab/project-rel", "source": f"{registry.host}/stx/tok:build-1",
         "src_ref": "c1", "tag": "stx.8.0"},
        {"name": f"{token_registry.host}/other/rel", "source": f"{registry.host}/stx/tok:build-1",
         "src_ref": "c2", "tag": "stx.8.0"},
    ])
    secret = TOKEN_USERS["gitlab-ci-token"]
    env = {"CI_TAGS_REGISTRY_USER": "gitlab-ci-token", "CI_TAGS_REGISTRY_PASSWORD": secret}
    mark = token_registry.mark()
    result = cli("promote", str(path), env=env)
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0].startswith("blocked, not copied: ")
    assert lines[1].startswith(f"cannot read: {token_registry.host}/other/rel:stx.8.0: ")
    assert [r for r in token_registry.since(mark) if r.method in ("PUT", "POST", "PATCH")] == []
    assert secret not in result.out + result.err


def test_copies_that_fail_are_summed_up_and_a_rerun_finishes_the_job(
    reg: Registry, registry, token_registry, cli, tmp_path: Path
) -> None:
    """A reader can check the file but not push: every copy fails, with a summary; with push rights a re-run
    finishes, and a third run is all nothing to do."""
    from tests.support.auth import TOKEN_USERS

    image = push_image(reg, "stx/retry", "build-1").manifest
    path = write(tmp_path / "images.yml", [
        {"name": f"{token_registry.host}/stx/retry", "source": f"{registry.host}/stx/retry:build-1",
         "src_ref": "c1", "tag": "stx.9.0"},
    ])
    reader = {"CI_TAGS_REGISTRY_USER": "reader", "CI_TAGS_REGISTRY_PASSWORD": TOKEN_USERS["reader"]}
    alice = {"CI_TAGS_REGISTRY_USER": "alice", "CI_TAGS_REGISTRY_PASSWORD": TOKEN_USERS["alice"]}
    failed = cli("promote", str(path), env=reader)
    assert failed.code == 1
    assert failed.out.startswith(f"failed to copy {registry.host}/stx/retry:build-1 -> ")
    assert "1 of 1 copies failed; the others are done, re-running is safe" in failed.err
    assert cli("promote", str(path), env=alice).code == 0
    done = cli("promote", str(path), env=alice)
    assert done.out == (f"nothing to do: {token_registry.host}/stx/retry:stx.9.0 is {image.digest} "
                        "(src_ref c1)\n")


def test_two_promotions_of_one_file_at_once_both_succeed(
    reg: Registry, registry, registry2, client, cli, tmp_path: Path
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    digests = {}
    entries = []
    for i in range(6):
        digests[i] = push_image(reg, f"stx/race-{i}", "build-1", layers=2).manifest.digest
        entries.append({"name": f"{registry2.host}/stx/race-{i}", "source": f"{registry.host}/stx/race-{i}:build-1",
                        "src_ref": f"c{i}", "tag": "stx.10.0"})
    path = write(tmp_path / "images.yml", entries)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: cli("promote", str(path)), range(2)))
    assert [r.code for r in results] == [0, 0], [r.err for r in results]
    dst = client.get(registry2.host)
    assert all(dst.head_manifest(f"stx/race-{i}", "stx.10.0") == d for i, d in digests.items())


def test_an_entry_without_src_ref_is_promoted_and_shown_without_one(
    reg: Registry, registry, cli, tmp_path: Path
) -> None:
    name = f"{registry.host}/stx/noref"
    one = push_image(reg, "stx/noref", "master-1").manifest
    path = write(tmp_path / "images.yml", [{"name": name, "src_build_tag": "master-1", "tag": "stx.9.0"}])
    result = cli("promote", str(path))
    assert result.code == 0, result.err
    assert result.out.splitlines() == [f"copied {name}:master-1 -> {name}:stx.9.0 {one.digest} (no src_ref)"]
    doc = cli("--json", "promote", str(path))
    assert doc.code == 0, doc.err
    assert json.loads(doc.out)["entries"][0]["src_ref"] is None
