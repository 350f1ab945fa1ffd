"""ci-tags sync end to end: a source registry (anonymous) and a destination behind htpasswd Basic auth."""

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
AUTH = {"CI_TAGS_REGISTRY_USER": "alice", "CI_TAGS_REGISTRY_PASSWORD": PASSWORD}
LABEL = "dev.ci-tags.manifesto"


@pytest.fixture
def dest(clean_env, basic_registry):
    regs = Registries(Http(), clean_env, username="alice", password=PASSWORD)
    yield regs.get(basic_registry.host)
    regs.http.close()


def sync_file(path: Path, source: str, destination: str, extra: str = "") -> Path:
    path.write_text(f"source: {source}\ndestination: {destination}\ntrack: ocata\nlabel: {LABEL}\n{extra}")
    return path


def test_revision_bumps_only_when_the_label_changed(
    reg: Registry, dest: Registry, registry, basic_registry, cli, tmp_path: Path
) -> None:
    ns, dns = f"{registry.host}/kolla-rev", f"{basic_registry.host}/kolla-rev"
    nova = push_image(reg, "kolla-rev/nova-api", "ocata", labels={LABEL: "m1"}).manifest
    glance = push_image(reg, "kolla-rev/glance-api", "ocata", labels={LABEL: "g1"}).manifest
    path = sync_file(tmp_path / "sync.yml", ns, dns, "images: [nova-api, glance-api]\n")
    out = tmp_path / "images.yml"

    first = cli("sync", str(path), "--output", str(out), env=AUTH)
    assert first.code == 0, first.err
    assert first.out.splitlines() == [
        f"copied {ns}/nova-api:ocata -> {dns}/nova-api:ocata-1 {nova.digest}",
        f"moved {dns}/nova-api:ocata -> ocata-1 {nova.digest}",
        f"copied {ns}/glance-api:ocata -> {dns}/glance-api:ocata-1 {glance.digest}",
        f"moved {dns}/glance-api:ocata -> ocata-1 {glance.digest}",
    ]
    assert dest.head_manifest("kolla-rev/nova-api", "ocata") == nova.digest
    assert yaml.safe_load(out.read_text())["nova-api"] == {
        "image": f"{dns}/nova-api", "tag": "ocata-1", "digest": nova.digest,
        "reference": f"{dns}/nova-api:ocata-1@{nova.digest}"}
    assert PASSWORD not in first.out + first.err

    # a rebuild with the same package versions: another digest, the same manifesto -> no new revision
    rebuilt = push_image(reg, "kolla-rev/nova-api", "ocata", labels={LABEL: "m1"}).manifest
    assert rebuilt.digest != nova.digest
    mark = basic_registry.mark()
    same = cli("sync", str(path), env=AUTH)
    assert same.code == 0, same.err
    assert same.out.splitlines() == [
        f"up to date: {dns}/nova-api:ocata-1 {nova.digest} ({LABEL} unchanged)",
        f"up to date: {dns}/glance-api:ocata-1 {glance.digest} ({LABEL} unchanged)",
    ]
    assert [r for r in basic_registry.since(mark) if r.method in ("PUT", "POST", "PATCH", "DELETE")] == []

    # a rebuild that changed a package: ocata-2, and ocata moves to it; glance stays
    changed = push_image(reg, "kolla-rev/nova-api", "ocata", labels={LABEL: "m2"}).manifest
    dry = cli("sync", str(path), "--dry-run", env=AUTH)
    assert dry.out.splitlines()[:2] == [
        f"would copy {ns}/nova-api:ocata -> {dns}/nova-api:ocata-2 {changed.digest}",
        f"would move {dns}/nova-api:ocata -> ocata-2 {changed.digest}",
    ]
    assert dest.head_manifest("kolla-rev/nova-api", "ocata-2") is None
    bump = cli("sync", str(path), "--output", str(out), "--output-format", "env", env=AUTH)
    assert bump.code == 0, bump.err
    assert dest.head_manifest("kolla-rev/nova-api", "ocata-2") == changed.digest
    assert dest.head_manifest("kolla-rev/nova-api", "ocata") == changed.digest
    assert dest.head_manifest("kolla-rev/nova-api", "ocata-1") == nova.digest  # revisions are never rewritten
    assert dest.head_manifest("kolla-rev/glance-api", "ocata") == glance.digest
    assert out.read_text().splitlines() == [
        f"GLANCE_API_IMAGE={dns}/glance-api:ocata-1@{glance.digest}",
        f"NOVA_API_IMAGE={dns}/nova-api:ocata-2@{changed.digest}",
    ]


def test_a_static_tag_is_copied_once_and_never_overwritten(
    reg: Registry, dest: Registry, registry, basic_registry, cli, tmp_path: Path
) -> None:
    ns, dns = f"{registry.host}/kolla-static", f"{basic_registry.host}/kolla-static"
    v1 = push_image(reg, "kolla-static/keystone", "ocata", labels={LABEL: "k1"}).manifest
    reg.put_manifest("kolla-static/keystone", "4.0.0", v1)
    push_image(reg, "kolla-static/horizon", "ocata", labels={LABEL: "h1"})
    path = sync_file(tmp_path / "sync.yml", ns, dns, "images: [keystone, horizon]\nstatic: ['^\\d+\\.\\d+\\.\\d+$']\n")
    first = cli("sync", str(path), env=AUTH)
    assert first.code == 0, first.err
    assert f"copied {ns}/keystone:4.0.0 -> {dns}/keystone:4.0.0 {v1.digest}" in first.out.splitlines()
    assert dest.head_manifest("kolla-static/keystone", "4.0.0") == v1.digest

    # a re-run says the static tag is there already, as it says of the revision
    again = cli("sync", str(path), env=AUTH)
    assert again.code == 0, again.err
    assert f"up to date: {dns}/keystone:4.0.0 {v1.digest} (static tag)" in again.out.splitlines()
    doc = json.loads(cli("sync", str(path), "--json", env=AUTH).out)
    keystone = next(i for i in doc["images"] if i["image"] == "keystone")
    assert keystone["static_up_to_date"] == {"4.0.0": v1.digest}

    # the source re-tags 4.0.0 on another image, and horizon changed: a conflict, and nothing at all is written
    other = push_image(reg, "kolla-static/keystone", "4.0.0", labels={LABEL: "k1"}).manifest
    push_image(reg, "kolla-static/horizon", "ocata", labels={LABEL: "h2"})
    mark = basic_registry.mark()
    clash = cli("sync", str(path), "--json", env=AUTH)
    assert clash.code == 1
    doc = json.loads(clash.out)
    assert doc["blocked"] is True
    keystone = next(i for i in doc["images"] if i["image"] == "keystone")
    assert keystone["problems"] == [
        f"conflict: static tag 4.0.0 is {v1.digest} in the destination, {other.digest} in the source"]
    assert "nothing was written" in clash.err
    assert [r for r in basic_registry.since(mark) if r.method in ("PUT", "POST", "PATCH", "DELETE")] == []
    assert dest.head_manifest("kolla-static/keystone", "4.0.0") == v1.digest
    assert dest.head_manifest("kolla-static/horizon", "ocata-2") is None


def test_include_and_exclude_over_the_source_catalog(
    reg: Registry, registry, registry2, client, cli, tmp_path: Path, unique
) -> None:
    source, destination = unique("kolla-cat"), unique("kolla")
    for name in ("nova-api", "nova-compute", "glance-api"):
        push_image(reg, f"{source}/{name}", "ocata", labels={LABEL: name})
    path = sync_file(tmp_path / "sync.yml", f"{registry.host}/{source}", f"{registry2.host}/{destination}",
                     "include: ['^nova']\nexclude: ['compute']\n")
    result = cli("sync", str(path), "--json")
    assert result.code == 0, result.err
    assert [i["image"] for i in json.loads(result.out)["images"]] == ["nova-api"]
    dst = client.get(registry2.host)
    assert dst.head_manifest(f"{destination}/nova-api", "ocata-1") is not None
    assert dst.head_manifest(f"{destination}/glance-api", "ocata-1") is None


def test_a_source_without_the_label_is_a_problem(
    reg: Registry, registry, registry2, cli, tmp_path: Path
) -> None:
    push_image(reg, "kolla-nolabel/cinder", "ocata")
    path = sync_file(tmp_path / "sync.yml", f"{registry.host}/kolla-nolabel", f"{registry2.host}/kolla",
                     "images: [cinder, missing]\n")
    result = cli("sync", str(path))
    assert result.code == 1
    assert result.out.splitlines()[0].startswith("cinder: the source's ocata (sha256:")
    assert result.out.splitlines()[0].endswith(f"has no label {LABEL}")
    assert result.out.splitlines()[1] == "missing: the source has no tag ocata"


def test_two_syncs_at_once_converge_on_one_revision(
    reg: Registry, registry, registry2, client, cli, tmp_path: Path
) -> None:
    """No compare-and-swap in the registry API: two jobs syncing the same source at once both write ocata-1 with
    the same image, and both succeed; no ocata-2 appears."""
    from concurrent.futures import ThreadPoolExecutor

    images = [f"svc-{i}" for i in range(6)]
    for name in images:
        push_image(reg, f"kolla-race/{name}", "ocata", labels={LABEL: name})
    path = sync_file(tmp_path / "sync.yml", f"{registry.host}/kolla-race", f"{registry2.host}/kolla-race",
                     f"images: [{', '.join(images)}]\n")
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: cli("sync", str(path)), range(2)))
    assert [r.code for r in results] == [0, 0], [r.err for r in results]
    dst = client.get(registry2.host)
    for name in images:
        assert sorted(dst.tags(f"kolla-race/{name}")) == ["ocata", "ocata-1"]
    assert all(line.startswith("up to date") for line in cli("sync", str(path)).out.splitlines())
