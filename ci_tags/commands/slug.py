"""``ci-tags slug BRANCH``: a branch name as a tag, exactly as GitLab computes CI_COMMIT_REF_SLUG."""

from __future__ import annotations

import argparse

from ci_tags.context import Context
from ci_tags.core.reference import slugify

_OPTIONS = ("-h", "--help", "--json", "--debug")


def branch_argv(argv: list[str]) -> list[str]:
    """``ci-tags slug -aaa-``: a branch name may start with ``-`` (GitLab slugs such names); when the one
    argument besides slug's own options does, it is the branch, as if written after ``--``."""
    at = argv.index("slug")
    rest = argv[at + 1 :]
    if "--" in rest:
        return argv
    words = [a for a in rest if a not in _OPTIONS]
    if len(words) == 1 and words[0].startswith("-"):
        return argv[: at + 1] + [a for a in rest if a in _OPTIONS] + ["--", words[0]]
    return argv


# shown under "examples:" by --help
EXAMPLES = """\
  ci-tags slug feature/Login-Page          # feature-login-page
  ci-tags slug "$BRANCH_NAME" --json
"""


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("branch")


def run(ctx: Context) -> int:
    slug = slugify(ctx.args.branch)
    if ctx.out.json_mode:
        ctx.out.json({"branch": ctx.args.branch, "slug": slug})
    else:
        ctx.out.line(slug)
    return 0
