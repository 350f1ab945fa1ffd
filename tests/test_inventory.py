"""Inventory of a repository and exclusive removal, on the real registry."""

from datetime import datetime, timedelta, timezone

from ci_tags.core.manifest import ANNOTATION_CREATED, ANNOTATION_KIND
from ci_tags.core.times import parse_time
from ci_tags.oci.inventory import image_created, take_inventory
from ci_tags.oci.stamp import stamp
from ci_tags.oci.untag import EXCLUSIVE, Untagger
from tests.support.images import push_image, push_index


def test_inventory_reads_every_tag_once_with_stamps_and_image_times(reg, registry):
    repo = "inv/app"
    img = push_image(reg, repo, "hash-1", created="2026-02-03T04:05:06.123456789Z")
    index, _ = push_index(reg, repo, "hash-2")
    stamp(reg, repo, img.manifest, "pipeline-7", {ANNOTATION_KIND: "pipeline"}, arch="amd64")
    mark = registry.mark()
    inv = take_inventory(reg, repo, concurrency=4)
    reqs = registry.since(mark)
    assert sorted(inv.manifests) == ["hash-1", "hash-2", "pipeline-7"]
    assert [r.method for r in reqs].count("GET") == 4  # the tag list + one GET per tag
    assert inv.stamp_time("pipeline-7") is not None
    assert inv.stamp_time("hash-1") is None
    assert inv.referenced_by_index(["pipeline-7"]) == {img.manifest.digest}
    assert inv.referenced_by_index(["hash-2"]) == {c.digest for c in index.children}
    image_created(reg, inv, ["hash-1", "hash-2"], concurrency=4)
    assert inv.created[img.manifest.digest] == datetime(2026, 2, 3, 4, 5, 6, 123456, tzinfo=timezone.utc)
    assert inv.created[index.digest] == datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_parse_time():
    assert parse_time("2026-01-02T03:04:05Z") == datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    parsed = parse_time("2026-01-02T03:04:05.5+02:00")
    assert parsed is not None and parsed.utcoffset() == timedelta(hours=2)
    assert parse_time("yesterday") is None
    assert parse_time("2026-01-02T03:04:05") is None  # no zone: unknown, not guessed
    assert parse_time(None) is None


def test_exclusive_removal_is_one_request_and_leaves_the_image(reg, registry):
    repo = "inv/exclusive"
    img = push_image(reg, repo, "hash-1")
    index = stamp(reg, repo, img.manifest, "pipeline-1", {ANNOTATION_KIND: "pipeline", ANNOTATION_CREATED: "x"})
    mark = registry.mark()
    removal = Untagger(reg, repo).remove_exclusive("pipeline-1", index.digest)
    assert removal.method == EXCLUSIVE
    assert [(r.method, r.status) for r in registry.since(mark)] == [("DELETE", 202)]
    assert reg.tags(repo) == ["hash-1"]
    assert reg.head_manifest(repo, "hash-1") == img.manifest.digest
