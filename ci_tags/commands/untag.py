"""``ci-tags untag REF...``: remove tags and nothing else; ``--digest`` deletes whole manifests, explicitly."""

from __future__ import annotations

import argparse
from typing import Any

from ci_tags.context import Context
from ci_tags.core.reference import Reference, parse_reference
from ci_tags.errors import BadInput, NotFound, OperationFailed, RegistryError
from ci_tags.oci.resolve import resolve_tags, tags_by_digest
from ci_tags.oci.untag import MOVED, Untagger

# shown under "examples:" by --help
EXAMPLES = """\
  ci-tags untag registry.example.com/app:pipeline-41 --dry-run
  ci-tags untag registry.example.com/app:old registry.example.com/app:older --missing-ok
  ci-tags untag registry.example.com/app@sha256:... --digest   # every tag on that manifest goes
"""


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("references", metavar="REF", nargs="+", help="repo:tag to remove")
    p.add_argument("--dry-run", action="store_true", help="print what would be removed, remove nothing")
    p.add_argument(
        "--digest",
        action="store_true",
        help="delete the manifest itself (REF@digest or the digest REF:tag points at): EVERY tag on it goes",
    )
    p.add_argument("--missing-ok", action="store_true", help="a tag that is already absent is not an error")


def run(ctx: Context) -> int:
    refs = [parse_reference(r) for r in ctx.args.references]
    for ref in refs:
        if not ctx.args.digest and (ref.tag is None or ref.digest):
            raise BadInput(f"{ref}: untag takes repo:tag; to delete a manifest by digest, add --digest")
    if ctx.args.digest:
        return _delete_digests(ctx, refs)
    return _untag(ctx, refs)


def _untag(ctx: Context, refs: list[Reference]) -> int:
    out = ctx.out
    by_repo: dict[tuple[str, str], list[Reference]] = {}
    for ref in refs:
        by_repo.setdefault((ref.api_host, ref.repository), []).append(ref)
    report: list[dict[str, Any]] = []
    failures = 0
    for (host, repository), group in by_repo.items():
        registry = ctx.registries.get(host)
        all_tags = registry.tags(repository)
        digests, errors = resolve_tags(registry, repository, all_tags, ctx.concurrency)
        removing = {r.tag for r in group if r.tag}
        untagger = Untagger(registry, repository)
        for ref in group:
            assert ref.tag
            digest = digests.get(ref.tag)
            entry: dict[str, Any] = {"reference": str(ref), "digest": digest}
            if digest is None:
                if ref.tag in errors:
                    entry.update(status="failed", error=str(errors[ref.tag]))
                    failures += 1
                elif ctx.args.missing_ok:
                    entry["status"] = "absent"
                    out.line(f"{ref} already absent")
                else:
                    entry.update(status="failed", error="tag not found")
                    failures += 1
                    out.warn(f"{ref}: tag not found")
                report.append(entry)
                continue
            siblings = {t: d for t, d in digests.items() if d == digest and t not in removing}
            entry["kept_siblings"] = sorted(siblings)
            kept = f" (kept: {', '.join(sorted(siblings))})" if siblings else ""
            if ctx.args.dry_run:
                entry["status"] = "would remove"
                out.line(f"would remove {ref} {digest}{kept}")
            else:
                try:
                    removal = untagger.remove(ref.tag, digest, siblings, recheck=True)
                except (NotFound, RegistryError) as exc:
                    entry.update(status="failed", error=str(exc))
                    failures += 1
                    out.warn(f"{ref}: {exc}")
                else:
                    if removal.method == MOVED:
                        entry.update(status="failed", error="tagged again by someone else meanwhile: left as it is")
                        failures += 1
                        out.warn(f"{ref}: no longer {digest}: tagged again by someone else meanwhile, left as it is")
                        report.append(entry)
                        continue
                    entry.update(status="removed", method=removal.method)
                    out.line(f"removed {ref} {digest}{kept}")
                    if removal.restored:
                        entry["restored"] = list(removal.restored)
                        out.warn(
                            f"{host} deleted {', '.join(removal.restored)} along with {ref.tag}; ci-tags put them "
                            "back. This registry's tag deletion is unsafe."
                        )
            report.append(entry)
    if ctx.out.json_mode:
        done = "would remove" if ctx.args.dry_run else "removed"
        ctx.out.json({"dry_run": ctx.args.dry_run, "results": report,
                      "removed": [e["reference"] for e in report if e["status"] == done]})
    if failures:
        if all(e.get("error") == "tag not found" for e in report if e["status"] == "failed"):
            raise NotFound(f"{failures} of {len(refs)} tags not found", hint="--missing-ok accepts absent tags")
        raise OperationFailed(f"{failures} of {len(refs)} tags could not be removed")
    return 0


def _delete_digests(ctx: Context, refs: list[Reference]) -> int:
    out = ctx.out
    report = []
    for ref in refs:
        registry = ctx.registries.get(ref.api_host)
        digest = ref.digest or registry.head_manifest(ref.repository, ref.identifier)
        if digest is None:
            raise NotFound(f"{ref} not found")
        digests, _ = resolve_tags(registry, ref.repository, registry.tags(ref.repository), ctx.concurrency)
        vanishing = tags_by_digest(digests).get(digest, [])
        names = ", ".join(vanishing) or "no tags"
        verb = "would delete" if ctx.args.dry_run else "deleting"
        out.line(f"{verb} {ref.name}@{digest}; these tags vanish with it: {names}")
        if not ctx.args.dry_run:
            resp = registry.delete_manifest(ref.repository, digest)
            if resp.status_code not in (200, 202):
                raise OperationFailed(f"{registry.host} refused to delete {ref.name}@{digest} ({resp.status_code})")
        report.append({"manifest": f"{ref.name}@{digest}", "tags": vanishing, "deleted": not ctx.args.dry_run})
    if ctx.out.json_mode:
        ctx.out.json({"dry_run": ctx.args.dry_run, "results": report, "removed": [e["manifest"] for e in report]})
    return 0
