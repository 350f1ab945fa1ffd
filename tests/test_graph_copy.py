"""Copies carry an image's graph (signatures, attestations, SBOMs, referrers of referrers, an index's children's
signatures) with unchanged digests, on the real distribution 2.8 registry (no referrers API: the tag schema)."""

import json

from ci_tags.core.graph import referrers_in, referrers_tag
from ci_tags.oci.referrers import add_to_referrers_tag, read_referrers_tag, referrers_api
from tests.support.images import push_image, push_index
from tests.support.referrers import SPDX, attach, cosign_tag, entry, push_signature, referrer_manifest


def _listed(reg, repo, subject):
    index = read_referrers_tag(reg, repo, subject)
    return [] if index is None else sorted(r.digest for r in referrers_in(index))


def test_distribution_2_8_has_no_referrers_api_and_the_client_learns_it_once(reg, registry):
    image = push_image(reg, "graph/probe", "v1").manifest
    assert referrers_api(reg, "graph/probe", image.digest) is None
    mark = registry.mark()
    assert referrers_api(reg, "graph/probe", image.digest) is None
    assert registry.since(mark) == []  # learned: not asked again


def test_retag_to_another_repository_carries_signature_attestation_and_sbom(reg, registry, cli):
    src, dst = "graph/src-a", "graph/dst-a"
    image = push_image(reg, src, "v1").manifest
    sig = push_signature(reg, src, image.digest)
    att = push_signature(reg, src, image.digest, ".att")
    sbom = attach(reg, src, image)
    sbom_sig = push_signature(reg, src, sbom.digest)  # a signature on the SBOM: a referrer of a referrer
    result = cli("retag", f"{registry.host}/{src}:v1", f"{registry.host}/{dst}:v1", "--json")
    assert result.code == 0, result.err
    carried = json.loads(result.out)["carried"]
    assert carried["count"] == 4 and carried["listed_by"] == "referrers-tag"
    assert carried["kinds"] == {"signature": 2, "attestation": 1, "referrer": 1}
    assert {p["digest"] for p in carried["parts"]} == {sig.digest, att.digest, sbom.digest, sbom_sig.digest}
    assert reg.head_manifest(dst, "v1") == image.digest
    assert reg.head_manifest(dst, cosign_tag(image.digest, ".sig")) == sig.digest
    assert reg.head_manifest(dst, cosign_tag(image.digest, ".att")) == att.digest
    assert reg.head_manifest(dst, cosign_tag(sbom.digest, ".sig")) == sbom_sig.digest
    assert reg.get_manifest(dst, sbom.digest).data == sbom.data
    assert _listed(reg, dst, image.digest) == [sbom.digest]


def test_text_output_says_what_was_carried(reg, registry, cli):
    src = "graph/src-text"
    image = push_image(reg, src, "v1").manifest
    push_signature(reg, src, image.digest)
    attach(reg, src, image)
    result = cli("retag", f"{registry.host}/{src}:v1", f"{registry.host}/graph/dst-text:v1")
    assert result.code == 0, result.err
    assert "carried 2 parts of its graph (1 referrer, 1 signature)" in result.out


def test_no_referrers_copies_the_image_alone(reg, registry, cli):
    src, dst = "graph/src-none", "graph/dst-none"
    image = push_image(reg, src, "v1").manifest
    push_signature(reg, src, image.digest)
    result = cli("retag", f"{registry.host}/{src}:v1", f"{registry.host}/{dst}:v1", "--no-referrers", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["carried"] is None
    assert reg.tags(dst) == ["v1"]


def test_same_repository_retag_touches_no_graph(reg, registry, cli):
    repo = "graph/same"
    image = push_image(reg, repo, "v1").manifest
    push_signature(reg, repo, image.digest)
    mark = registry.mark()
    result = cli("retag", f"{registry.host}/{repo}:v1", "v2")
    assert result.code == 0, result.err
    assert [(r.method, r.uri) for r in registry.since(mark)] == [
        ("GET", f"/v2/{repo}/manifests/v1"), ("PUT", f"/v2/{repo}/manifests/v2")]


def test_cross_registry_copy_of_an_index_carries_its_childrens_signatures(reg, registry, registry2, client, cli):
    src = "graph/src-index"
    index, children = push_index(reg, src, "v1")
    index_sig = push_signature(reg, src, index.digest)
    child_sig = push_signature(reg, src, children[1].manifest.digest)
    sbom = attach(reg, src, children[0].manifest)
    result = cli("retag", f"{registry.host}/{src}:v1", f"{registry2.host}/graph/dst-index:v1", "--json")
    assert result.code == 0, result.err
    other = client.get(registry2.host)
    assert other.head_manifest("graph/dst-index", "v1") == index.digest
    assert other.head_manifest("graph/dst-index", cosign_tag(index.digest, ".sig")) == index_sig.digest
    assert other.head_manifest("graph/dst-index", cosign_tag(children[1].manifest.digest, ".sig")) == child_sig.digest
    assert _listed(other, "graph/dst-index", children[0].manifest.digest) == [sbom.digest]
    assert other.get_manifest("graph/dst-index", sbom.digest).data == sbom.data


def test_the_destination_index_keeps_another_writers_entries(reg, registry, cli):
    src, dst = "graph/src-merge", "graph/dst-merge"
    image = push_image(reg, src, "v1").manifest
    ours = attach(reg, src, image)
    push_image(reg, dst, "v0")  # the destination already lists a referrer of this image, another writer's
    theirs = referrer_manifest(reg, dst, image, "application/vnd.example.vex")
    add_to_referrers_tag(reg, dst, image.digest, [entry(theirs)])
    result = cli("retag", f"{registry.host}/{src}:v1", f"{registry.host}/{dst}:v1")
    assert result.code == 0, result.err
    assert _listed(reg, dst, image.digest) == sorted([ours.digest, theirs.digest])
    # carried again: nothing new to list, nothing rewritten
    before = reg.head_manifest(dst, referrers_tag(image.digest))
    assert cli("retag", f"{registry.host}/{src}:v1", f"{registry.host}/{dst}:v1").code == 0
    assert reg.head_manifest(dst, referrers_tag(image.digest)) == before


def test_a_lost_write_of_the_index_is_merged_again(reg, registry):
    """A concurrent writer replaces the index between our PUT and our read-back: the read-back sees our entry
    missing and merges again, keeping theirs."""
    repo = "graph/race"
    image = push_image(reg, repo, "v1").manifest
    a = referrer_manifest(reg, repo, image)
    b = referrer_manifest(reg, repo, image, "application/vnd.example.vex")
    original_put = reg.put_manifest
    raced: list[object] = []

    def put_then_other_writer(repository, ref, manifest, scopes=None):
        digest = original_put(repository, ref, manifest, scopes)
        if ref == referrers_tag(image.digest) and not raced:
            raced.append(ref)  # the other writer read before our PUT and writes its own entry only
            from ci_tags.core.graph import referrers_index

            original_put(repository, ref, referrers_index([entry(b)]))
        return digest

    reg.put_manifest = put_then_other_writer
    try:
        assert add_to_referrers_tag(reg, repo, image.digest, [entry(a)])
    finally:
        del reg.put_manifest
    assert _listed(reg, repo, image.digest) == sorted([a.digest, b.digest])


def test_promote_carries_the_graph_across_registries(reg, registry, registry2, client, cli, tmp_path):
    image = push_image(reg, "graph/promote-src", "build-1").manifest
    sig = push_signature(reg, "graph/promote-src", image.digest)
    sbom = attach(reg, "graph/promote-src", image, SPDX)
    (tmp_path / "promote.yml").write_text(
        f"images:\n  - name: {registry2.host}/graph/promote-dst\n    tag: '1.0'\n    src_ref: https://example.com/1\n"
        f"    source: {registry.host}/graph/promote-src:build-1\n")
    result = cli("promote", "promote.yml", "--json")
    assert result.code == 0, result.err + result.out
    entries = json.loads(result.out)["entries"]
    assert entries[0]["copied"]["carried"]["count"] == 2
    other = client.get(registry2.host)
    assert other.head_manifest("graph/promote-dst", cosign_tag(image.digest, ".sig")) == sig.digest
    assert _listed(other, "graph/promote-dst", image.digest) == [sbom.digest]


def test_a_dangling_entry_of_the_source_index_is_reported_not_carried(reg, registry, cli):
    src, dst = "graph/src-dangling", "graph/dst-dangling"
    image = push_image(reg, src, "v1").manifest
    kept, gone = attach(reg, src, image), attach(reg, src, image, "application/vnd.example.vex")
    assert reg.delete_manifest(src, gone.digest).status_code == 202  # another tool deleted it, index untouched
    result = cli("retag", f"{registry.host}/{src}:v1", f"{registry.host}/{dst}:v1", "--json")
    assert result.code == 0, result.err
    carried = json.loads(result.out)["carried"]
    assert carried["missing"] == [gone.digest] and carried["count"] == 1
    assert _listed(reg, dst, image.digest) == [kept.digest]


def test_a_tag_schema_tag_holding_no_index_means_no_referrers(reg, registry, cli):
    src = "graph/src-notindex"
    image = push_image(reg, src, "v1").manifest
    reg.put_manifest(src, referrers_tag(image.digest), image)  # someone's image on that tag: not an index
    result = cli("retag", f"{registry.host}/{src}:v1", f"{registry.host}/graph/dst-notindex:v1", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["carried"]["count"] == 0


def test_sync_carries_the_graph_and_says_so(reg, registry, registry2, client, cli, tmp_path):
    label = "dev.ci-tags.manifesto"
    image = push_image(reg, "graph-sync/nova", "ocata", labels={label: "m1"}).manifest
    sig = push_signature(reg, "graph-sync/nova", image.digest)
    (tmp_path / "sync.yml").write_text(f"source: {registry.host}/graph-sync\ndestination: {registry2.host}/graph-sync"
                                       f"\ntrack: ocata\nlabel: {label}\nimages: [nova]\n")
    text = cli("sync", str(tmp_path / "sync.yml"))
    assert text.code == 0, text.err
    assert text.out.splitlines()[:2] == [
        f"copied {registry.host}/graph-sync/nova:ocata -> {registry2.host}/graph-sync/nova:ocata-1 {image.digest}",
        "  carried 1 part of its graph (1 signature)"]
    assert client.get(registry2.host).head_manifest("graph-sync/nova", cosign_tag(image.digest, ".sig")) == sig.digest


def test_prepare_carries_the_graph_to_the_push_destination(basic_registry, registry, client, clean_env, cli,
                                                           tmp_path):
    from ci_tags.oci.http import Http
    from ci_tags.oci.registries import Registries
    from tests.test_prepare import PASSWORD, prepare_file

    upstream = Registries(Http(), clean_env, username="alice", password=PASSWORD).get(basic_registry.host)
    labels = {"version": "17.0", "release": "9"}
    nova = push_image(upstream, "tripleomaster/centos-binary-nova-api", "current-tripleo", labels=labels).manifest
    sig = push_signature(upstream, "tripleomaster/centos-binary-nova-api", nova.digest)
    path = prepare_file(tmp_path / "prepare.yaml", basic_registry.host, registry.host)
    (tmp_path / "images.yml").write_text("- {image: nova-api, params: [ContainerNovaApiImage]}\n")
    result = cli("prepare", str(path), "--images", str(tmp_path / "images.yml"), "--output-env-file",
                 str(tmp_path / "env.yaml"), "--local-push-destination", registry.host, "--json")
    assert result.code == 0, result.err
    (image,) = json.loads(result.out)["images"]
    assert image["carried"]["kinds"] == {"signature": 1}
    pushed = client.get(registry.host)
    assert pushed.head_manifest("tripleomaster/centos-binary-nova-api", cosign_tag(nova.digest, ".sig")) == sig.digest
