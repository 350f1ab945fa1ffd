"""ci-tags prepare end to end: sources in a registry behind htpasswd Basic auth (credentials only from
ContainerImageRegistryCredentials), the local push destination and a named push registry both real registries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ci_tags.oci.client import Registry
from ci_tags.oci.http import Http
from ci_tags.oci.registries import Registries
from tests.support.auth import BASIC_USERS
from tests.support.images import push_image

PASSWORD = BASIC_USERS["alice"]


@pytest.fixture
def upstream(clean_env, basic_registry):
    regs = Registries(Http(), clean_env, username="alice", password=PASSWORD)
    yield regs.get(basic_registry.host)
    regs.http.close()


def prepare_file(path: Path, upstream_host: str, remote_push: str) -> Path:
    path.write_text(f"""\
parameter_defaults:
  ContainerImagePrepare:
  - push_destination: true
    excludes: [ceph]
    set:
      namespace: {upstream_host}/tripleomaster
      name_prefix: centos-binary-
      name_suffix: ''
      tag: current-tripleo
    tag_from_label: '{{version}}-{{release}}'
  - push_destination: true
    includes: [glance]
    set:
      namespace: {upstream_host}/tripleomaster
      name_prefix: centos-binary-
      tag: current-tripleo
    tag_from_label: rdo_version
  - push_destination: {remote_push}
    includes: [ceph]
    excludes: [ceph]
    set:
      namespace: {upstream_host}/ceph
      tag: v4.0.12-stable-4.0-nautilus-centos-7-x86_64
  - includes: [heat]
    set:
      namespace: {upstream_host}/tripleomaster
      name_prefix: centos-binary-
      tag: current-tripleo
    tag_from_label: '{{version}}-{{release}}'
  ContainerImageRegistryCredentials:
    {upstream_host}:
      alice: {PASSWORD}
""")
    return path


IMAGES = """\
- {image: nova-api, params: [ContainerNovaApiImage, ContainerNovaApiConfigImage]}
- {image: glance-api, params: [ContainerGlanceApiImage]}
- {image: ceph-daemon, params: [ContainerCephDaemonImage]}
- {image: heat-api, params: [ContainerHeatApiImage]}
"""


def test_prepare_layers_entries_discovers_tags_from_labels_and_pushes(
    upstream: Registry, basic_registry, registry, registry2, client, cli, tmp_path: Path
) -> None:
    up, local, remote = basic_registry.host, registry.host, registry2.host
    nova_labels = {"version": "16.0", "release": "2.1587049321"}
    nova_img = push_image(upstream, "tripleomaster/centos-binary-nova-api", "current-tripleo", labels=nova_labels,
                          layers=2).manifest
    glance = push_image(upstream, "tripleomaster/centos-binary-glance-api", "current-tripleo",
                        labels={"version": "16.0", "release": "3", "rdo_version": "a1b2c3_d4e5"}).manifest
    ceph = push_image(upstream, "ceph/ceph-daemon", "v4.0.12-stable-4.0-nautilus-centos-7-x86_64").manifest
    heat = push_image(upstream, "tripleomaster/centos-binary-heat-api", "current-tripleo",
                      labels={"version": "16.0", "release": "7"}).manifest
    path = prepare_file(tmp_path / "containers-prepare-parameter.yaml", up, remote)
    (tmp_path / "images.yml").write_text(IMAGES)
    out = tmp_path / "env.yaml"
    args = ["prepare", str(path), "--images", str(tmp_path / "images.yml"), "--output-env-file", str(out),
            "--local-push-destination", local]

    dry = cli(*args, "--dry-run")
    assert dry.code == 0, dry.out + dry.err
    assert not out.exists()
    result = cli(*args)
    assert result.code == 0, result.err
    env = yaml.safe_load(out.read_text())["parameter_defaults"]
    nova_ref = f"{local}/tripleomaster/centos-binary-nova-api:16.0-2.1587049321"
    assert env == {
        "ContainerNovaApiImage": nova_ref,
        "ContainerNovaApiConfigImage": nova_ref,
        "ContainerGlanceApiImage": f"{local}/tripleomaster/centos-binary-glance-api:a1b2c3_d4e5",  # the later entry
        "ContainerCephDaemonImage": f"{remote}/ceph/ceph-daemon:v4.0.12-stable-4.0-nautilus-centos-7-x86_64",
        "ContainerHeatApiImage": f"{up}/tripleomaster/centos-binary-heat-api:16.0-7",  # not pushed
    }
    assert dry.out.replace("would copy", "copied") == result.out
    pushed = client.get(local)
    assert pushed.head_manifest("tripleomaster/centos-binary-nova-api", "16.0-2.1587049321") == nova_img.digest
    assert pushed.head_manifest("tripleomaster/centos-binary-glance-api", "a1b2c3_d4e5") == glance.digest
    assert client.get(remote).head_manifest("ceph/ceph-daemon", "v4.0.12-stable-4.0-nautilus-centos-7-x86_64") == \
        ceph.digest
    assert f"not pushed: {up}/tripleomaster/centos-binary-heat-api:16.0-7 {heat.digest}" in result.out
    assert PASSWORD not in dry.out + dry.err + result.out + result.err

    again = cli(*args, "--json")
    assert again.code == 0, again.err
    doc = json.loads(again.out)
    assert [i["action"] for i in doc["images"]] == ["nothing", "nothing", "nothing", "not pushed"]


def test_a_missing_label_or_a_taken_tag_writes_nothing(
    upstream: Registry, basic_registry, registry, client, cli, tmp_path: Path
) -> None:
    up, local = basic_registry.host, registry.host
    push_image(upstream, "tripleo-bad/centos-binary-nova-api", "current-tripleo", labels={"version": "16.0"})
    push_image(upstream, "tripleo-bad/centos-binary-keystone", "current-tripleo",
               labels={"version": "16.0", "release": "1"})
    push_image(client.get(local), "tripleo-bad/centos-binary-keystone", "16.0-1")  # another image holds the tag
    push_image(upstream, "tripleo-bad/centos-binary-cinder-api", "current-tripleo",
               labels={"version": "16.0", "release": "1"})
    path = tmp_path / "prepare.yaml"
    path.write_text(prepare_file(tmp_path / "p.yaml", up, local).read_text().replace("tripleomaster", "tripleo-bad"))
    (tmp_path / "images.yml").write_text("- {image: nova-api, params: [A]}\n- {image: keystone, params: [B]}\n"
                                         "- {image: cinder-api, params: [C]}\n- {image: swift, params: [D]}\n")
    out = tmp_path / "env.yaml"
    mark = registry.mark()
    result = cli("prepare", str(path), "--images", str(tmp_path / "images.yml"), "--output-env-file", str(out),
                 "--local-push-destination", local)
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0] == (f"nova-api: {up}/tripleo-bad/centos-binary-nova-api:current-tripleo: the image has no label "
                        "'release' (tag_from_label '{version}-{release}')")
    assert lines[1].startswith(f"keystone: conflict: {local}/tripleo-bad/centos-binary-keystone:16.0-1 is another")
    assert lines[2].startswith(f"blocked, not copied: {up}/tripleo-bad/centos-binary-cinder-api:current-tripleo")
    assert lines[3].startswith(f"swift: {up}/tripleo-bad/centos-binary-swift:current-tripleo does not exist")
    assert not out.exists()
    assert [r for r in registry.since(mark) if r.method in ("PUT", "POST", "PATCH")] == []


def test_push_destination_true_needs_the_local_destination(
    upstream: Registry, basic_registry, cli, tmp_path: Path
) -> None:
    push_image(upstream, "tripleomaster/centos-binary-swift", "current-tripleo",
               labels={"version": "1", "release": "2"})
    path = prepare_file(tmp_path / "p.yaml", basic_registry.host, "127.0.0.1:1")
    (tmp_path / "images.yml").write_text("- {image: swift, params: [S]}\n")
    result = cli("prepare", str(path), "--images", str(tmp_path / "images.yml"), "--output-env-file",
                 str(tmp_path / "env.yaml"))
    assert result.code == 2
    assert result.err == (f"ci-tags: bad input: {path}:3: ContainerImagePrepare[0]: push_destination: true needs "
                          "--local-push-destination HOST:PORT\n")


def test_labels_of_an_index_come_from_its_linux_amd64_image(
    upstream: Registry, basic_registry, registry, client, cli, tmp_path: Path
) -> None:
    from ci_tags.core.manifest import OCI_INDEX, Manifest, sha256_digest

    repo = "tripleo-index/centos-binary-nova-api"
    arm = push_image(upstream, repo, None, arch="arm64", labels={"version": "9", "release": "arm"}).manifest
    amd = push_image(upstream, repo, None, arch="amd64", labels={"version": "9", "release": "amd"}).manifest
    body = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": m.media_type, "digest": m.digest, "size": m.size, "platform": {"os": "linux", "architecture": a}}
        for m, a in ((arm, "arm64"), (amd, "amd64"))]}
    data = json.dumps(body).encode()
    index = Manifest(data, OCI_INDEX, sha256_digest(data))
    upstream.put_manifest(repo, "current-tripleo", index)
    path = tmp_path / "p.yaml"
    path.write_text(prepare_file(tmp_path / "x.yaml", basic_registry.host, registry.host).read_text()
                    .replace("tripleomaster", "tripleo-index"))
    (tmp_path / "images.yml").write_text("- {image: nova-api, params: [N]}\n")
    out = tmp_path / "env.yaml"
    result = cli("prepare", str(path), "--images", str(tmp_path / "images.yml"), "--output-env-file", str(out),
                 "--local-push-destination", registry.host)
    assert result.code == 0, result.out + result.err
    assert yaml.safe_load(out.read_text())["parameter_defaults"]["N"] == \
        f"{registry.host}/tripleo-index/centos-binary-nova-api:9-amd"
    assert client.get(registry.host).head_manifest("tripleo-index/centos-binary-nova-api", "9-amd") == index.digest


def test_every_malformed_entry_of_the_image_list_is_listed_before_the_error(
    basic_registry, cli, tmp_path: Path
) -> None:
    path = prepare_file(tmp_path / "p.yaml", basic_registry.host, "127.0.0.1:1")
    images = tmp_path / "images.yml"
    images.write_text("- {image: nova-api, params: [A]}\n- {image: 'Bad Name', params: [B]}\n- {image: x}\n")
    argv = ["prepare", str(path), "--images", str(images), "--output-env-file", str(tmp_path / "env.yaml"),
            "--local-push-destination", "127.0.0.1:1"]
    human, machine = cli(*argv), cli(*argv, "--json")
    problems = [line for line in human.err.splitlines() if line.startswith("problem: ")]
    assert human.code == machine.code == 2
    assert len(problems) == 2 and "[1].image" in problems[0] and "[2]" in problems[1]
    assert human.err.splitlines()[-1].startswith("ci-tags: bad input: ") and human.out == ""
    assert machine.err.splitlines()[:2] == problems and json.loads(machine.out)["error"]["kind"] == "bad_input"
    assert not (tmp_path / "env.yaml").exists()


def test_the_ceph_image_comes_from_set_ceph_keys(
    upstream: Registry, basic_registry, registry, client, cli, tmp_path: Path
) -> None:
    up, local = basic_registry.host, registry.host
    nova = push_image(upstream, "tripleo-ceph/centos-binary-nova-api", "current-tripleo").manifest
    ceph = push_image(upstream, "ceph-keys/daemon", "v4.0.12-stable").manifest
    path = tmp_path / "prepare.yaml"
    path.write_text(f"""\
parameter_defaults:
  ContainerImagePrepare:
  - push_destination: true
    set:
      namespace: {up}/tripleo-ceph
      name_prefix: centos-binary-
      tag: current-tripleo
      ceph_namespace: {up}/ceph-keys
      ceph_image: daemon
      ceph_tag: v4.0.12-stable
  ContainerImageRegistryCredentials:
    {up}:
      alice: {PASSWORD}
""")
    (tmp_path / "images.yml").write_text(
        "- {image: nova-api, params: [ContainerNovaApiImage]}\n"
        "- {image: ceph-daemon, image_source: ceph, params: [ContainerCephDaemonImage]}\n")
    out = tmp_path / "env.yaml"
    result = cli("prepare", str(path), "--images", str(tmp_path / "images.yml"), "--output-env-file", str(out),
                 "--local-push-destination", local)
    assert result.code == 0, result.err
    assert yaml.safe_load(out.read_text())["parameter_defaults"] == {
        "ContainerNovaApiImage": f"{local}/tripleo-ceph/centos-binary-nova-api:current-tripleo",
        "ContainerCephDaemonImage": f"{local}/ceph-keys/daemon:v4.0.12-stable",
    }
    assert client.get(local).head_manifest("ceph-keys/daemon", "v4.0.12-stable") == ceph.digest
    assert client.get(local).head_manifest("tripleo-ceph/centos-binary-nova-api", "current-tripleo") == nova.digest
