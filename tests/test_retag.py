"""retag against the real distribution registry: same repository, cross-repository mount, cross-registry."""

import json
import os
import tracemalloc
from collections.abc import Callable, Iterator

import pytest

from ci_tags.core.manifest import DOCKER_MANIFEST, OCI_MANIFEST
from ci_tags.core.reference import parse_reference
from ci_tags.oci.copy import copy_image
from tests.support.images import push_blob, push_image, push_index
from tests.support.proxy import RegistryFront

KINDS = [
    pytest.param("image", OCI_MANIFEST, id="oci-manifest"),
    pytest.param("image", DOCKER_MANIFEST, id="docker-manifest"),
    pytest.param("index", OCI_MANIFEST, id="oci-index"),
    pytest.param("index", DOCKER_MANIFEST, id="docker-manifest-list"),
]


def _push(reg, repo, tag, kind, media_type, layers=3):
    if kind == "image":
        return push_image(reg, repo, tag, media_type=media_type, layers=layers).manifest
    index, _ = push_index(reg, repo, tag, media_type=media_type, layers=layers)
    return index


@pytest.mark.parametrize(("kind", "media_type"), KINDS)
def test_same_repository_retag_reads_no_blob_and_keeps_the_digest(kind, media_type, reg, registry, cli):
    repo = f"retag/same-{kind}-{media_type.split('.')[2]}"
    manifest = _push(reg, repo, "hash-1", kind, media_type)
    mark = registry.mark()
    result = cli("retag", f"{registry.host}/{repo}:hash-1", "pipeline-7")
    assert result.code == 0, result.err
    assert result.out == f"{registry.host}/{repo}:hash-1 -> {registry.host}/{repo}:pipeline-7 {manifest.digest}\n"
    reqs = registry.since(mark)
    assert [(r.method, r.uri) for r in reqs] == [
        ("GET", f"/v2/{repo}/manifests/hash-1"),
        ("PUT", f"/v2/{repo}/manifests/pipeline-7"),
    ]
    assert reg.head_manifest(repo, "pipeline-7") == manifest.digest
    fetched = reg.get_manifest(repo, "pipeline-7")
    assert fetched.data == manifest.data and fetched.media_type == manifest.media_type


@pytest.mark.parametrize(("kind", "media_type"), KINDS)
def test_cross_repository_copy_mounts_every_blob(kind, media_type, reg, registry, cli):
    src_repo = f"mount/src-{kind}-{media_type.split('.')[2]}"
    dst_repo = f"mount/dst-{kind}-{media_type.split('.')[2]}"
    manifest = _push(reg, src_repo, "v1", kind, media_type, layers=2)
    mark = registry.mark()
    result = cli("retag", f"{registry.host}/{src_repo}:v1", f"{registry.host}/{dst_repo}:v1", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    reqs = registry.since(mark)
    mounts = [r for r in reqs if r.method == "POST" and "mount=" in r.uri]
    blob_bytes = [r for r in reqs if r.is_blob and r.method in ("GET", "PUT", "PATCH")]
    children = 2 if kind == "index" else 1
    assert len(mounts) == children * 3  # config + 2 layers per image
    assert all(r.status == 201 for r in mounts)
    assert blob_bytes == []  # nothing streamed
    assert report["blobs"] == {"mounted": children * 3, "streamed": 0, "present": 0}
    assert reg.head_manifest(dst_repo, "v1") == manifest.digest
    if kind == "index":
        for child in manifest.children:
            assert reg.get_manifest(dst_repo, child.digest).digest == child.digest


@pytest.mark.parametrize(("kind", "media_type"), KINDS)
def test_cross_registry_copy_streams_blobs_and_skips_present_ones(
    kind, media_type, reg, registry, registry2, client, cli
):
    repo = f"xreg/{kind}-{media_type.split('.')[2]}"
    manifest = _push(reg, repo, "v1", kind, media_type, layers=2)
    dst = client.get(registry2.host)
    result = cli("retag", f"{registry.host}/{repo}:v1", f"{registry2.host}/{repo}:v1", "--json")
    assert result.code == 0, result.err
    first = json.loads(result.out)
    children = 2 if kind == "index" else 1
    assert first["blobs"]["streamed"] == children * 3
    assert dst.head_manifest(repo, "v1") == manifest.digest
    # a second copy to another tag finds every blob there already and streams nothing
    again = json.loads(cli("retag", f"{registry.host}/{repo}:v1", f"{registry2.host}/{repo}:v2", "--json").out)
    assert again["blobs"] == {"mounted": 0, "streamed": 0, "present": children * 3}
    assert again["bytes_streamed"] == 0
    assert dst.head_manifest(repo, "v2") == manifest.digest


@pytest.fixture
def trace_memory() -> Iterator[Callable[[], None]]:
    """``trace_memory()`` starts Python's memory tracing; it stops when the test ends."""
    yield tracemalloc.start
    tracemalloc.stop()


def test_cross_registry_copy_streams_without_holding_the_layer_in_memory(reg, registry, registry2, client,
                                                                          trace_memory):
    size = 48 << 20
    repo = "xreg/big"
    layer = os.urandom(size)
    layer_digest = push_blob(reg, repo, layer)
    del layer
    config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    config_digest = push_blob(reg, repo, config)
    body = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest,
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": size}],
    }
    from ci_tags.core.manifest import Manifest

    reg.put_manifest(repo, "v1", Manifest.from_bytes(json.dumps(body).encode(), OCI_MANIFEST))
    trace_memory()
    result = copy_image(
        client, parse_reference(f"{registry.host}/{repo}:v1"), parse_reference(f"{registry2.host}/{repo}:v1")
    )
    _, peak = tracemalloc.get_traced_memory()
    assert result.bytes_streamed == size + len(config)
    assert peak < size // 4, f"peak Python memory {peak} bytes for a {size}-byte layer"
    assert client.get(registry2.host).blob_exists(repo, layer_digest)


def test_retag_of_a_missing_tag_is_not_found(reg, registry, cli):
    push_image(reg, "retag/missing", "v1")
    result = cli("retag", f"{registry.host}/retag/missing:nope", "v2")
    assert result.code == 4
    assert "not found" in result.err and "Traceback" not in result.err


def test_retag_of_an_unknown_repository_is_not_found(registry, cli):
    result = cli("retag", f"{registry.host}/no/such/repo:v1", "v2")
    assert result.code == 4


def test_retag_with_a_bad_reference_is_bad_input(registry, cli):
    for args in [("retag", "Bad/Ref:1", "v2"), ("retag", f"{registry.host}/a:v1", "bad tag!")]:
        result = cli(*args)
        assert result.code == 2, result
        assert "invalid" in result.err


def test_unreachable_registry_is_a_clear_error(cli):
    from tests.support.registry import free_port

    result = cli("retag", f"127.0.0.1:{free_port()}/a:v1", "v2")
    assert result.code == 1
    assert "cannot reach 127.0.0.1" in result.err and "Traceback" not in result.err


def test_rerunning_a_retag_is_harmless(reg, registry, cli):
    manifest = push_image(reg, "retag/rerun", "hash-1").manifest
    for _ in range(2):
        assert cli("retag", f"{registry.host}/retag/rerun:hash-1", "pipeline-1").code == 0
    assert reg.head_manifest("retag/rerun", "pipeline-1") == manifest.digest


@pytest.mark.parametrize(("kind", "media_type"), KINDS[::2])
def test_a_copy_whose_manifest_put_meets_a_blob_another_writer_is_committing_is_finished(
    kind, media_type, reg, registry, registry2, client, cli, closing
):
    """Two promotions copying one image at once: distribution replaces a blob's data as another writer commits
    the same blob, and a manifest PUT that falls in that moment is refused as naming an unknown blob. Here the
    other writer's moment is made exact: as the first manifest PUT arrives, one of that manifest's blobs leaves
    the destination repository. The copy brings it again and finishes, with the source's digest."""
    import re

    import requests

    repo = f"commit-race/{kind}"
    manifest = _push(reg, repo, "v1", kind, media_type, layers=2)
    layers = {m.digest: m.blobs[-1].digest for m in
              ([reg.get_manifest(repo, c.digest) for c in manifest.children] if kind == "index" else [manifest])}
    put = re.compile(r"/v2/commit-race/[a-z]+/manifests/(.+)")
    hit: list[str] = []

    def other_writer(method: str, path: str) -> None:
        found = put.fullmatch(path)
        if method != "PUT" or not found or hit:
            return
        ref = found.group(1)
        blob = layers.get(ref) or next(iter(layers.values()))  # a child by digest, or the image by its tag
        hit.append(blob)
        gone = requests.delete(f"{registry2.url}/v2/{repo}/blobs/{blob}", timeout=10)
        assert gone.status_code == 202, gone.text

    front = closing(RegistryFront(registry2.url, hook=other_writer))
    result = cli("retag", f"{registry.host}/{repo}:v1", f"{front.host}/{repo}:v1")
    assert result.code == 0, result.err
    assert hit, "the other writer never ran"
    dst = client.get(registry2.host)
    assert dst.head_manifest(repo, "v1") == manifest.digest
    assert dst.blob_exists(repo, hit[0])
