"""``prepare``'s I/O: for each image of the list, the entry that decides it (``ci_tags.core.tripleo``), its source's
digest and labels (config blob only, no layer), the discovered tag, and where it is pushed; copies only when no
image has a problem."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ci_tags.concurrency import run_all
from ci_tags.core.reference import Reference
from ci_tags.core.tripleo import ImageRequest, PrepareFile, choose, destination, discovered_tag
from ci_tags.errors import BadInput, CiTagsError, NotFound, OperationFailed
from ci_tags.oci.copy import CopyResult
from ci_tags.oci.registries import Registries
from ci_tags.services.release.copying import copy_verified
from ci_tags.services.release.labels import image_labels


@dataclass
class PreparedImage:
    request: ImageRequest
    source: Reference | None = None  # as the entry names it
    digest: str | None = None
    tag: str | None = None  # the discovered tag
    target: Reference | None = None  # where it is pushed (None: not pushed)
    target_digest: str | None = None  # what the target holds now
    entry: int | None = None
    problem: str | None = None

    @property
    def action(self) -> str:
        if self.problem:
            return "problem"
        if self.target is None:
            return "not pushed"
        if self.target_digest is None:
            return "copy"
        return "nothing"

    @property
    def reference(self) -> str:
        """What the parameters get: the pushed reference, else the source under the discovered tag."""
        if self.target is not None:
            return str(self.target)
        assert self.source is not None and self.tag is not None
        return str(self.source.with_tag(self.tag))


@dataclass
class PrepareReport:
    images: list[PreparedImage]
    dry_run: bool
    output: Path  # the environment file, written when every copy is done (not in a dry run)
    copies: dict[str, CopyResult] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def blocked(self) -> bool:
        return any(i.problem for i in self.images)

    def parameters(self) -> dict[str, str]:
        return {p: i.reference for i in self.images for p in i.request.params}

    @property
    def failure(self) -> CiTagsError | None:
        if self.blocked:
            bad = sum(1 for i in self.images if i.problem)
            return OperationFailed(f"{bad} of {len(self.images)} images have problems: nothing was written")
        if self.failures:
            return OperationFailed(f"{len(self.failures)} copies failed; {self.output} was not written; "
                                   "re-running is safe")
        return None

    def document(self) -> Mapping[str, Any]:
        images = []
        for i in self.images:
            entry: dict[str, Any] = {"image": i.request.image, "params": list(i.request.params), "action": i.action,
                                     "source": str(i.source) if i.source else None, "digest": i.digest,
                                     "tag": i.tag, "entry": i.entry, "target": str(i.target) if i.target else None}
            copied = self.copies.get(str(i.target))
            if copied is not None and copied.carried is not None:
                entry["carried"] = copied.carried.document()
            if i.problem:
                entry["problem"] = i.problem
            else:
                entry["reference"] = i.reference
            images.append(entry)
        return {"dry_run": self.dry_run, "blocked": self.blocked, "images": images,
                "parameter_defaults": {} if self.blocked else self.parameters()}


def _inspect(registries: Registries, file: PrepareFile, request: ImageRequest, local: str | None) -> PreparedImage:
    item = PreparedImage(request)
    entry = choose(file.entries, request.image)
    if entry is None:
        item.problem = "no ContainerImagePrepare entry selects it"
        return item
    item.entry = entry.index
    try:
        item.source = entry.source(request)
        reg = registries.get(item.source.api_host)
        try:
            manifest = reg.get_manifest(item.source.repository, item.source.identifier)
        except NotFound:
            item.problem = f"{item.source} does not exist (ContainerImagePrepare[{entry.index}], line {entry.line})"
            return item
        item.digest = manifest.digest
        labels = image_labels(reg, item.source.repository, manifest) if entry.tag_from_label else {}
        item.tag = discovered_tag(entry, labels, item.source.tag)
        item.target = destination(entry, request, item.tag, local)
        if item.target is not None:
            item.target_digest = registries.get(item.target.api_host).head_manifest(
                item.target.repository, item.target.identifier)
            if item.target_digest not in (None, item.digest):
                item.problem = f"conflict: {item.target} is another image ({item.target_digest})"
    except BadInput as exc:
        item.problem = f"{item.source or request.image}: {exc.message}"
    except CiTagsError as exc:
        item.problem = str(exc)
    return item


def prepare(
    registries: Registries,
    file: PrepareFile,
    requests: list[ImageRequest],
    *,
    local: str | None,
    dry_run: bool,
    concurrency: int,
    output: Path,
    referrers: bool = True,
) -> PrepareReport:
    """Inspect every image of the list; copy only when none has a problem (and not in a dry run); then, when every
    copy is done, write ``output``: each parameter -> its final reference."""
    for host, credentials in file.credentials.items():
        registries.use_credentials(host, credentials)
    found = run_all(lambda r: _inspect(registries, file, r, local), requests, concurrency)
    report = PrepareReport([item for _, item, _ in found if item is not None], dry_run, output)
    if dry_run or report.blocked:
        return report
    _copy(registries, report, concurrency, referrers)
    if not report.failures:
        output.write_text(_env_file(file.path, report.parameters()))
    return report


def _env_file(source: Path, parameters: dict[str, str]) -> str:
    import yaml

    header = f"# Generated by ci-tags prepare from {source.name}\n"
    return header + str(yaml.safe_dump({"parameter_defaults": parameters}, sort_keys=True, default_flow_style=False))


def _copy(registries: Registries, report: PrepareReport, concurrency: int, referrers: bool) -> None:
    """Copy each image to its push target by metadata; what each did or why it failed."""

    def copy(item: PreparedImage) -> CopyResult:
        assert item.source and item.digest and item.target
        return copy_verified(registries, item.source.with_digest(item.digest), item.target, referrers=referrers)

    # Two images of the list can share one push target (the same image under two parameters): copy it once.
    unique = {str(i.target): i for i in report.images if i.action == "copy"}
    for item, result, err in run_all(copy, list(unique.values()), concurrency):
        if err is not None:
            report.failures[str(item.target)] = str(err)
        elif result is not None:
            report.copies[str(item.target)] = result
