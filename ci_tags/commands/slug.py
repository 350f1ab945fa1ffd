"""``ci-tags slug BRANCH``: a branch name as a tag, exactly as GitLab computes CI_COMMIT_REF_SLUG."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ci_tags.context import Context
from ci_tags.core.reference import slugify
from ci_tags.errors import CiTagsError
from ci_tags.flags import positional
from ci_tags.output.text import Renderer
from ci_tags.output.text.names import slug

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


EXAMPLES = """\
  ci-tags slug feature/Login-Page          # feature-login-page
  ci-tags slug "$BRANCH_NAME" --json
"""


@dataclass(frozen=True, kw_only=True)
class Options:
    branch: str = positional()


@dataclass(frozen=True)
class Slug:
    branch: str
    slug: str
    failure: CiTagsError | None = None

    def document(self) -> Mapping[str, Any]:
        return {"branch": self.branch, "slug": self.slug}


RENDERERS = (Renderer(Slug, slug),)


def run(ctx: Context, opts: Options) -> Slug:
    return Slug(opts.branch, slugify(opts.branch))
