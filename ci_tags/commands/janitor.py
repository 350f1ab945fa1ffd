"""``ci-tags janitor [REPO...]``: the early job's cleanup. Removes pipeline tags older than --max-age, and
content tags older than it unless current; never a tag ci-tags does not make, a publish tag, a signature, or a
tag of unknown age (see ci_tags/core/policy.py). Then prints a report per repository.

The run is ci_tags/services/janitor/run.py; each repository goes through the one engine
(ci_tags/services/janitor/engine.py), over the registry API or the API of the backend its host calls for."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ci_tags.commands.options import BackendOptions, backend_from_options, load_image_set
from ci_tags.commands.texts import CONFIG_HELP
from ci_tags.context import Context
from ci_tags.errors import BadInput
from ci_tags.flags import flag, group, positional
from ci_tags.output import report
from ci_tags.output.text import Renderer
from ci_tags.output.text.janitor import cleaned
from ci_tags.services.janitor.run import Cleaned
from ci_tags.services.janitor.targets import Rules

EXAMPLES = """\
  ci-tags janitor --dry-run                   # every image of ./ci-tags.yml
  ci-tags janitor registry.example.com/group/app --max-age 14d --keep '^v[0-9]'
  ci-tags janitor --keep-current-of origin/main --json
"""


@dataclass(frozen=True, kw_only=True)
class Options:
    # given: it must exist; not given: ./ci-tags.yml if there (required without REPO)
    config: str | None = flag("--config", help=CONFIG_HELP)
    repositories: tuple[str, ...] = positional("REPO", nargs="*", help="default: every image of ci-tags.yml")
    rules: Rules = group(Rules)
    dry_run: bool = flag("--dry-run", default=False, help="print what a real run would remove; remove nothing")
    backend: BackendOptions = group(BackendOptions)


RENDERERS = (Renderer(Cleaned, cleaned, markdown=report.cleaned),)


def run(ctx: Context, opts: Options) -> Cleaned:
    from ci_tags.output.text.janitor import JanitorLive
    from ci_tags.services.janitor.run import Janitor
    from ci_tags.services.janitor.targets import policy_of, targets
    from ci_tags.services.names import names_only_hosts

    path = Path(opts.config or "ci-tags.yml")
    config = None
    if opts.config is not None or not opts.repositories or path.is_file():
        config = load_image_set(ctx, str(path), need_registry=not names_only_hosts(opts.repositories))
    if config is None and opts.rules.keep_current_of:
        raise BadInput("--keep-current-of needs the image set to hash",
                       hint="run where ci-tags.yml is, or pass --config")
    live = JanitorLive(ctx.out, dry_run=opts.dry_run)
    policy = policy_of(opts.rules, config, path, ctx.env, live.unreadable_ref)
    janitor = Janitor(ctx.registries, lambda host: backend_from_options(ctx, host, opts.backend), live,
                      dry_run=opts.dry_run,
                      concurrency=ctx.concurrency, use_registry_api=opts.backend.kind == "oci")
    return janitor.run(targets(opts.repositories, config, policy))
