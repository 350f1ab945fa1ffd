"""The janitor expires images' graphs on the real distribution 2.8 registry (no referrers API: cosign tags and the
referrers tag schema): the signatures, attestations and SBOMs of a digest it left without a tag go, in a second
phase; those of a digest another tag holds, of a young tag, and of the children of a kept index stay; orphans go
once older than max-age."""

import json
from datetime import datetime, timedelta, timezone

from ci_tags.core.graph import referrers_tag
from ci_tags.oci.inventory import take_inventory
from ci_tags.oci.untag import Untagger
from ci_tags.services.janitor.graphs import expire_graphs
from tests.support.images import push_image, push_index
from tests.support.janitor_setup import ago, content
from tests.support.referrers import attach, cosign_tag, push_signature


def test_the_graph_of_an_image_that_lost_its_last_tag_goes_and_held_graphs_stay(reg, registry, cli):
    repo = "graph-janitor/mixed"
    gone = push_image(reg, repo, content(1), created=ago(30)).manifest  # expired, nothing else holds it
    held = push_image(reg, repo, content(2), created=ago(30)).manifest  # expired, but "stable" holds the image
    reg.put_manifest(repo, "stable", held)
    young = push_image(reg, repo, content(3), created=ago(2)).manifest  # young: kept
    gone_sig, gone_att = push_signature(reg, repo, gone.digest), push_signature(reg, repo, gone.digest, ".att")
    gone_sbom = attach(reg, repo, gone)
    gone_sbom_sig = push_signature(reg, repo, gone_sbom.digest)  # a signature on the SBOM
    held_sig, held_sbom = push_signature(reg, repo, held.digest), attach(reg, repo, held)
    young_sig = push_signature(reg, repo, young.digest)

    dry = cli("janitor", f"{registry.host}/{repo}", "--dry-run", "--json")
    assert dry.code == 0, dry.err
    graph = json.loads(dry.out)["repositories"][0]["graph"]
    planned = {r["name"]: r["reason"] for r in graph["removals"]}
    assert planned == {cosign_tag(gone.digest, ".sig"): "subject-removed",
                       cosign_tag(gone.digest, ".att"): "subject-removed",
                       referrers_tag(gone.digest): "subject-removed",
                       gone_sbom.digest: "subject-removed",
                       cosign_tag(gone_sbom.digest, ".sig"): "subject-removed"}
    assert json.loads(dry.out)["counts"]["graph_removed"] == 5
    text = cli("janitor", f"{registry.host}/{repo}", "--dry-run")
    assert (f"would remove {registry.host}/{repo}:{cosign_tag(gone.digest, '.sig')} (signature of {gone.digest}, "
            "whose image lost its last tag)") in text.out
    assert reg.head_manifest(repo, cosign_tag(gone.digest, ".sig")) == gone_sig.digest  # a dry run removes nothing

    real = cli("janitor", f"{registry.host}/{repo}", "--json")
    assert real.code == 0, real.err
    report = json.loads(real.out)["repositories"][0]
    assert sorted(report["removed"]) == sorted([content(1), content(2)])
    assert sorted(report["graph"]["removed"]) == sorted(planned)
    tags = set(reg.tags(repo))
    assert not {cosign_tag(gone.digest, ".sig"), cosign_tag(gone.digest, ".att"), referrers_tag(gone.digest),
                cosign_tag(gone_sbom.digest, ".sig")} & tags
    assert reg.head_manifest(repo, gone_sbom.digest) is None  # the SBOM manifest itself is deleted
    assert reg.head_manifest(repo, gone_att.digest) is None and reg.head_manifest(repo, gone_sbom_sig.digest) is None
    # what a kept tag holds keeps its whole graph
    assert reg.head_manifest(repo, cosign_tag(held.digest, ".sig")) == held_sig.digest
    assert reg.head_manifest(repo, held_sbom.digest) == held_sbom.digest
    assert referrers_tag(held.digest) in tags
    assert reg.head_manifest(repo, cosign_tag(young.digest, ".sig")) == young_sig.digest

    again = cli("janitor", f"{registry.host}/{repo}", "--json")
    assert json.loads(again.out)["counts"]["graph_removed"] == 0


def test_children_of_a_kept_index_keep_their_signatures_and_those_of_a_removed_index_go(reg, registry, cli):
    repo = "graph-janitor/index"
    kept, kept_children = push_index(reg, repo, "stable")
    reg.put_manifest(repo, content(4), kept)
    old, old_children = push_index(reg, repo, content(5))
    kept_child_sig = push_signature(reg, repo, kept_children[0].manifest.digest)
    kept_child_sbom = attach(reg, repo, kept_children[1].manifest)
    old_child_sig = push_signature(reg, repo, old_children[0].manifest.digest)
    old_sig = push_signature(reg, repo, old.digest)
    result = cli("janitor", f"{registry.host}/{repo}", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)["repositories"][0]
    # index content tags are dated by their first child's config: push_index children were created in 2026-01
    assert set(report["removed"]) == {content(4), content(5)}
    removed = set(report["graph"]["removed"])
    assert removed == {cosign_tag(old.digest, ".sig"), cosign_tag(old_children[0].manifest.digest, ".sig")}
    assert reg.head_manifest(repo, cosign_tag(kept_children[0].manifest.digest, ".sig")) == kept_child_sig.digest
    assert reg.head_manifest(repo, kept_child_sbom.digest) == kept_child_sbom.digest
    assert reg.head_manifest(repo, "stable") == kept.digest
    assert reg.head_manifest(repo, old_child_sig.digest) is None and reg.head_manifest(repo, old_sig.digest) is None


def test_orphans_go_once_older_than_max_age_and_young_or_undated_ones_stay(reg, registry, cli):
    repo = "graph-janitor/orphans"
    push_image(reg, repo, content(6), created=ago(30))  # expired: the run removes something
    lost = [push_image(reg, repo, None, created=ago(30)).manifest for _ in range(3)]  # by digest only: no tag
    old = push_signature(reg, repo, lost[0].digest, created=ago(20))
    recent = push_signature(reg, repo, lost[1].digest, created=ago(1))
    undated = push_signature(reg, repo, lost[2].digest)
    dry = cli("janitor", f"{registry.host}/{repo}", "--dry-run")
    assert dry.code == 0, dry.err
    assert f"would remove {registry.host}/{repo}:{cosign_tag(lost[0].digest, '.sig')} (orphaned signature of " \
           f"{lost[0].digest}: no tag holds it" in dry.out
    real = cli("janitor", f"{registry.host}/{repo}", "--json")
    assert real.code == 0, real.err
    graph = json.loads(real.out)["repositories"][0]["graph"]
    assert graph["removed"] == [cosign_tag(lost[0].digest, ".sig")]
    assert set(graph["kept_orphans"]) == {cosign_tag(lost[1].digest, ".sig"), cosign_tag(lost[2].digest, ".sig")}
    assert reg.head_manifest(repo, old.digest) is None
    assert reg.head_manifest(repo, cosign_tag(lost[1].digest, ".sig")) == recent.digest
    assert reg.head_manifest(repo, cosign_tag(lost[2].digest, ".sig")) == undated.digest


def test_untag_digest_takes_the_graph_of_the_deleted_manifest_and_leaves_the_kept_childrens(reg, registry, cli):
    repo = "graph-janitor/untag"
    index, children = push_index(reg, repo, "doomed")
    reg.put_manifest(repo, "arm-only", children[1].manifest)  # a tag holds one child
    index_sig = push_signature(reg, repo, index.digest)
    sbom = attach(reg, repo, index)
    free_child_sig = push_signature(reg, repo, children[0].manifest.digest)
    held_child_sig = push_signature(reg, repo, children[1].manifest.digest)
    dry = cli("untag", f"{registry.host}/{repo}@{index.digest}", "--digest", "--dry-run", "--json")
    assert dry.code == 0, dry.err
    planned = {r["name"] for r in dry_graph(dry.out)["removals"]}
    assert planned == {cosign_tag(index.digest, ".sig"), referrers_tag(index.digest), sbom.digest,
                       cosign_tag(children[0].manifest.digest, ".sig")}
    assert reg.head_manifest(repo, index_sig.digest) == index_sig.digest
    real = cli("untag", f"{registry.host}/{repo}@{index.digest}", "--digest")
    assert real.code == 0, real.err
    assert f"removed {registry.host}/{repo}:{cosign_tag(index.digest, '.sig')} (signature of {index.digest}" in real.out
    assert set(reg.tags(repo)) == {"arm-only", cosign_tag(children[1].manifest.digest, ".sig")}
    assert reg.head_manifest(repo, cosign_tag(children[1].manifest.digest, ".sig")) == held_child_sig.digest
    assert reg.head_manifest(repo, free_child_sig.digest) is None and reg.head_manifest(repo, sbom.digest) is None


def test_untag_digest_no_referrers_leaves_the_graph(reg, registry, cli):
    repo = "graph-janitor/untag-none"
    image = push_image(reg, repo, "v1").manifest
    push_signature(reg, repo, image.digest)
    result = cli("untag", f"{registry.host}/{repo}:v1", "--digest", "--no-referrers")
    assert result.code == 0, result.err
    assert reg.tags(repo) == [cosign_tag(image.digest, ".sig")]


def dry_graph(out):
    (graph,) = json.loads(out)["graph"].values()
    return graph


def test_an_image_tagged_again_during_the_run_keeps_its_graph(reg, registry):
    """A build of the same content makes the removed content tag again between the removal and the graph phase:
    the digest is held again, so its signature stays."""
    repo = "graph-janitor/again"
    image = push_image(reg, repo, content(7), created=ago(30)).manifest
    sig = push_signature(reg, repo, image.digest)
    inv = take_inventory(reg, repo, 4)
    Untagger(reg, repo).remove(content(7), image.digest)
    reg.put_manifest(repo, "rebuilt", image)  # meanwhile: another tag on the same digest
    outcome = expire_graphs(reg, Untagger(reg, repo), inv, list(inv.manifests), [content(7)],
                            max_age=timedelta(days=7), now=datetime.now(timezone.utc), dry_run=False, concurrency=4)
    assert outcome is not None and outcome.expiry.removals == []
    assert reg.head_manifest(repo, cosign_tag(image.digest, ".sig")) == sig.digest
