"""Human lines of the commands that work on single images and tags: retag, tags, inspect, untag."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ci_tags.oci.referrers_copy import Carried
    from ci_tags.output import Output
    from ci_tags.services.inspect import Inspected
    from ci_tags.services.janitor.graphs import GraphOutcome
    from ci_tags.services.retag import Retagged
    from ci_tags.services.tags import TagList
    from ci_tags.services.untag import ManifestDeletion, ManifestsDeleted, TagRemoval, Untagged


def retagged(result: Retagged, out: Output) -> None:
    copied = result.copied
    out.line(f"{result.source} -> {result.destination} {copied.digest}")
    if copied.mode != "same-repository":
        out.info(
            f"blobs: {copied.blobs_mounted} mounted, {copied.blobs_present} already present, "
            f"{copied.blobs_streamed} streamed ({copied.bytes_streamed} bytes)"
        )
    if copied.carried is not None and copied.carried.parts:
        out.line(carried_line(copied.carried))


def carried_line(carried: Carried) -> str:
    """What a copy carried along with the image: its graph's parts by kind, and how the destination lists them."""
    counts = carried.counts()
    if not counts:
        return "  carried no signature, attestation or referrer (none found)"
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
    listed = {"referrers-api": "; listed by the referrers API", "none": "",
              "referrers-tag": "; listed in the referrers tag schema's index"}[carried.listed_by]
    total = sum(counts.values())
    return f"  carried {total} part{'' if total == 1 else 's'} of its graph ({kinds}){listed}"


def tag_list(result: TagList, out: Output) -> None:
    if result.digests is None:
        for tag in result.tags:
            out.line(tag)
        return
    for tag in result.tags:
        out.line(f"{tag}\t{result.digests.get(tag) or '-'}")


def tag_list_problems(result: TagList) -> list[str]:
    return [f"{tag}: {err}" for tag, err in result.errors.items()]


def inspected(result: Inspected, out: Output) -> None:
    out.line(f"reference:  {result.reference}")
    out.line(f"digest:     {result.digest}")
    out.line(f"media type: {result.media_type}")
    out.line(f"size:       {result.size} bytes")
    out.line(f"created:    {result.created or '-'}")
    if result.image is None:
        out.table(
            "platforms",
            ["platform", "digest", "size", "created"],
            [[p.platform, p.digest, p.size, p.created or "-"] for p in result.platforms],
        )
        return
    out.line(f"platform:   {result.image.platform or '-'}")
    out.line(f"layers:     {result.image.layers}")
    for key, value in sorted(result.image.labels.items()):
        out.line(f"label:      {key}={value}")


def tag_removal(removal: TagRemoval, out: Output) -> None:
    """One tag of ``untag``, shown as soon as it is handled (an interrupted run has said what it did)."""
    ref, digest = removal.reference, removal.digest
    kept = f" (kept: {', '.join(removal.kept_siblings)})" if removal.kept_siblings else ""
    if removal.outcome == "absent":
        out.line(f"{ref} already absent")
    elif removal.outcome == "not-found":
        out.warn(f"{ref}: tag not found")
    elif removal.outcome == "would-remove":
        out.line(f"would remove {ref} {digest}{kept}")
    elif removal.outcome == "refused":
        out.warn(f"{ref}: {removal.error}")
    elif removal.outcome == "moved":
        out.warn(f"{ref}: no longer {digest}: tagged again by someone else meanwhile, left as it is")
    elif removal.outcome == "removed":
        out.line(f"removed {ref} {digest}{kept}")
        if removal.restored:
            out.warn(f"{ref.api_host} deleted {', '.join(removal.restored)} along with {ref.tag}; ci-tags put them "
                     "back. This registry's tag deletion is unsafe.")


def untagged(result: Untagged, out: Output) -> None:
    """Nothing more: each tag was shown as it was handled (:func:`tag_removal`)."""


def manifest_deletion(deletion: ManifestDeletion, out: Output) -> None:
    """One manifest of ``untag --digest``, shown before it is deleted, with the tags that vanish with it."""
    verb = "deleting" if deletion.deleted else "would delete"
    out.line(f"{verb} {deletion.manifest}; these tags vanish with it: {', '.join(deletion.tags) or 'no tags'}")


def manifests_deleted(result: ManifestsDeleted, out: Output) -> None:
    """Each manifest was shown before its deletion (:func:`manifest_deletion`); then the parts of its graph."""
    for manifest, graph in result.graphs:
        graph_removals(manifest.split("@", 1)[0], graph, out, dry_run=result.dry_run)


def graph_removals(name: str, graph: GraphOutcome, out: Output, *, dry_run: bool) -> None:
    """The parts of a graph in repository ``name`` removed (or that a dry run would remove) with their reasons,
    then the parts that could not be removed."""
    done = set(graph.removed)
    for r in graph.expiry.removals:
        if dry_run:
            out.line(f"would remove {name}:{r.name} ({r.detail})")
        elif r.name in done:
            out.line(f"removed {name}:{r.name} ({r.detail})")
    for what, why in graph.failed.items():
        out.warn(f"{name}:{what}: {why}")
