"""``ci-tags prune NAMESPACE --repo-prefix PREFIX --tag TAG``: remove one tag (say a broken release) from every
repository of a namespace whose name starts with a prefix: Docker Hub namespaces, GitLab groups, or any OCI
registry's catalog. Prints each ``repo:tag removed`` as it goes."""

from __future__ import annotations

from dataclasses import dataclass

from ci_tags.commands.options import BackendOptions, backend_from_options
from ci_tags.context import Context
from ci_tags.core.hosts import DOCKER_HUB, DOCKER_HUB_HOSTS
from ci_tags.core.reference import validate_tag
from ci_tags.errors import BadInput
from ci_tags.flags import flag, group, positional
from ci_tags.output.text import Renderer
from ci_tags.output.text.janitor import pruned
from ci_tags.services.prune import Pruned

EXAMPLES = """\
  ci-tags prune docker.io/linaro --repo-prefix ci- --tag broken-tag --dry-run
  ci-tags prune registry.gitlab.com/group --tag bad --backend gitlab --json
"""


@dataclass(frozen=True, kw_only=True)
class Options:
    namespace: str = positional("NAMESPACE", help="registry host and namespace: docker.io/linaro, "
                                "registry.gitlab.com/group, host:5000/team")
    repo_prefix: str = flag("--repo-prefix", default="", help="only repositories whose name starts with this")
    tag: str = flag("--tag", required=True, help="the tag to remove")
    backend: BackendOptions = group(BackendOptions)
    dry_run: bool = flag("--dry-run", default=False, help="print what would be removed, remove nothing")


RENDERERS = (Renderer(Pruned, pruned),)


def run(ctx: Context, opts: Options) -> Pruned:
    from ci_tags.output.text.janitor import PruneLive
    from ci_tags.services.prune import prune

    tag = validate_tag(opts.tag)
    host, _, namespace = opts.namespace.strip("/").partition("/")
    if not host or ("." not in host and ":" not in host and host != "localhost"):
        raise BadInput(f"{opts.namespace!r} does not start with a registry host",
                       hint="e.g. docker.io/linaro or registry.gitlab.com/group")
    host = DOCKER_HUB if host in DOCKER_HUB_HOSTS else host
    backend = backend_from_options(ctx, host, opts.backend)
    return prune(backend, namespace, opts.repo_prefix, tag, PruneLive(ctx.out, tag, dry_run=opts.dry_run),
                 dry_run=opts.dry_run, concurrency=ctx.concurrency, where=opts.namespace)
