"""``ci-tags janitor [REPO...]``: the early job's cleanup. Removes pipeline tags older than --max-age, and
content tags older than it unless current; never a tag ci-tags does not make, a publish tag, a signature, or a
tag of unknown age (see ci_tags/core/policy.py). Then prints a report per repository.

The run is ci_tags/services/janitor/run.py; each repository goes through the one engine
(ci_tags/services/janitor/engine.py), over the registry API or the API of the backend its host calls for."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ci_tags.commands.options import (
    BackendOptions,
    add_backend_options,
    add_config_option,
    backend_from_options,
    load_image_set,
)
from ci_tags.context import Context
from ci_tags.errors import BadInput

if TYPE_CHECKING:
    from ci_tags.services.janitor.run import Cleaned

# shown under "examples:" by --help
EXAMPLES = """\
  ci-tags janitor --dry-run                   # every image of ./ci-tags.yml
  ci-tags janitor registry.example.com/group/app --max-age 14d --keep '^v[0-9]'
  ci-tags janitor --keep-current-of origin/main --json
"""


def register(p: argparse.ArgumentParser) -> None:
    add_config_option(p)
    p.add_argument("repositories", metavar="REPO", nargs="*", help="default: every image of ci-tags.yml")
    p.add_argument("--max-age", help="remove pipeline and content tags older than this (default: config, 7d)")
    p.add_argument("--keep", action="append", default=[], metavar="REGEX", help="never remove tags matching this")
    p.add_argument("--keep-last", type=int, default=0, metavar="N", help="keep the N newest tags of each kind")
    p.add_argument("--keep-current-of", action="append", default=[], metavar="GIT_REF",
                   help="also keep the current content tags of this git ref (e.g. origin/main)")
    p.add_argument("--dry-run", action="store_true", help="print what a real run would remove; remove nothing")
    p.set_defaults(config=None)  # given: it must exist; not given: ./ci-tags.yml if there (required without REPO)
    add_backend_options(p)
    p.add_argument("--pipeline-id", help=argparse.SUPPRESS)
    p.add_argument("--default-branch", help=argparse.SUPPRESS)


@dataclass(frozen=True)
class Options:
    config: str | None  # None: ./ci-tags.yml where there is one
    repositories: tuple[str, ...]
    max_age: str | None
    keep: tuple[str, ...]
    keep_last: int
    keep_current_of: tuple[str, ...]
    dry_run: bool
    backend: BackendOptions
    pipeline_id: str | None
    default_branch: str | None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Options:
        return cls(config=args.config, repositories=tuple(args.repositories), max_age=args.max_age,
                   keep=tuple(args.keep), keep_last=args.keep_last, keep_current_of=tuple(args.keep_current_of),
                   dry_run=args.dry_run, backend=BackendOptions.from_args(args), pipeline_id=args.pipeline_id,
                   default_branch=args.default_branch)


def run(ctx: Context, opts: Options) -> Cleaned:
    from ci_tags.output.text.janitor import JanitorLive
    from ci_tags.services.janitor.run import Janitor
    from ci_tags.services.janitor.targets import Rules, policy_of, targets
    from ci_tags.services.names import names_only_hosts

    path = Path(opts.config or "ci-tags.yml")
    config = None
    if opts.config is not None or not opts.repositories or path.is_file():
        config = load_image_set(ctx, str(path), need_registry=not names_only_hosts(opts.repositories))
    if config is None and opts.keep_current_of:
        raise BadInput("--keep-current-of needs the image set to hash",
                       hint="run where ci-tags.yml is, or pass --config")
    rules = Rules(max_age=opts.max_age, keep=opts.keep, keep_last=opts.keep_last,
                  keep_current_of=opts.keep_current_of, pipeline_id=opts.pipeline_id,
                  default_branch=opts.default_branch)
    policy = policy_of(rules, config, path, ctx.env, ctx.out.warn)
    janitor = Janitor(ctx.registries, lambda host: backend_from_options(ctx, host, opts.backend),
                      JanitorLive(ctx.out, dry_run=opts.dry_run), dry_run=opts.dry_run,
                      concurrency=ctx.concurrency, use_registry_api=opts.backend.kind == "oci")
    return janitor.run(targets(opts.repositories, config, policy))
