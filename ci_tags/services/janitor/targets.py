"""What the janitor cleans and by which rules: the repositories named (or every image of ci-tags.yml, and their
layer cache repositories) and the :class:`~ci_tags.core.policy.Policy` of each, from the config and the options."""

from __future__ import annotations

import contextlib
import re
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ci_tags.core.policy import CONTENT, PIPELINE, Policy, template_regex
from ci_tags.core.reference import Reference, names_a_host, parse_reference, slugify
from ci_tags.core.times import parse_duration
from ci_tags.errors import BadInput
from ci_tags.flags import flag

if TYPE_CHECKING:
    from ci_tags.project.config import Config


@dataclass(frozen=True)
class Target:
    """One repository to clean; ``missing_ok``: it may not exist yet (an image of the set never pushed)."""

    ref: Reference
    missing_ok: bool
    policy: Policy


@dataclass(frozen=True, kw_only=True)
class Rules:
    """The janitor's options that make its policy (:func:`policy_of`), declared as its flags."""

    max_age: str | None = flag("--max-age",
                               help="remove pipeline and content tags older than this (default: config, 7d)")
    keep: tuple[str, ...] = flag("--keep", default=(), metavar="REGEX", help="never remove tags matching this")
    keep_last: int = flag("--keep-last", default=0, metavar="N", help="keep the N newest tags of each kind")
    keep_current_of: tuple[str, ...] = flag(
        "--keep-current-of", default=(), metavar="GIT_REF",
        help="also keep the current content tags of this git ref (e.g. origin/main)")
    pipeline_id: str | None = flag("--pipeline-id", hidden=True)
    default_branch: str | None = flag("--default-branch", hidden=True)


def content_tags(config: Config) -> set[str]:
    """The content tags of every image x arch of an image set."""
    from ci_tags.project.imageset import resolve

    return {t for i in resolve(config) for t in (i.content_tag, *(a.content_tag for a in i.arches))}


def current_tags_of(git_ref: str, config_path: Path, env: Mapping[str, str]) -> set[str]:
    """Content tags of every image as the checkout stands at ``git_ref``: a detached git worktree, so the files
    are exactly what a checkout of that ref holds (no export-ignore or export-subst as with git archive)."""
    from ci_tags.project.config import load_config

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
            return content_tags(load_config(tree / relative, env))
        finally:
            subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", str(tree)],
                           capture_output=True, check=False)


def _keep_patterns(patterns: Sequence[str]) -> tuple[re.Pattern[str], ...]:
    keep = []
    for pattern in patterns:
        try:
            keep.append(re.compile(pattern))
        except re.error as exc:
            raise BadInput(f"--keep {pattern!r} is not a valid regular expression: {exc}") from None
    return tuple(keep)


def policy_of(rules: Rules, config: Config | None, config_path: Path, env: Mapping[str, str],
              unreadable_ref: Callable[[BadInput], None]) -> Policy:
    """The policy of a run: the options over the config's defaults. A ``--keep-current-of`` ref that cannot be
    read (a shallow or merge-request fetch often lacks it) keeps every content tag, told to ``unreadable_ref``."""
    from ci_tags.ci.environment import detect_pipeline

    max_age = parse_duration(rules.max_age or (config.max_age if config else "7d"))
    keep = _keep_patterns([*(config.keep if config else ()), *rules.keep])
    if rules.keep_last < 0:
        raise BadInput("--keep-last must be 0 or more")
    if config is None:
        return Policy(max_age=max_age, content=template_regex("hash-{hash}", CONTENT),
                      pipeline=template_regex("pipeline-{pipeline_id}", PIPELINE), protected=frozenset({"latest"}),
                      keep_patterns=keep, keep_last=rules.keep_last)
    current = content_tags(config)
    keep_all_content = ""
    for ref in rules.keep_current_of:
        try:
            current |= current_tags_of(ref, config_path, env)
        except BadInput as exc:
            unreadable_ref(exc)
            keep_all_content = f"--keep-current-of {ref} could not be read: every content tag is kept"
    protected = {"latest", *config.publish}
    pipe = detect_pipeline(env, pipeline_id=rules.pipeline_id, default_branch=rules.default_branch)
    for branch in (pipe.branch, pipe.default_branch or config.default_branch):
        if branch:
            with contextlib.suppress(BadInput):
                protected.add(slugify(branch))
    return Policy(max_age=max_age, content=template_regex(config.tags.content, CONTENT),
                  pipeline=template_regex(config.tags.pipeline, PIPELINE), protected=frozenset(protected),
                  keep_patterns=keep, current=frozenset(current), keep_last=rules.keep_last,
                  keep_all_content=keep_all_content)


def _repositories(names: Sequence[str], config: Config | None) -> list[tuple[Reference, bool]]:
    """(repository, whether it may not exist yet) per name given, as ``hash`` and ``build`` take them: an image
    name of ci-tags.yml, or a full repository. Only an image of the set may be missing (never pushed yet: a first
    pipeline); with a ci-tags.yml, a bare name that is not one of its images is a typo, never a Docker Hub name."""
    if config is None:
        if not names:
            raise BadInput("no repositories: name them, or run where ci-tags.yml lists the images")
        return [(parse_reference(n), False) for n in names]
    ours = set() if config.registry_unset else {parse_reference(config.repository(n)).name for n in config.images}
    found = []
    for name in names or list(config.images):
        if name in config.images:
            found.append((parse_reference(config.repository(name)), True))
        elif not names_a_host(name):
            config.image(name)  # BadInput naming the file, with a "did you mean" hint
        else:
            ref = parse_reference(name)
            found.append((ref, ref.name in ours))
    return found


def targets(names: Sequence[str], config: Config | None, policy: Policy) -> list[Target]:
    """The repositories to clean, each with its policy. A layer cache repository (cache: registry) is ci-tags'
    own: every tag in it is a builder's cache key (64 hex digits), aged by its image's creation and bounded by
    the same max age; nothing in it is ever current. Cleaned when no repository is named."""
    found = [Target(ref, missing_ok, policy) for ref, missing_ok in _repositories(names, config)]
    caches = ({parse_reference(c).name for n in config.images if (c := config.cache_repository(n))}
              if config and not config.registry_unset else set())
    cache_policy = replace(policy, content=template_regex("{hash}", CONTENT), current=frozenset())
    found = [replace(t, policy=cache_policy) if t.ref.name in caches else t for t in found]
    if not names:
        found += [Target(parse_reference(c), True, cache_policy) for c in sorted(caches)]  # absent until pushed
    return found
