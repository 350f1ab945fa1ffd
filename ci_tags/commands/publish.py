"""``ci-tags publish``: the final job. Moves each image's publish tags to this pipeline's image, only on the
default branch, only when every image has its pipeline tag and the CI API (if asked) reports success, and
never back in time. Otherwise it says why and exits 0."""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path
from typing import Any

from ci_tags.commands.options import add_config_option, add_pipeline_options, load, pipeline
from ci_tags.concurrency import run_all
from ci_tags.context import Context
from ci_tags.errors import OperationFailed
from ci_tags.publishing import origin_from, pipeline_gate, tag_move
from ci_tags.reference import parse_reference, slugify
from ci_tags.registry.image import read_config
from ci_tags.registry.manifest import ANNOTATION_KIND, Manifest, stamp_of
from ci_tags.registry.stamp import fetch, stamp

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

        status = check_gitlab_pipeline(pipe, ctx.env["CI_TAGS_GITLAB_TOKEN"])
    elif pipe.system == "jenkins" and ctx.env.get("CI_TAGS_JENKINS_TOKEN"):
        from ci_tags.ci.jenkins import check_jenkins_build

        status = check_jenkins_build(pipe, pipe.api_url, ctx.env.get("CI_TAGS_JENKINS_USER"),
                                     ctx.env["CI_TAGS_JENKINS_TOKEN"])
    else:
        return None, ()
    if not status.checked:
        return None, status.reasons
    return status.ok, status.reasons


def run(ctx: Context) -> int:
    config = load(ctx)
    pipe = pipeline(ctx, config)
    pipeline_id = pipe.require_id()
    pipeline_tag = config.tags.pipeline_tag(pipeline_id)
    out = ctx.out
    names = list(config.images)

    def pipeline_manifest(name: str) -> Manifest | None:
        ref = parse_reference(config.repository(name))
        return fetch(ctx.registries.get(ref.api_host), ref.repository, pipeline_tag)

    found = {name: m for name, m, _ in run_all(pipeline_manifest, names, ctx.concurrency)}
    missing = [n for n in names if found.get(n) is None]
    ci_ok, ci_reasons = _ci_status(ctx, pipe)
    gate = pipeline_gate(pipe, missing, ci_ok, ci_reasons)
    if not gate.go:
        out.line(f"not publishing: {gate.reason}")
        if out.json_mode:
            out.json({"published": False, "dry_run": ctx.args.dry_run, "reason": gate.reason, "moves": []})
        return 0

    tags = list(ctx.args.tag or config.publish)
    if config.publish_branch_slug and pipe.branch:
        tags.append(slugify(pipe.branch))
    ours = origin_from({"dev.ci-tags.pipeline": pipeline_id, "org.opencontainers.image.revision": pipe.commit or ""},
                       None)
    ancestor = is_ancestor(config.root)
    moves: list[dict[str, Any]] = []
    failures = 0
    for name in names:
        ref = parse_reference(config.repository(name))
        registry = ctx.registries.get(ref.api_host)
        source = found[name]
        assert source is not None
        notes = stamp_of(source) or {}
        for tag in tags:
            current = fetch(registry, ref.repository, tag)
            origin = None
            if current is not None:
                labels = None
                if stamp_of(current) is None and not current.is_index:
                    labels = read_config(registry, ref.repository, current).labels
                origin = origin_from(stamp_of(current), labels)
            verdict = tag_move(ours, origin, ancestor)
            entry = {"image": name, "tag": tag, "move": verdict.go, "reason": verdict.reason}
            if verdict.go and not ctx.args.dry_run:
                try:
                    published = stamp(registry, ref.repository, source, tag,
                                      {**notes, ANNOTATION_KIND: "publish"})
                    entry["digest"] = published.digest
                except OperationFailed as exc:
                    failures += 1
                    entry["error"] = str(exc)
            moves.append(entry)
            word = ("would move" if ctx.args.dry_run else "moved") if verdict.go else "kept"
            out.line(f"{word} {config.repository(name)}:{tag}: {verdict.reason}")
    if out.json_mode:
        out.json({"published": not ctx.args.dry_run, "dry_run": ctx.args.dry_run, "reason": gate.reason,
                  "moves": moves})
    if failures:
        raise OperationFailed(f"{failures} publish tags could not be moved")
    return 0
