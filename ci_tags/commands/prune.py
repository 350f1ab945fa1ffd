"""``ci-tags prune NAMESPACE --repo-prefix PREFIX --tag TAG``: remove one tag (say a broken release) from every
repository of a namespace whose name starts with a prefix: Docker Hub namespaces, GitLab groups, or any OCI
registry's catalog. Prints each ``repo:tag removed`` as it goes."""

from __future__ import annotations

import argparse
from typing import Any

from ci_tags.commands.options import add_backend_options, backend_from_options
from ci_tags.concurrency import run_all
from ci_tags.context import Context
from ci_tags.core.hosts import DOCKER_HUB, DOCKER_HUB_HOSTS
from ci_tags.core.reference import validate_tag
from ci_tags.errors import BadInput, NotFound, OperationFailed

# shown under "examples:" by --help
EXAMPLES = """\
  ci-tags prune docker.io/linaro --repo-prefix ci- --tag broken-tag --dry-run
  ci-tags prune registry.gitlab.com/group --tag bad --backend gitlab --json
"""


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("namespace", metavar="NAMESPACE",
                   help="registry host and namespace: docker.io/linaro, registry.gitlab.com/group, host:5000/team")
    p.add_argument("--repo-prefix", default="", help="only repositories whose name starts with this")
    p.add_argument("--tag", required=True, help="the tag to remove")
    add_backend_options(p)
    p.add_argument("--dry-run", action="store_true", help="print what would be removed, remove nothing")


def run(ctx: Context) -> int:
    tag = validate_tag(ctx.args.tag)
    host, _, namespace = ctx.args.namespace.strip("/").partition("/")
    if not host or ("." not in host and ":" not in host and host != "localhost"):
        raise BadInput(f"{ctx.args.namespace!r} does not start with a registry host",
                       hint="e.g. docker.io/linaro or registry.gitlab.com/group")
    host = DOCKER_HUB if host in DOCKER_HUB_HOSTS else host
    backend = backend_from_options(ctx, host)
    repositories = backend.repositories(namespace, ctx.args.repo_prefix)
    if not repositories:  # a typo in the namespace or prefix must not pass for "nothing to prune"
        prefix = f" whose name starts with {ctx.args.repo_prefix!r}" if ctx.args.repo_prefix else ""
        raise NotFound(f"no repository under {ctx.args.namespace}{prefix}", hint="check the namespace and prefix")
    out = ctx.out
    verb = "would remove" if ctx.args.dry_run else "removed"

    def prune(repository: str) -> str:
        if ctx.args.dry_run:
            present = tag in backend.tag_names(repository)
            if present:
                out.line(f"{repository}:{tag} {verb}")
            return "removed" if present else "absent"
        try:
            backend.delete_tag(repository, tag)
        except NotFound:
            return "absent"
        out.line(f"{repository}:{tag} {verb}")
        return "removed"

    with out.progress(f"pruning {tag}", len(repositories)) as advance:
        def step(repository: str) -> str:
            result = prune(repository)
            advance()
            return result

        outcomes = run_all(step, repositories, ctx.concurrency)
    removed = [r for r, how, _ in outcomes if how == "removed"]
    absent = [r for r, how, _ in outcomes if how == "absent"]
    failed: dict[str, Any] = {r: str(err) for r, _, err in outcomes if err}
    for repository, why in failed.items():
        out.warn(f"{repository}:{tag}: {why}")
    if out.json_mode:
        out.json({"tag": tag, "dry_run": ctx.args.dry_run, "removed": removed, "absent": absent, "failed": failed,
                  "counts": {"repositories": len(repositories), "removed": len(removed), "absent": len(absent),
                             "failed": len(failed)}})
    else:
        out.line(f"{len(removed)} {verb}, {len(absent)} without {tag}, {len(failed)} failed, "
                 f"of {len(repositories)} repositories")
    if failed:
        raise OperationFailed(f"{len(failed)} of {len(repositories)} repositories failed; a re-run retries them")
    return 0
