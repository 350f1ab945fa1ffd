"""``ci-tags janitor [REPO...]``: the early job's cleanup. Removes pipeline tags older than --max-age, and
content tags older than it unless current; never a tag ci-tags does not make, a publish tag, a signature, or a
tag of unknown age (see ci_tags/policy.py). Then prints a report per repository."""

from __future__ import annotations

import argparse
import contextlib
import re
import subprocess
import tarfile
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ci_tags.commands.options import add_config_option, load, pipeline
from ci_tags.context import Context
from ci_tags.errors import BadInput, OperationFailed
from ci_tags.policy import CONTENT, PIPELINE, Policy, Summary, decide, parse_duration, template_regex
from ci_tags.reference import parse_reference, slugify


def register(p: argparse.ArgumentParser) -> None:
    add_config_option(p)
    p.add_argument("repositories", metavar="REPO", nargs="*", help="default: every image of ci-tags.yml")
    p.add_argument("--max-age", help="remove pipeline and content tags older than this (default: config, 7d)")
    p.add_argument("--keep", action="append", default=[], metavar="REGEX", help="never remove tags matching this")
    p.add_argument("--keep-last", type=int, default=0, metavar="N", help="keep the N newest tags of each kind")
    p.add_argument("--keep-current-of", action="append", default=[], metavar="GIT_REF",
                   help="also keep the current content tags of this git ref (e.g. origin/main)")
    p.add_argument("--dry-run", action="store_true", help="print what a real run would remove; remove nothing")
    p.add_argument("--pipeline-id", help=argparse.SUPPRESS)
    p.add_argument("--default-branch", help=argparse.SUPPRESS)


def _current_tags_of(ctx: Context, git_ref: str, config_path: Path) -> set[str]:
    """Content tags of every image as ci-tags.yml stands at ``git_ref`` (read with git archive)."""
    from ci_tags.config import load_config
    from ci_tags.imageset import resolve

    root = Path(subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True,
                               cwd=config_path.resolve().parent, check=False).stdout.strip() or ".")
    with tempfile.TemporaryDirectory(prefix="ci-tags-ref-") as tmp:
        archive = Path(tmp) / "ref.tar"
        done = subprocess.run(["git", "-C", str(root), "archive", "--format=tar", "-o", str(archive), git_ref],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise BadInput(f"--keep-current-of {git_ref}: git cannot read that ref",
                           hint=done.stderr.strip().splitlines()[-1] if done.stderr.strip() else None)
        with tarfile.open(archive) as tar:
            tar.extractall(Path(tmp) / "tree", filter="data")
        relative = config_path.resolve().relative_to(root.resolve())
        config = load_config(Path(tmp) / "tree" / relative, ctx.env)
        return {t for i in resolve(config) for t in (i.content_tag, *(a.content_tag for a in i.arches))}


def run(ctx: Context) -> int:
    args = ctx.args
    config = load(ctx) if (not args.repositories or Path(args.config).is_file()) else None
    max_age = parse_duration(args.max_age or (config.max_age if config else "7d"))
    keep = []
    for pattern in [*(config.keep if config else ()), *args.keep]:
        try:
            keep.append(re.compile(pattern))
        except re.error as exc:
            raise BadInput(f"--keep {pattern!r} is not a valid regular expression: {exc}") from None
    if args.keep_last < 0:
        raise BadInput("--keep-last must be 0 or more")
    current: set[str] = set()
    protected = {"latest"}
    content_template, pipeline_template = "hash-{hash}", "pipeline-{pipeline_id}"
    if config is not None:
        from ci_tags.imageset import resolve

        current = {t for i in resolve(config) for t in (i.content_tag, *(a.content_tag for a in i.arches))}
        protected |= set(config.publish)
        content_template, pipeline_template = config.tags.content, config.tags.pipeline
        for ref in args.keep_current_of:
            current |= _current_tags_of(ctx, ref, Path(args.config))
        pipe = pipeline(ctx, config)
        for branch in (pipe.branch, pipe.default_branch):
            if branch:
                with contextlib.suppress(BadInput):
                    protected.add(slugify(branch))
    policy = Policy(
        max_age=max_age,
        content=template_regex(content_template, CONTENT),
        pipeline=template_regex(pipeline_template, PIPELINE),
        protected=frozenset(protected),
        keep_patterns=tuple(keep),
        current=frozenset(current),
        keep_last=args.keep_last,
    )
    repositories = list(args.repositories)
    if not repositories and config is not None:
        repositories = [config.repository(n) for n in config.images]
    if not repositories:
        raise BadInput("no repositories: name them, or run where ci-tags.yml lists the images")
    return _clean(ctx, [parse_reference(r) for r in repositories], policy)


def _clean(ctx: Context, refs: list[Any], policy: Policy) -> int:
    from ci_tags.registry.cleanup import clean_repository

    out = ctx.out
    now = datetime.now(timezone.utc)
    verb = "would remove" if ctx.args.dry_run else "removed"
    rows, report, failures = [], [], 0
    for ref in refs:
        registry = ctx.registries.get(ref.api_host)
        outcome = clean_repository(
            registry,
            ref.repository,
            lambda infos: decide(infos, policy, now),
            policy,
            dry_run=ctx.args.dry_run,
            concurrency=ctx.concurrency,
        )
        removed = outcome.removed if not ctx.args.dry_run else [d.tag for d in outcome.decisions if d.delete]
        for d in outcome.decisions:
            if d.delete and d.tag in removed:
                out.line(f"{verb} {ref.name}:{d.tag} ({d.reason}: {d.detail})")
        for tag, why in sorted(outcome.failed.items()):
            out.warn(f"{ref.name}:{tag}: {why}")
        for tag in outcome.restored:
            out.warn(f"{ref.name}:{tag} vanished with a removed tag and was put back")
        failures += len(outcome.failed)
        summary = Summary.of(outcome.decisions)
        kept = ", ".join(f"{n} {reason}" for reason, n in sorted(summary.kept.items())) or "-"
        rows.append([ref.name, len(removed), len(outcome.failed), kept])
        report.append({
            "repository": ref.name,
            "removed": removed,
            "failed": outcome.failed,
            "restored": outcome.restored,
            "kept": {d.tag: d.reason for d in outcome.decisions if not d.delete},
            "unreadable": outcome.unreadable,
        })
    out.table("ci-tags janitor" + (" (dry run)" if ctx.args.dry_run else ""),
              ["repository", "removed" if not ctx.args.dry_run else "to remove", "failed", "kept (why)"], rows)
    if out.json_mode:
        out.json({"dry_run": ctx.args.dry_run, "repositories": report})
    if failures:
        raise OperationFailed(f"{failures} tags could not be removed; a re-run retries them")
    return 0
