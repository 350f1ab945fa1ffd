"""``ci-tags janitor [REPO...]``: the early job's cleanup. Removes pipeline tags older than --max-age, and
content tags older than it unless current; never a tag ci-tags does not make, a publish tag, a signature, or a
tag of unknown age (see ci_tags/core/policy.py). Then prints a report per repository.

Through the registry API (ci_tags/services/janitor/registry_api.py), or, where ``--backend`` picks one,
through Docker Hub's or GitLab's API (ci_tags/services/janitor/service_api.py,
which says where each service's tag ages come from)."""

from __future__ import annotations

import argparse
import contextlib
import re
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from ci_tags.backends import HUB_HOSTS, has, spec_of
from ci_tags.commands.options import add_backend_options, add_config_option, backend_from_options, load, pipeline
from ci_tags.context import Context
from ci_tags.core.policy import (
    CONTENT,
    PIPELINE,
    Decision,
    Policy,
    Summary,
    TagInfo,
    decide,
    parse_duration,
    template_regex,
)
from ci_tags.core.reference import DOCKER_HUB, Reference, parse_reference, slugify
from ci_tags.errors import BadInput, NotFound, OperationFailed
from ci_tags.output import Output

if TYPE_CHECKING:
    from ci_tags.backends.base import Backend
    from ci_tags.project.config import Config
    from ci_tags.services.janitor.registry_api import Outcome


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


def _current_tags_of(ctx: Context, git_ref: str, config_path: Path) -> set[str]:
    """Content tags of every image as the checkout stands at ``git_ref``: a detached git worktree, so the files
    are exactly what a checkout of that ref holds (no export-ignore or export-subst as with git archive)."""
    from ci_tags.project.config import load_config
    from ci_tags.project.imageset import resolve

    top = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True,
                         cwd=config_path.resolve().parent, check=False)
    if top.returncode != 0:
        raise BadInput(f"--keep-current-of {git_ref}: {config_path} is not in a git checkout")
    root = Path(top.stdout.strip()).resolve()
    try:
        relative = config_path.resolve().relative_to(root)
    except ValueError:
        raise BadInput(f"--keep-current-of {git_ref}: {config_path} is outside the checkout {root}") from None
    with tempfile.TemporaryDirectory(prefix="ci-tags-ref-") as tmp:
        tree = Path(tmp) / "tree"
        done = subprocess.run(["git", "-C", str(root), "worktree", "add", "--detach", "--quiet", str(tree),
                               git_ref], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise BadInput(f"--keep-current-of {git_ref}: git cannot check that ref out",
                           hint=done.stderr.strip().splitlines()[-1] if done.stderr.strip() else None)
        try:
            config = load_config(tree / relative, ctx.env)
            return {t for i in resolve(config) for t in (i.content_tag, *(a.content_tag for a in i.arches))}
        finally:
            subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", str(tree)],
                           capture_output=True, check=False)


def run(ctx: Context) -> int:
    args = ctx.args
    explicit = args.config is not None
    args.config = args.config or "ci-tags.yml"
    config = load(ctx) if (explicit or not args.repositories or Path(args.config).is_file()) else None
    if config is None and args.keep_current_of:
        raise BadInput("--keep-current-of needs the image set to hash",
                       hint="run where ci-tags.yml is, or pass --config")
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
    keep_all_content = ""
    protected = {"latest"}
    content_template, pipeline_template = "hash-{hash}", "pipeline-{pipeline_id}"
    if config is not None:
        from ci_tags.project.imageset import resolve

        current = {t for i in resolve(config) for t in (i.content_tag, *(a.content_tag for a in i.arches))}
        protected |= set(config.publish)
        content_template, pipeline_template = config.tags.content, config.tags.pipeline
        for ref in args.keep_current_of:
            try:
                current |= _current_tags_of(ctx, ref, Path(args.config))
            except BadInput as exc:  # a shallow or merge-request fetch often lacks the ref: keep, do not stop
                ctx.out.warn(f"{exc}; every content tag is kept")
                keep_all_content = f"--keep-current-of {ref} could not be read: every content tag is kept"
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
        keep_all_content=keep_all_content,
    )
    refs = _repositories(args.repositories, config)
    # A layer cache repository (cache: registry) is ci-tags' own: every tag in it is a builder's cache key (64 hex
    # digits), aged by its image's creation and bounded by the same max age; nothing in it is ever current.
    caches = {parse_reference(c).name for n in config.images if (c := config.cache_repository(n))} if config else set()
    if not args.repositories:
        refs += [(parse_reference(c), True) for c in sorted(caches)]  # absent until a cached build pushes
    cache_policy = replace(policy, content=template_regex("{hash}", CONTENT), current=frozenset())
    return _clean(ctx, refs, policy, {c: cache_policy for c in caches})


def _names_a_host(name: str) -> bool:
    """Whether a reference starts with a registry host (Docker's rule: a first part with '.' or ':', or
    localhost); otherwise Docker would send it to Docker Hub."""
    first, slash, _ = name.partition("/")
    return bool(slash) and ("." in first or ":" in first or first == "localhost")


def _repositories(names: list[str], config: Config | None) -> list[tuple[Reference, bool]]:
    """(repository, whether it may not exist yet) per name given, as ``hash`` and ``build`` take them: an image
    name of ci-tags.yml, or a full repository. Only an image of the set may be missing (never pushed yet: a first
    pipeline); with a ci-tags.yml, a bare name that is not one of its images is a typo, never a Docker Hub name."""
    if config is None:
        if not names:
            raise BadInput("no repositories: name them, or run where ci-tags.yml lists the images")
        return [(parse_reference(n), False) for n in names]
    ours = {parse_reference(config.repository(n)).name for n in config.images}
    found = []
    for name in names or list(config.images):
        if name in config.images:
            found.append((parse_reference(config.repository(name)), True))
        elif not _names_a_host(name):
            config.image(name)  # BadInput naming the file, with a "did you mean" hint
        else:
            ref = parse_reference(name)
            found.append((ref, ref.name in ours))
    return found


def _backend(ctx: Context, ref: Reference, chosen: dict[str, Backend | None]) -> Backend | None:
    """The API to clean ``ref`` through, once per host; None for the OCI registry API (stamps, safe untag)."""
    host = DOCKER_HUB if ref.registry in HUB_HOSTS else ref.registry
    if host not in chosen:
        args = ctx.args
        backend: Backend | None = None
        if args.backend != "oci":
            backend = backend_from_options(ctx, host)
        if backend is not None and not (has(backend, "deletes-by-tag") and has(backend, "dates-tags")):
            backend = None  # the registry API: the path that reads stamps and untags safely
        if backend is not None:
            ctx.out.info(f"{host}: tags listed, dated and removed through the {spec_of(backend).api}")
        chosen[host] = backend
    return chosen[host]


class _RemovalProgress:
    """A progress bar over one repository's removals, shown once the decisions say how many there are."""

    def __init__(self, out: Output, name: str, stack: contextlib.ExitStack, dry_run: bool) -> None:
        self.out, self.name, self.stack, self.dry_run = out, name, stack, dry_run
        self.label = f"removing tags of {name}"
        self._advance: Callable[[], None] = lambda: None

    def decided(self, decisions: list[Decision]) -> list[Decision]:
        doomed = sum(1 for d in decisions if d.delete)
        if doomed and not self.dry_run:
            self._advance = self.stack.enter_context(self.out.progress(self.label, doomed))
        return decisions

    def removed(self, repository: str, decision: Decision) -> None:
        """Printed as it happens, so a CI log (and a job killed by its timeout) shows every removal made."""
        self.out.line(f"removed {self.name}:{decision.tag} ({decision.reason}: {decision.detail})")
        self._advance()


def _clean_one(ctx: Context, ref: Reference, policy: Policy, now: datetime,
               chosen: dict[str, Backend | None], missing_ok: bool, stop: threading.Event) -> Outcome:
    from ci_tags.services.janitor.registry_api import clean_repository

    backend = _backend(ctx, ref, chosen)
    with contextlib.ExitStack() as stack:
        progress = _RemovalProgress(ctx.out, ref.name, stack, ctx.args.dry_run)

        def decided(infos: list[TagInfo]) -> list[Decision]:
            return progress.decided(decide(infos, policy, now))

        if backend is None:
            return clean_repository(ctx.registries.get(ref.api_host), ref.repository, decided, policy,
                                    dry_run=ctx.args.dry_run, concurrency=ctx.concurrency,
                                    on_removed=progress.removed, missing_ok=missing_ok, now=now, stop=stop)
        from ci_tags.services.janitor.service_api import clean_with_backend

        return clean_with_backend(backend, ref.name, decided, policy, dry_run=ctx.args.dry_run,
                                  concurrency=ctx.concurrency,
                                  registry=lambda: (ctx.registries.get(ref.api_host), ref.repository),
                                  on_removed=progress.removed, missing_ok=missing_ok, now=now, stop=stop)


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[tuple[threading.Event, list[int]]]:
    """SIGTERM (a job's timeout or cancel) and SIGINT set the event: no removal starts after it, those in flight
    finish, and the summary is printed. Signal handlers can only be set from the main thread; elsewhere (an
    embedding program) the signals keep their own handling."""
    stop, received = threading.Event(), []

    def handler(signum: int, frame: object) -> None:
        received.append(signum)
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        yield stop, received
        return
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop, received
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _clean(ctx: Context, refs: list[tuple[Reference, bool]], policy: Policy,
           policies: Mapping[str, Policy] | None = None) -> int:
    """Clean each repository with ``policy``, or its own from ``policies`` (by repository name)."""
    now = datetime.now(timezone.utc)
    chosen: dict[str, Backend | None] = {}
    outcomes: list[tuple[str, Outcome]] = []
    missing: list[str] = []
    with _stop_on_signals() as (stop, received):
        for ref, missing_ok in refs:
            if stop.is_set():
                break
            try:
                own = (policies or {}).get(ref.name, policy)
                outcome = _clean_one(ctx, ref, own, now, chosen, missing_ok, stop)
            except NotFound as exc:  # a typo must not pass for a clean repository
                ctx.out.warn(str(exc))
                missing.append(ref.name)
                continue
            _print_outcome(ctx.out, ref.name, outcome, ctx.args.dry_run)
            outcomes.append((ref.name, outcome))
    if received:
        name = signal.Signals(received[0]).name
        left = sum(len(o.not_started) for _, o in outcomes) + len(refs) - len(outcomes) - len(missing)
        ctx.out.warn(f"{name}: stopped starting removals; the summary below is what was done "
                     f"({left} tags or repositories left for the next run)")
        _report(ctx.out, outcomes, ctx.args.dry_run, raise_on_failure=False)
        return 128 + received[0]
    _report(ctx.out, outcomes, ctx.args.dry_run)
    if missing:
        raise NotFound(f"no such repository: {', '.join(missing)}",
                       hint="a repository is created by its first push; check the name")
    return 0


def _removed(outcome: Outcome, dry_run: bool) -> list[str]:
    """The tags a real run removed, or the ones a dry run would remove."""
    return [d.tag for d in outcome.decisions if d.delete] if dry_run else outcome.removed


def _cause(tag: str, why: str) -> str:
    """A failure's message with its tag taken out, so that one cause (a registry refusing deletes) reads as one
    line however many tags it hit."""
    return why.replace(f":{tag}", ":<tag>").replace(f"/{tag}", "/<tag>").replace(f" {tag}", " <tag>")


def _print_outcome(out: Output, name: str, outcome: Outcome, dry_run: bool) -> None:
    if dry_run:  # a real run printed each removal as it happened
        for d in outcome.decisions:
            if d.delete:
                out.line(f"would remove {name}:{d.tag} ({d.reason}: {d.detail})")
    causes: dict[str, list[str]] = {}
    for tag, why in sorted(outcome.failed.items()):
        causes.setdefault(_cause(tag, why), []).append(tag)
    for cause, tags in causes.items():
        few = ", ".join(tags[:3]) + (f" and {len(tags) - 3} more" if len(tags) > 3 else "")
        out.warn(f"{name}: {len(tags)} tag(s) not removed ({few}): {cause}" if len(tags) > 1
                 else f"{name}:{tags[0]}: {outcome.failed[tags[0]]}")
    for tag in outcome.restored:
        out.warn(f"{name}:{tag} vanished with a removed tag and was put back")
    for tag in outcome.vanished:
        out.warn(f"{name}:{tag} was kept but is gone: removed by someone else during the run")
    for tag in outcome.moved:
        out.warn(f"{name}:{tag} was tagged again during the run (someone else's now): left as it is")


def _report(out: Output, outcomes: list[tuple[str, Outcome]], dry_run: bool, raise_on_failure: bool = True) -> int:
    """The table (or JSON document) of every repository; OperationFailed when any tag failed."""
    rows, report, failures = [], [], 0
    for name, outcome in outcomes:
        removed = _removed(outcome, dry_run)
        failures += len(outcome.failed)
        summary = Summary.of(outcome.decisions)
        kept = ", ".join(f"{n} {reason}" for reason, n in sorted(summary.kept.items())) or "-"
        rows.append([name, len(removed), len(outcome.failed), kept])
        report.append({
            "repository": name,
            "removed": removed,
            "failed": outcome.failed,
            "restored": outcome.restored,
            "vanished": outcome.vanished,
            "moved": outcome.moved,
            "kept": {d.tag: d.reason for d in outcome.decisions if not d.delete},
            "unreadable": outcome.unreadable,
            "not_started": outcome.not_started,
        })
    out.table("ci-tags janitor" + (" (dry run)" if dry_run else ""),
              ["repository", "removed" if not dry_run else "to remove", "failed", "kept (why)"], rows)
    if out.json_mode:
        out.json({"dry_run": dry_run, "repositories": report,
                  "counts": {"removed": sum(len(r["removed"]) for r in report), "failed": failures}})
    if failures and raise_on_failure:
        raise OperationFailed(f"{failures} tags could not be removed or checked; a re-run retries them")
    return 0
