"""tags and inspect against the real registry; pagination through a front that pages the real tag list."""

import json
from urllib.parse import quote

import pytest

from ci_tags.core.manifest import DOCKER_MANIFEST, OCI_MANIFEST
from tests.support.images import in_parallel, push_image, push_index
from tests.support.proxy import RegistryFront

MANY = 1100


@pytest.fixture(scope="module")
def many_tags(registry, tmp_path_factory):
    from ci_tags.oci.http import Http
    from ci_tags.oci.registries import Registries

    regs = Registries(Http(), {})
    reg = regs.get(registry.host)
    manifest = push_image(reg, "tags/many", "t0000").manifest
    in_parallel(lambda i: reg.put_manifest("tags/many", f"t{i:04d}", manifest), range(1, MANY))
    regs.http.close()
    return [f"t{i:04d}" for i in range(MANY)]


def paging_front(registry, page_size, relative):
    """Serve the real tag list in pages of page_size with Link headers, ignoring the client's n."""
    import requests

    def intercept(method, path, query):
        if method != "GET" or not path.endswith("/tags/list"):
            return None
        tags = sorted(requests.get(registry.url + path).json()["tags"])
        last = query.get("last", [None])[0]
        start = tags.index(last) + 1 if last else 0
        page = tags[start : start + page_size]
        headers = {"Content-Type": "application/json"}
        if start + page_size < len(tags):
            target = f"{path}?n={page_size}&last={quote(page[-1])}"
            headers["Link"] = f'<{target if relative else front_url[0] + target}>; rel="next"'
        return 200, headers, json.dumps({"name": path.split("/v2/")[1][: -len("/tags/list")], "tags": page}).encode()

    front_url = [""]
    front = RegistryFront(registry.url, intercept)
    front_url[0] = f"http://{front.host}"
    return front


def test_tags_lists_more_than_a_thousand_tags_from_the_real_registry(registry, many_tags, cli):
    result = cli("tags", f"{registry.host}/tags/many")
    assert result.code == 0, result.err
    assert result.out.split() == many_tags


@pytest.mark.parametrize("relative", [True, False], ids=["relative-link", "absolute-link"])
def test_tags_follows_link_pagination_and_ignores_page_size(registry, many_tags, cli, relative, closing):
    front = closing(paging_front(registry, 100, relative))
    result = cli("tags", f"{front.host}/tags/many", "--json")
    pages = [p for m, p in front.seen if p.startswith("/v2/tags/many/tags/list")]
    assert result.code == 0, result.err
    listed = [t["tag"] for t in json.loads(result.out)["tags"]]
    assert listed == many_tags  # every tag exactly once
    assert len(pages) == 11


def test_tags_with_digests(reg, registry, cli):
    a = push_image(reg, "tags/digests", "a").manifest
    b = push_image(reg, "tags/digests", "b").manifest
    reg.put_manifest("tags/digests", "c", a)
    result = cli("tags", f"{registry.host}/tags/digests", "--digests")
    assert result.code == 0
    assert result.out == f"a\t{a.digest}\nb\t{b.digest}\nc\t{a.digest}\n"
    js = json.loads(cli("tags", f"{registry.host}/tags/digests", "--digests", "--json").out)
    assert js["tags"][1] == {"tag": "b", "digest": b.digest}


def test_tags_of_an_unknown_repository(registry, cli):
    result = cli("tags", f"{registry.host}/tags/nothing-here")
    assert result.code == 4
    assert "not found" in result.err


@pytest.mark.parametrize("media_type", [OCI_MANIFEST, DOCKER_MANIFEST])
def test_inspect_an_image(reg, registry, cli, media_type):
    pushed = push_image(
        reg, "inspect/img", "v1", media_type=media_type, layers=2, layer_size=100,
        created="2026-03-04T05:06:07Z", labels={"org.opencontainers.image.revision": "abc123"},
    )
    result = cli("inspect", f"{registry.host}/inspect/img:v1", "--json")
    assert result.code == 0, result.err
    info = json.loads(result.out)
    assert info["digest"] == pushed.manifest.digest
    assert info["media_type"] == media_type
    assert info["created"] == "2026-03-04T05:06:07Z"
    assert info["labels"] == {"org.opencontainers.image.revision": "abc123"}
    assert info["platform"] == "linux/amd64"
    assert info["layers"] == 2
    config_size = pushed.manifest.blobs[0].size
    assert info["size"] == pushed.manifest.size + config_size + 200
    human = cli("inspect", f"{registry.host}/inspect/img:v1").out
    assert f"digest:     {pushed.manifest.digest}" in human
    assert "label:      org.opencontainers.image.revision=abc123" in human


def test_inspect_an_index_lists_platforms(reg, registry, cli):
    index, children = push_index(reg, "inspect/multi", "v1", arches=("amd64", "arm64"))
    info = json.loads(cli("inspect", f"{registry.host}/inspect/multi:v1", "--json").out)
    assert info["digest"] == index.digest
    assert [p["platform"] for p in info["platforms"]] == ["linux/amd64", "linux/arm64"]
    assert [p["digest"] for p in info["platforms"]] == [c.manifest.digest for c in children]
    human = cli("inspect", f"{registry.host}/inspect/multi:v1").out
    assert "linux/arm64" in human


def test_inspect_by_digest_and_missing(reg, registry, cli):
    pushed = push_image(reg, "inspect/bydigest", "v1")
    ok = cli("inspect", f"{registry.host}/inspect/bydigest@{pushed.manifest.digest}", "--json")
    assert json.loads(ok.out)["digest"] == pushed.manifest.digest
    missing = cli("inspect", f"{registry.host}/inspect/bydigest:nope")
    assert missing.code == 4


@pytest.mark.parametrize("body", [b"<html>proxy error</html>", b'["a", "b"]', b'{"tags": [1, 2]}'])
def test_a_malformed_tag_list_is_a_clear_registry_error(registry, cli, body, closing):
    """A proxy or broken registry answering 200 with something else: one clear line, exit 1, no traceback."""

    def intercept(method, path, query):
        return (200, {"Content-Type": "application/json"}, body) if path.endswith("/tags/list") else None

    front = closing(RegistryFront(registry.url, intercept))
    result = cli("tags", f"{front.host}/any/repo")
    assert result.code == 1
    assert "malformed" in result.err or "not JSON" in result.err
    assert "internal error" not in result.err and "Traceback" not in result.err


@pytest.mark.parametrize("size", ["null", '"12"', "-1", "true"])
def test_a_manifest_with_a_malformed_size_is_a_registry_error(size):
    from ci_tags.core.manifest import Manifest
    from ci_tags.errors import RegistryError

    data = ('{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": '
            '{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:' + "0" * 64 + '", '
            '"size": ' + size + '}, "layers": []}').encode()
    with pytest.raises(RegistryError, match="malformed size"):
        Manifest.from_bytes(data).config  # noqa: B018
