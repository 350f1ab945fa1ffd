"""``sync``'s I/O: read each image's state in both registries, plan it (``ci_tags.core.revisions``), and only when no
image has a problem, copy by metadata: static tags, the new revision, then the moving tag."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ci_tags.concurrency import run_all
from ci_tags.core.reference import Reference
from ci_tags.core.revisions import Action, ImagePlan, Observed, SyncSpec, output_document, plan_image, render_output
from ci_tags.errors import BadInput, CiTagsError, NotFound, OperationFailed
from ci_tags.oci.copy import CopyResult
from ci_tags.oci.registries import Registries
from ci_tags.oci.resolve import resolve_tags
from ci_tags.services.release.copying import copy_verified
from ci_tags.services.release.labels import image_labels


@dataclass
class SyncReport:
    spec: SyncSpec
    plans: list[ImagePlan]
    dry_run: bool
    done: dict[str, list[tuple[Action, CopyResult]]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    output: Path | None = None  # --output: written when every image is done (not in a dry run)

    @property
    def blocked(self) -> bool:
        return any(p.problems for p in self.plans)

    @property
    def failure(self) -> CiTagsError | None:
        if self.blocked:
            bad = [p for p in self.plans if p.problems]
            return OperationFailed(f"{self.spec.path}: {len(bad)} of {len(self.plans)} images have problems: "
                                   "nothing was written")
        if self.failures:
            return OperationFailed(f"{len(self.failures)} images failed; the others are done, re-running is safe")
        return None

    def document(self) -> Mapping[str, Any]:
        return {"file": str(self.spec.path), "dry_run": self.dry_run, "blocked": self.blocked,
                "images": [self._image(plan) for plan in self.plans], "output": output_document(self.spec, self.plans)}

    def _image(self, plan: ImagePlan) -> dict[str, Any]:
        item: dict[str, Any] = {
            "image": plan.image, "status": plan.status, "revision": plan.revision, "digest": plan.digest,
            "actions": [{"step": a.step, "tag": a.tag, "digest": a.digest, "from": a.source_tag}
                        for a in plan.actions],
        }
        if plan.static_present:
            item["static_up_to_date"] = dict(plan.static_present)
        if plan.problems:
            item["problems"] = list(plan.problems)
        if plan.image in self.failures:
            item["error"] = self.failures[plan.image]
        item["bytes_streamed"] = sum(r.bytes_streamed for _, r in self.done.get(plan.image, []))
        item["carried"] = [r.carried.document() for _, r in self.done.get(plan.image, []) if r.carried is not None]
        return item


def list_images(registries: Registries, spec: SyncSpec) -> list[str]:
    """The images to sync: the file's list, else the source namespace's repositories that include/exclude select."""
    if spec.images:
        return [i for i in spec.images if spec.selects(i)]
    prefix = spec.source.repository + "/"
    names = [r[len(prefix):] for r in registries.get(spec.source.api_host).catalog() if r.startswith(prefix)]
    return sorted(n for n in names if spec.selects(n))


def observe(registries: Registries, spec: SyncSpec, image: str, concurrency: int) -> Observed:
    src, dst = registries.get(spec.source.api_host), registries.get(spec.destination.api_host)
    src_repo, dst_repo = spec.source_repository(image), spec.destination_repository(image)
    try:
        try:
            manifest = src.get_manifest(src_repo, spec.track)
        except NotFound:
            manifest = None
        label = image_labels(src, src_repo, manifest).get(spec.label) if manifest else None
        try:
            dst_tags = dst.tags(dst_repo)
        except NotFound:  # the destination repository does not exist yet
            dst_tags = []
        revisions = {n: t for t in dst_tags if (n := spec.revision_of(t)) is not None}
        src_static: dict[str, str] = {}
        dst_static: dict[str, str] = {}
        if spec.static:
            wanted = [t for t in src.tags(src_repo) if spec.is_static(t)]
            src_static, errors = resolve_tags(src, src_repo, wanted, concurrency)
            there, more = resolve_tags(dst, dst_repo, [t for t in wanted if t in dst_tags], concurrency)
            if errors or more:
                raise next(iter({**errors, **more}.values()))
            dst_static = there
        highest: dict[int, str] = {}
        highest_label = None
        if revisions:
            n = max(revisions)
            top = dst.get_manifest(dst_repo, revisions[n])
            highest = {n: top.digest}
            highest_label = image_labels(dst, dst_repo, top).get(spec.label)
        track_digest = dst.head_manifest(dst_repo, spec.track) if spec.track in dst_tags else None
    except CiTagsError as exc:
        return Observed(image, None, None, {}, None, None, error=str(exc))
    return Observed(image, manifest.digest if manifest else None, label, highest, highest_label, track_digest,
                    src_static, dst_static)


def sync(registries: Registries, spec: SyncSpec, *, dry_run: bool, concurrency: int, output: Path | None = None,
         output_format: str = "yaml", referrers: bool = True) -> SyncReport:
    """Plan every image; write only when no image has a problem (and not in a dry run); then, when every image
    is done, ``output`` (image -> destination reference, revision tag and digest) in ``output_format``."""
    images = list_images(registries, spec)
    observed = run_all(lambda i: observe(registries, spec, i, 4), images, concurrency)
    report = SyncReport(spec, [plan_image(spec, seen) for _, seen, _ in observed if seen is not None], dry_run,
                        output=output)
    if not report.plans:
        raise BadInput(f"{spec.path}: no image of {spec.source.name} is selected")
    if dry_run or report.blocked:
        return report
    _copy(registries, report, concurrency, referrers)
    if output is not None and not report.failures:
        output.write_text(render_output(output_document(spec, report.plans), output_format))
    return report


def _copy(registries: Registries, report: SyncReport, concurrency: int, referrers: bool) -> None:
    """Each image's static tags, new revision and moving tag, by metadata; what each did or why it failed."""
    spec = report.spec

    def apply(plan: ImagePlan) -> list[tuple[Action, CopyResult]]:
        done = []
        src_name = Reference(spec.source.registry, spec.source_repository(plan.image))
        dst_name = Reference(spec.destination.registry, spec.destination_repository(plan.image))
        for action in plan.actions:
            # the source pinned by the digest that was planned: a tag moved meanwhile changes nothing here
            origin = dst_name if action.step == "move-track" else src_name
            result = copy_verified(registries, origin.with_digest(action.digest), dst_name.with_tag(action.tag),
                                   referrers=referrers)
            done.append((action, result))
        return done

    for plan, done, err in run_all(apply, [p for p in report.plans if p.actions], concurrency):
        if err is not None:
            report.failures[plan.image] = str(err)
        elif done is not None:
            report.done[plan.image] = done
