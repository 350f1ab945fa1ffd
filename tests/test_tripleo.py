"""The pure rules of prepare (ci_tags.core.tripleo): entries in order, includes over excludes, tags from labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from ci_tags.core.reference import Reference
from ci_tags.core.tripleo import ImageRequest, PrepareEntry, choose, destination, discovered_tag
from ci_tags.errors import BadInput
from ci_tags.project.release_files import load_image_list, load_prepare_file
from ci_tags.project.yamlfile import MalformedFile

NS = Reference("docker.io", "tripleomaster")
NOVA = ImageRequest("nova-api", ("ContainerNovaApiImage",))


def entry(index: int, **kw: object) -> PrepareEntry:
    return PrepareEntry(index, index + 3, NS, **kw)  # type: ignore[arg-type]  # the tests' overrides, each of its field's type


def test_a_later_entry_overrides_an_earlier_one_for_the_images_it_selects() -> None:
    entries = (entry(0, excludes=("ceph",)), entry(1, includes=("nova",)), entry(2, includes=("ceph",)))
    assert choose(entries, "nova-api") is entries[1]
    assert choose(entries, "glance-api") is entries[0]
    assert choose(entries, "ceph-daemon") is entries[2]
    assert choose(entries[:1], "ceph-daemon") is None  # excluded, and nothing else selects it


def test_includes_come_first_excludes_are_not_consulted_then() -> None:
    both = entry(0, includes=("nova",), excludes=("nova-api",))
    assert both.selects("nova-api") and both.selects("nova-compute") and not both.selects("glance-api")
    assert entry(0, excludes=("api",)).selects("nova-compute") and not entry(0, excludes=("api",)).selects("nova-api")


@pytest.mark.parametrize(
    ("spec", "labels", "tag"),
    [
        (None, {}, "current-tripleo"),
        ("rdo_version", {"rdo_version": "a1b2c3"}, "a1b2c3"),
        ("{version}-{release}", {"version": "16.0", "release": "2.1587049321"}, "16.0-2.1587049321"),
    ],
)
def test_discovered_tag(spec: str | None, labels: dict[str, str], tag: str) -> None:
    assert discovered_tag(entry(0, tag="current-tripleo", tag_from_label=spec), labels) == tag


@pytest.mark.parametrize(
    ("spec", "labels", "message"),
    [
        ("{version}-{release}", {"version": "16.0"}, "no label 'release'"),
        ("rdo_version", {}, "no label 'rdo_version'"),
        ("{version}", {"version": "16 0"}, "invalid tag '16 0'"),
    ],
)
def test_discovered_tag_problems(spec: str, labels: dict[str, str], message: str) -> None:
    with pytest.raises(BadInput, match=message):
        discovered_tag(entry(0, tag_from_label=spec), labels)


def test_destination_is_the_namespace_path_on_the_push_registry() -> None:
    e = entry(0, name_prefix="centos-binary-", push_destination=True)
    assert str(destination(e, NOVA, "16.0-2", "192.168.24.1:8787")) == \
        "192.168.24.1:8787/tripleomaster/centos-binary-nova-api:16.0-2"
    named = entry(0, push_destination="registry.example:5000")
    assert str(destination(named, NOVA, "t", None)) == "registry.example:5000/tripleomaster/nova-api:t"
    assert destination(entry(0), NOVA, "t", None) is None
    with pytest.raises(BadInput, match="--local-push-destination"):
        destination(e, NOVA, "t", None)


def test_the_file_with_credentials(tmp_path: Path) -> None:
    path = tmp_path / "prepare.yml"
    path.write_text(
        "parameter_defaults:\n"
        "  ContainerImagePrepare:\n"
        "  - push_destination: true\n"
        "    excludes: [ceph]\n"
        "    set:\n"
        "      namespace: docker.io/tripleomaster\n"
        "      name_prefix: centos-binary-\n"
        "      name_suffix: ''\n"
        "      tag: current-tripleo\n"
        "      ceph_namespace: docker.io/ceph\n"  # the Ceph image's namespace
        "    tag_from_label: '{version}-{release}'\n"
        "  - push_destination: registry.example:5000\n"
        "    includes: [ceph]\n"
        "    set: {namespace: quay.io/ceph, tag: v4}\n"
        "  ContainerImageRegistryCredentials:\n"
        "    docker.io: {someone: S3cret-never-printed}\n"
        "  NtpServer: pool.ntp.org\n"
    )
    file = load_prepare_file(path)
    first, second = file.entries
    assert first.namespace == NS and first.name_prefix == "centos-binary-" and first.push_destination is True
    assert first.tag_from_label == "{version}-{release}" and first.excludes == ("ceph",)
    assert str(first.source(NOVA)) == "docker.io/tripleomaster/centos-binary-nova-api:current-tripleo"
    assert second.push_destination == "registry.example:5000" and second.line == 12
    creds = file.credentials["registry-1.docker.io"]
    assert creds.username == "someone" and "S3cret" not in repr(creds) + str(creds)


def test_every_malformed_entry_is_listed(tmp_path: Path) -> None:
    path = tmp_path / "prepare.yml"
    path.write_text(
        "parameter_defaults:\n"
        "  ContainerImagePrepare:\n"
        "  - set: {namespace: docker.io/tripleomaster, tag: 'bad tag'}\n"
        "  - push_destination: not a host\n"
        "    set: {namespace: docker.io/tripleomaster}\n"
        "  - modify_role: tripleo-modify-image\n"
        "    set: {namespace: docker.io/tripleomaster}\n"
        "  ContainerImageRegistryCredentials:\n"
        "    docker.io: {a: S3cret-1, b: S3cret-2}\n"
    )
    with pytest.raises(MalformedFile) as caught:
        load_prepare_file(path)
    p = caught.value.problems
    assert len(p) == 4
    assert p[0].startswith(f"{path}:3: parameter_defaults.ContainerImagePrepare[0].set: invalid tag 'bad tag'")
    assert p[1].startswith(f"{path}:4: parameter_defaults.ContainerImagePrepare[1].push_destination:")
    assert p[2].startswith(f"{path}:6: parameter_defaults.ContainerImagePrepare[2].modify_role: not supported")
    assert p[3] == f"{path}:9: parameter_defaults.ContainerImageRegistryCredentials.docker.io: expected exactly " \
                   "one user: password"
    assert "S3cret" not in str(caught.value) + "".join(p)


def test_the_image_list(tmp_path: Path) -> None:
    path = tmp_path / "images.yml"
    path.write_text("- {image: nova-api, params: [ContainerNovaApiImage, ContainerNovaApiConfigImage]}\n"
                    "- {image: Glance, params: [X]}\n- {image: heat, params: []}\n")
    with pytest.raises(MalformedFile) as caught:
        load_image_list(path)
    assert [p.split(": ", 2)[1] for p in caught.value.problems] == ["[1].image", "[2].params"]
    path.write_text("- {image: nova-api, params: [ContainerNovaApiImage, ContainerNovaApiConfigImage]}\n")
    [request] = load_image_list(path)
    assert request.image == "nova-api" and request.params == ("ContainerNovaApiImage", "ContainerNovaApiConfigImage")


def test_ceph_keys_of_set_name_the_ceph_image(tmp_path: Path) -> None:
    path = tmp_path / "prepare.yml"
    path.write_text(
        "parameter_defaults:\n"
        "  ContainerImagePrepare:\n"
        "  - push_destination: 192.168.24.1:8787\n"
        "    set:\n"
        "      namespace: docker.io/tripleomaster\n"
        "      name_prefix: centos-binary-\n"
        "      tag: current-tripleo\n"
        "      ceph_namespace: quay.io/ceph\n"
        "      ceph_image: daemon\n"
        "      ceph_tag: v4.0.12-stable-4.0-nautilus-centos-7-x86_64\n"
    )
    images = tmp_path / "images.yml"
    images.write_text("- {image: nova-api, params: [ContainerNovaApiImage]}\n"
                      "- {image: ceph-daemon, image_source: ceph, params: [ContainerCephDaemonImage]}\n")
    file = load_prepare_file(path)
    nova, ceph = load_image_list(images)
    assert ceph.image_source == "ceph" and nova.image_source is None
    [chosen] = file.entries
    assert str(chosen.source(nova)) == "docker.io/tripleomaster/centos-binary-nova-api:current-tripleo"
    assert str(chosen.source(ceph)) == "quay.io/ceph/daemon:v4.0.12-stable-4.0-nautilus-centos-7-x86_64"
    assert str(destination(chosen, ceph, "v4", None)) == "192.168.24.1:8787/ceph/daemon:v4"
    assert str(destination(chosen, nova, "16.0", None)) == "192.168.24.1:8787/tripleomaster/centos-binary-nova-api:16.0"


def test_a_ceph_image_needs_the_ceph_namespace() -> None:
    with pytest.raises(BadInput, match=r"set\.ceph_namespace"):
        entry(0).source(ImageRequest("ceph-daemon", ("ContainerCephDaemonImage",), "ceph"))


@pytest.mark.parametrize(
    ("key", "advice"),
    [
        ("modify_role: tripleo-modify-image", "build the modified image"),
        ("modify_vars: {tasks_from: yum_update.yml}", "build the modified image"),
        ("multi_arch: true", "every architecture the source tag holds"),
    ],
)
def test_unsupported_keys_say_what_to_do_instead(tmp_path: Path, key: str, advice: str) -> None:
    path = tmp_path / "prepare.yml"
    path.write_text(f"parameter_defaults:\n  ContainerImagePrepare:\n  - {key}\n"
                    "    set: {namespace: docker.io/tripleomaster}\n")
    with pytest.raises(BadInput) as caught:
        load_prepare_file(path)
    assert f"{key.split(':')[0]}: not supported" in str(caught.value) and advice in str(caught.value)
