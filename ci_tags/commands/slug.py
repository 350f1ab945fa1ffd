"""``ci-tags slug BRANCH``: a branch name as a tag, exactly as GitLab computes CI_COMMIT_REF_SLUG."""

from __future__ import annotations

import argparse

from ci_tags.context import Context
from ci_tags.reference import slugify


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("branch")


def run(ctx: Context) -> int:
    slug = slugify(ctx.args.branch)
    if ctx.out.json_mode:
        ctx.out.json({"branch": ctx.args.branch, "slug": slug})
    else:
        ctx.out.line(slug)
    return 0
