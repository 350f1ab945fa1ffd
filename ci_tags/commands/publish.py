"""``ci-tags publish``: the final job. Moves each image's publish tags to this pipeline's image, only on the
default branch, only when every image has its pipeline tag and the CI API (if asked) reports success, and
never back in time, also when publishes run at once (ci_tags/core/publishing.py: intents). A tag that already holds
the image stays as it is ("unchanged", same digest). Otherwise it says why and exits 0; a read or write that
fails ends with a summary and exit 1."""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path
from typing import Any

from ci_tags.commands.options import add_config_option, add_pipeline_options, load, pipeline
from ci_tags.concurrency import run_all
from ci_tags.context import Context
from ci_tags.core.manifest import (
    ANNOTATION_CREATED,
    ANNOTATION_KIND,
    ANNOTATION_PIPELINE,
    ANNOTATION_PUBLISH_TAGS,
    ANNOTATION_REVISION,
    ANNOTATION_TARGET,
    Manifest,
    stamp_of,
    stamped_index,
)
from ci_tags.core.publishing import (
    INTENT_PREFIX,
    KEEP,
    MOVE,
    UNCHANGED,
    Intent,
    TagOrigin,
    intent_tag,
    newest,
    origin_from,
    pipeline_gate,
    settle,
)
from ci_tags.core.reference import Reference, parse_reference, slugify, validate_tag
from ci_tags.core.times import now_rfc3339
from ci_tags.errors import CiTagsError, OperationFailed
from ci_tags.oci.client import Registry
from ci_tags.oci.image import read_config
from ci_tags.oci.stamp import fetch, stamp

# shown under "examples:" by --help
EXAMPLES = """\
  ci-tags publish --dry-run
  ci-tags publish --tag latest --tag stable --json
"""


def register(p: argparse.ArgumentParser) -> None:
    add_config_option(p)
    add_pipeline_options(p)
    p.add_argument("--dry-run", action="store_true", help="print what would move, move nothing")
    p.add_argument("--tag", action="append", default=[], help="publish these tags instead of the config's")


def is_ancestor(root: Path) -> Any:
    """``is_ancestor(a, b)`` by git in the checkout; None when git cannot tell (shallow clone, no git)."""

    def ask(a: str, b: str) -> bool | None:
        try:
            done = subprocess.run(["git", "-C", str(root), "merge-base", "--is-ancestor", a, b],
                                  capture_output=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return {0: True, 1: False}.get(done.returncode)

    return ask


def _ci_status(ctx: Context, pipe: Any) -> tuple[bool | None, tuple[str, ...]]:
    """Ask the CI API whether every other job succeeded, where a token that can read the pipeline is given."""
    if pipe.system == "gitlab" and ctx.env.get("CI_TAGS_GITLAB_TOKEN"):
        from ci_tags.ci.gitlab import check_gitlab_pipeline

        status = check_gitlab_pipeline(pipe, ctx.env["CI_TAGS_GITLAB_TOKEN"], http=ctx.registries.http)
    elif pipe.system == "jenkins" and ctx.env.get("CI_TAGS_JENKINS_TOKEN"):
        from ci_tags.ci.jenkins import check_jenkins_build

        status = check_jenkins_build(pipe, pipe.api_url, ctx.env.get("CI_TAGS_JENKINS_USER"),
                                     ctx.env["CI_TAGS_JENKINS_TOKEN"], http=ctx.registries.http)
    else:
        return None, ()
    if not status.checked:
        return None, status.reasons
    return status.ok, status.reasons


MAX_ROUNDS = 5  # re-reads of the intents after a PUT; more means publishers keep arriving: a later run settles it


def _read_intents(ctx: Context, registry: Registry, repository: str) -> dict[str, tuple[Intent, Manifest]]:
    """Every publisher's intent in the repository. A read that fails fails the publish: deciding without an
    intent could move a tag back in time."""
    names = [t for t in registry.tags(repository) if t.startswith(INTENT_PREFIX)]
    found: dict[str, tuple[Intent, Manifest]] = {}
    for tag, manifest, err in run_all(lambda t: fetch(registry, repository, t), names, ctx.concurrency):
        if err is not None:
            raise err
        intent = _intent_of(tag, manifest) if manifest is not None else None
        if intent is not None and manifest is not None:
            found[tag] = (intent, manifest)
    return found


def _intent_of(tag: str, manifest: Manifest) -> Intent | None:
    notes = stamp_of(manifest)
    if not notes or notes.get(ANNOTATION_KIND) != "intent":
        return None
    wanted = tuple(t for t in notes.get(ANNOTATION_PUBLISH_TAGS, "").split(",") if t)
    return Intent(tag, origin_from(notes, None), notes.get(ANNOTATION_CREATED, ""),
                  notes.get(ANNOTATION_TARGET, manifest.digest), wanted)


def _current(registry: Registry, repository: str, tag: str) -> tuple[TagOrigin | None, str | None]:
    """Who put the publish tag where it is, and the digest of the image it stands for; (None, None) if absent."""
    current = fetch(registry, repository, tag)
    if current is None:
        return None, None
    notes = stamp_of(current)
    labels = None
    if notes is None and not current.is_index:
        labels = read_config(registry, repository, current).labels
    target = (notes or {}).get(ANNOTATION_TARGET, current.digest)
    return origin_from(notes, labels), target


def _publish_image(ctx: Context, name: str, ref: Reference, source: Manifest, tags: list[str],
                   ours: TagOrigin, ancestor: Any) -> list[dict[str, Any]]:
    """Record this pipeline's intent in the image's repository, then settle each publish tag on the newest
    intent; re-read after every PUT until nothing moves. Returns one report entry per tag."""
    registry = ctx.registries.get(ref.api_host)
    repository, dry_run = ref.repository, ctx.args.dry_run
    mine = intent_tag(ours.pipeline_id or "")
    notes = {k: v for k, v in (stamp_of(source) or {}).items() if k not in (ANNOTATION_CREATED, ANNOTATION_KIND)}
    intent_notes = {**notes, ANNOTATION_KIND: "intent", ANNOTATION_PIPELINE: ours.pipeline_id or "",
                    ANNOTATION_PUBLISH_TAGS: ",".join(tags), **({ANNOTATION_REVISION: ours.revision}
                                                              if ours.revision else {})}
    if dry_run:
        own = stamped_index(source, None, {ANNOTATION_CREATED: now_rfc3339(), **intent_notes})
    else:
        own = stamp(registry, repository, source, mine, intent_notes)
    own_intent = _intent_of(mine, own)
    assert own_intent is not None
    entries: dict[str, dict[str, Any]] = {}
    moved_by_us: dict[str, tuple[str, str]] = {}  # tag -> (why, digest) of our own move
    for _ in range(MAX_ROUNDS):
        intents = _read_intents(ctx, registry, repository)
        intents[mine] = (own_intent, own)  # ours counts even before a listing shows it
        wrote = False
        for tag in tags:
            winner = newest([i for i, _ in intents.values() if tag in i.publish_tags], ancestor)
            assert winner is not None  # our own intent names every tag
            origin, target = _current(registry, repository, tag)
            action, reason = settle(winner, origin, target, ancestor)
            if action == MOVE and not dry_run:
                _, manifest = intents[winner.tag]
                winner_notes = {k: v for k, v in (stamp_of(manifest) or {}).items()
                                if k not in (ANNOTATION_PUBLISH_TAGS, ANNOTATION_CREATED)}
                published = stamp(registry, repository, manifest, tag, {**winner_notes, ANNOTATION_KIND: "publish"})
                wrote = True
                if winner.tag == mine:
                    moved_by_us[tag] = (reason, published.digest)
            entry: dict[str, Any] = {"image": name, "tag": tag}
            if winner.tag != mine:
                entry.update(status=KEEP, reason=f"a later pipeline {winner.origin.pipeline_id} publishes it")
            elif tag in moved_by_us:
                entry.update(status=MOVE, reason=moved_by_us[tag][0], digest=moved_by_us[tag][1])
            else:  # a dry run's MOVE, UNCHANGED, or KEEP (the tag shows something later than every intent)
                entry.update(status=action, reason=reason)
            entries[tag] = entry
        if dry_run or not wrote:
            break
    return [entries[t] for t in tags]


def run(ctx: Context) -> int:
    config = load(ctx)
    pipe = pipeline(ctx, config)
    pipeline_id = pipe.require_id()
    pipeline_tag = config.tags.pipeline_tag(pipeline_id)
    out = ctx.out
    names = list(config.images)
    # Everything a write will name is checked before the first write: a bad --tag must leave nothing half done.
    tags = list(dict.fromkeys(ctx.args.tag or config.publish))
    if config.publish_branch_slug and pipe.branch:
        tags.append(slugify(pipe.branch))
    for tag in [*tags, intent_tag(pipeline_id)]:
        validate_tag(tag)
    refs = {name: parse_reference(config.repository(name)) for name in names}

    def pipeline_manifest(name: str) -> Manifest | None:
        ref = refs[name]
        return fetch(ctx.registries.get(ref.api_host), ref.repository, pipeline_tag)

    fetched = run_all(pipeline_manifest, names, ctx.concurrency)
    unread = {name: err for name, _, err in fetched if err is not None}
    if unread:
        for name, err in unread.items():
            out.warn(f"{name}: could not read {pipeline_tag}: {err}")
        if out.json_mode:
            out.json({"published": False, "reason": "could not read the pipeline tags", "moves": [],
                      "errors": {n: str(e) for n, e in unread.items()}})
        raise OperationFailed(f"could not read the pipeline tag of {len(unread)} of {len(names)} images; "
                              "nothing was published")
    found = {name: m for name, m, _ in fetched}
    missing = [n for n in names if found.get(n) is None]
    ci_ok, ci_reasons = _ci_status(ctx, pipe)
    gate = pipeline_gate(pipe, missing, ci_status_ok=ci_ok, ci_status_reasons=ci_reasons)
    if not gate.go:
        out.line(f"not publishing: {gate.reason}")
        if out.json_mode:
            out.json({"published": False, "dry_run": ctx.args.dry_run, "reason": gate.reason, "moves": []})
        return 0

    ours = origin_from({"dev.ci-tags.pipeline": pipeline_id, "org.opencontainers.image.revision": pipe.commit or ""},
                       None)
    ancestor = is_ancestor(config.root)
    moves: list[dict[str, Any]] = []
    failures: dict[str, str] = {}
    for name in names:
        source = found[name]
        assert source is not None
        try:
            entries = _publish_image(ctx, name, refs[name], source, tags, ours, ancestor)
        except CiTagsError as exc:
            failures[name] = str(exc)
            out.warn(f"{config.repository(name)}: {exc}")
            moves += [{"image": name, "tag": t, "status": "failed", "move": False, "error": str(exc)} for t in tags]
            continue
        for entry in entries:
            entry["move"] = entry["status"] == MOVE
            word = {MOVE: "would move" if ctx.args.dry_run else "moved", UNCHANGED: "unchanged", KEEP: "kept"}
            out.line(f"{word[entry['status']]} {config.repository(name)}:{entry['tag']}: {entry['reason']}")
        moves += entries
    moved = [m for m in moves if m["status"] == MOVE]
    if out.json_mode:
        out.json({"published": bool(moved) and not ctx.args.dry_run, "dry_run": ctx.args.dry_run,
                  "reason": gate.reason,
                  "unchanged": all(m["status"] == UNCHANGED for m in moves), "moves": moves,
                  **({"errors": failures} if failures else {})})
    if failures:
        raise OperationFailed(f"{len(failures)} of {len(names)} images could not be published; a re-run settles "
                              "them")
    return 0
