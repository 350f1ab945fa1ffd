"""The final job's work: move each image's publish tags to this pipeline's image, only on the default branch, only
when every image has its pipeline tag and the CI API (if asked) reports success, and never back in time, also when
publishes run at once (ci_tags/core/publishing.py: intents). A tag that already holds the image stays as it is.

Every write is per tag: a tag whose read or PUT fails is reported failed, and the other tags and images go on;
the run then ends with a summary and exit 1, and a re-run settles what is left."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ci_tags.core.manifest import (
    ANNOTATION_CREATED,
    ANNOTATION_KIND,
    ANNOTATION_PIPELINE,
    ANNOTATION_PUBLISH_TAGS,
    ANNOTATION_REVISION,
    ANNOTATION_TARGET,
    Manifest,
    stamp_of,
    stamped_index,
)
from ci_tags.core.publishing import (
    INTENT_PREFIX,
    KEEP,
    MOVE,
    UNCHANGED,
    Intent,
    TagOrigin,
    intent_tag,
    newest,
    origin_from,
    pipeline_gate,
    settle,
)
from ci_tags.core.reference import Reference, parse_reference, slugify, validate_tag
from ci_tags.errors import CiTagsError, OperationFailed

if TYPE_CHECKING:
    from ci_tags.ci.environment import Pipeline
    from ci_tags.oci.client import Registry
    from ci_tags.oci.http import Http
    from ci_tags.oci.registries import Registries
    from ci_tags.project.config import Config

Ancestry = Callable[[str, str], "bool | None"]
FAILED = "failed"
MAX_ROUNDS = 5  # re-reads of the intents after a PUT; more means publishers keep arriving: a later run settles it


@dataclass(frozen=True)
class TagMove:
    """One publish tag of one image: MOVE, UNCHANGED, KEEP or FAILED, and why."""

    image: str
    repository: str  # the image's repository as the config names it, for people
    tag: str
    status: str
    reason: str | None = None
    digest: str | None = None  # what a move of ours put there
    error: str | None = None

    def document(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"image": self.image, "tag": self.tag, "status": self.status,
                                 "move": self.status == MOVE}
        for key in ("reason", "digest", "error"):
            if getattr(self, key) is not None:
                entry[key] = getattr(self, key)
        return entry


@dataclass(frozen=True)
class Published:
    """The gate let this pipeline publish: what each publish tag of each image did."""

    dry_run: bool
    reason: str  # the gate's
    moves: tuple[TagMove, ...]
    errors: Mapping[str, str] = field(default_factory=dict)  # image -> why (some of) its tags failed
    repositories: Mapping[str, str] = field(default_factory=dict)  # image -> its repository, in config order

    @property
    def failure(self) -> CiTagsError | None:
        if not self.errors:
            return None
        return OperationFailed(f"{len(self.errors)} of {len(self.repositories)} images could not be published; "
                               "a re-run settles them")

    def document(self) -> Mapping[str, Any]:
        moved = any(m.status == MOVE for m in self.moves)
        return {"published": moved and not self.dry_run, "dry_run": self.dry_run, "reason": self.reason,
                "unchanged": all(m.status == UNCHANGED for m in self.moves),
                "moves": [m.document() for m in self.moves], **({"errors": dict(self.errors)} if self.errors else {})}


@dataclass(frozen=True)
class NotPublished:
    """The gate said no (not the default branch, a half-built set, a failed job): nothing moves, exit 0."""

    dry_run: bool
    reason: str
    failure: CiTagsError | None = None

    def document(self) -> Mapping[str, Any]:
        return {"published": False, "dry_run": self.dry_run, "reason": self.reason, "moves": []}


@dataclass(frozen=True)
class PipelineTagsUnread:
    """Some pipeline tags could not be read: deciding without them could publish a half-built set."""

    pipeline_tag: str
    errors: Mapping[str, CiTagsError]  # image -> the read's error
    images: int

    @property
    def failure(self) -> CiTagsError:
        return OperationFailed(f"could not read the pipeline tag of {len(self.errors)} of {self.images} images; "
                               "nothing was published")

    def document(self) -> Mapping[str, Any]:
        return {"published": False, "reason": "could not read the pipeline tags", "moves": [],
                "errors": {n: str(e) for n, e in self.errors.items()}}


def is_ancestor(root: Path) -> Ancestry:
    """``is_ancestor(a, b)`` by git in the checkout; None when git cannot tell (shallow clone, no git)."""

    import subprocess  # here: ``publish --help`` starts without it

    def ask(a: str, b: str) -> bool | None:
        try:
            done = subprocess.run(["git", "-C", str(root), "merge-base", "--is-ancestor", a, b],
                                  capture_output=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return {0: True, 1: False}.get(done.returncode)

    return ask


def ci_status(env: Mapping[str, str], pipe: Pipeline, http: Http) -> tuple[bool | None, tuple[str, ...]]:
    """Ask the CI API whether every other job succeeded, where a token that can read the pipeline is given."""
    if pipe.system == "gitlab" and env.get("CI_TAGS_GITLAB_TOKEN"):
        from ci_tags.ci.gitlab import check_gitlab_pipeline

        status = check_gitlab_pipeline(pipe, env["CI_TAGS_GITLAB_TOKEN"], http=http)
    elif pipe.system == "jenkins" and env.get("CI_TAGS_JENKINS_TOKEN"):
        from ci_tags.ci.jenkins import check_jenkins_build

        status = check_jenkins_build(pipe, pipe.api_url, env.get("CI_TAGS_JENKINS_USER"), env["CI_TAGS_JENKINS_TOKEN"],
                                     http=http)
    else:
        return None, ()
    if not status.checked:
        return None, status.reasons
    return status.ok, status.reasons


def publish_tags(config: Config, pipe: Pipeline, requested: Sequence[str]) -> list[str]:
    """The tags to publish (--tag, else the config's, plus the branch slug where asked). Everything a write will
    name is checked before the first write: a bad --tag must leave nothing half done."""
    tags = list(dict.fromkeys(requested or config.publish))
    if config.publish_branch_slug and pipe.branch:
        tags.append(slugify(pipe.branch))
    for tag in [*tags, intent_tag(pipe.require_id())]:
        validate_tag(tag)
    return tags


def publish(registries: Registries, config: Config, pipe: Pipeline, env: Mapping[str, str], *,
            requested_tags: Sequence[str], dry_run: bool,
            concurrency: int) -> Published | NotPublished | PipelineTagsUnread:
    """Read every image's pipeline tag, ask the gate, then settle each image's publish tags."""
    from ci_tags.concurrency import run_all

    pipeline_id = pipe.require_id()
    pipeline_tag = config.tags.pipeline_tag(pipeline_id)
    tags = publish_tags(config, pipe, requested_tags)
    names = list(config.images)
    refs = {name: parse_reference(config.repository(name)) for name in names}
    fetched = run_all(lambda n: _fetch(registries.get(refs[n].api_host), refs[n].repository, pipeline_tag),
                      names, concurrency)
    unread = {name: err for name, _, err in fetched if err is not None}
    if unread:
        return PipelineTagsUnread(pipeline_tag, unread, len(names))
    found = {name: m for name, m, _ in fetched}
    ci_ok, ci_reasons = ci_status(env, pipe, registries.http)
    gate = pipeline_gate(pipe, [n for n in names if found.get(n) is None], ci_status_ok=ci_ok,
                         ci_status_reasons=ci_reasons)
    if not gate.go:
        return NotPublished(dry_run, gate.reason)
    ours = origin_from({ANNOTATION_PIPELINE: pipeline_id, ANNOTATION_REVISION: pipe.commit or ""}, None)
    ancestor = is_ancestor(config.root)
    moves: list[TagMove] = []
    errors: dict[str, str] = {}
    for name in names:
        source = found[name]
        assert source is not None
        publisher = _ImagePublisher(registries.get(refs[name].api_host), refs[name], name, config.repository(name),
                                    concurrency=concurrency, dry_run=dry_run, ancestor=ancestor)
        image_moves, error = publisher.publish(source, tags, ours)
        moves += image_moves
        if error is not None:
            errors[name] = error
    return Published(dry_run, gate.reason, tuple(moves), errors, {n: config.repository(n) for n in names})


def _fetch(registry: Registry, repository: str, tag: str) -> Manifest | None:
    from ci_tags.oci.stamp import fetch

    return fetch(registry, repository, tag)


def _intent_of(tag: str, manifest: Manifest) -> Intent | None:
    notes = stamp_of(manifest)
    if not notes or notes.get(ANNOTATION_KIND) != "intent":
        return None
    wanted = tuple(t for t in notes.get(ANNOTATION_PUBLISH_TAGS, "").split(",") if t)
    return Intent(tag, origin_from(notes, None), notes.get(ANNOTATION_CREATED, ""),
                  notes.get(ANNOTATION_TARGET, manifest.digest), wanted)


class _ImagePublisher:
    """Publishes one image: records this pipeline's intent in its repository, then settles each publish tag on
    the newest intent, re-reading after every PUT until nothing moves."""

    def __init__(self, registry: Registry, ref: Reference, name: str, repository: str, *, concurrency: int,
                 dry_run: bool, ancestor: Ancestry) -> None:
        self.registry, self.repository, self.name, self.shown = registry, ref.repository, name, repository
        self.concurrency, self.dry_run, self.ancestor = concurrency, dry_run, ancestor

    def publish(self, source: Manifest, tags: list[str], ours: TagOrigin) -> tuple[list[TagMove], str | None]:
        """One entry per tag, and the first error met (None: every tag settled)."""
        try:
            mine, own = self._record_intent(source, tags, ours)
        except CiTagsError as exc:  # no intent, nothing moved: every tag of the image failed
            return [self._failed(t, exc) for t in tags], str(exc)
        own_intent = _intent_of(mine, own)
        assert own_intent is not None
        entries: dict[str, TagMove] = {}
        moved_by_us: dict[str, tuple[str, str]] = {}  # tag -> (why, digest) of our own move
        for _ in range(MAX_ROUNDS):
            try:
                intents = self._read_intents()
            except CiTagsError as exc:  # what earlier rounds did stands; the rest a re-run settles
                return [entries.get(t) or self._failed(t, exc) for t in tags], str(exc)
            intents[mine] = (own_intent, own)  # ours counts even before a listing shows it
            wrote = False
            for tag in tags:
                if entries.get(tag) is not None and entries[tag].status == FAILED:
                    continue  # failed once: a re-run, not this loop, retries it
                entries[tag], moved = self._settle(tag, intents, mine, moved_by_us)
                wrote = wrote or moved
            if self.dry_run or not wrote:
                break
        failed = [m.error for m in entries.values() if m.status == FAILED]
        return [entries[t] for t in tags], failed[0] if failed else None

    def _record_intent(self, source: Manifest, tags: list[str], ours: TagOrigin) -> tuple[str, Manifest]:
        """Put this pipeline's intent under ``ci-tags-intent-<id>`` (a dry run only builds it)."""
        from ci_tags.core.times import now_rfc3339
        from ci_tags.oci.stamp import stamp

        mine = intent_tag(ours.pipeline_id or "")
        notes = {k: v for k, v in (stamp_of(source) or {}).items() if k not in (ANNOTATION_CREATED, ANNOTATION_KIND)}
        intent_notes = {**notes, ANNOTATION_KIND: "intent", ANNOTATION_PIPELINE: ours.pipeline_id or "",
                        ANNOTATION_PUBLISH_TAGS: ",".join(tags),
                        **({ANNOTATION_REVISION: ours.revision} if ours.revision else {})}
        if self.dry_run:
            return mine, stamped_index(source, None, {ANNOTATION_CREATED: now_rfc3339(), **intent_notes})
        return mine, stamp(self.registry, self.repository, source, mine, intent_notes)

    def _read_intents(self) -> dict[str, tuple[Intent, Manifest]]:
        """Every publisher's intent in the repository. A read that fails fails the image: deciding without an
        intent could move a tag back in time."""
        from ci_tags.concurrency import run_all

        names = [t for t in self.registry.tags(self.repository) if t.startswith(INTENT_PREFIX)]
        found: dict[str, tuple[Intent, Manifest]] = {}
        for tag, manifest, err in run_all(lambda t: _fetch(self.registry, self.repository, t), names,
                                          self.concurrency):
            if err is not None:
                raise err
            intent = _intent_of(tag, manifest) if manifest is not None else None
            if intent is not None and manifest is not None:
                found[tag] = (intent, manifest)
        return found

    def _current(self, tag: str) -> tuple[TagOrigin | None, str | None]:
        """Who put the publish tag where it is, and the digest of the image it stands for; (None, None) if
        absent."""
        from ci_tags.oci.image import read_config

        current = _fetch(self.registry, self.repository, tag)
        if current is None:
            return None, None
        notes = stamp_of(current)
        labels = None
        if notes is None and not current.is_index:
            labels = read_config(self.registry, self.repository, current).labels
        return origin_from(notes, labels), (notes or {}).get(ANNOTATION_TARGET, current.digest)

    def _settle(self, tag: str, intents: dict[str, tuple[Intent, Manifest]], mine: str,
                moved_by_us: dict[str, tuple[str, str]]) -> tuple[TagMove, bool]:
        """Settle one publish tag on the newest intent naming it; the entry, and whether a PUT was made."""
        from ci_tags.oci.stamp import stamp

        winner = newest([i for i, _ in intents.values() if tag in i.publish_tags], self.ancestor)
        assert winner is not None  # our own intent names every tag
        try:
            origin, target = self._current(tag)
            action, reason = settle(winner, origin, target, self.ancestor)
            if action == MOVE and not self.dry_run:
                _, manifest = intents[winner.tag]
                winner_notes = {k: v for k, v in (stamp_of(manifest) or {}).items()
                                if k not in (ANNOTATION_PUBLISH_TAGS, ANNOTATION_CREATED)}
                published = stamp(self.registry, self.repository, manifest, tag,
                                  {**winner_notes, ANNOTATION_KIND: "publish"})
                if winner.tag == mine:
                    moved_by_us[tag] = (reason, published.digest)
        except CiTagsError as exc:  # this tag's read or PUT failed: the other tags go on
            return self._failed(tag, exc), False
        wrote = action == MOVE and not self.dry_run
        if winner.tag != mine:
            return self._entry(tag, KEEP, f"a later pipeline {winner.origin.pipeline_id} publishes it"), wrote
        if tag in moved_by_us:
            why, digest = moved_by_us[tag]
            return self._entry(tag, MOVE, why, digest), wrote
        # a dry run's MOVE, UNCHANGED, or KEEP (the tag shows something later than every intent)
        return self._entry(tag, action, reason), wrote

    def _entry(self, tag: str, status: str, reason: str, digest: str | None = None) -> TagMove:
        return TagMove(self.name, self.shown, tag, status, reason=reason, digest=digest)

    def _failed(self, tag: str, exc: CiTagsError) -> TagMove:
        return TagMove(self.name, self.shown, tag, FAILED, error=str(exc))
