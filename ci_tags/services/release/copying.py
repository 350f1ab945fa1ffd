"""The one write of the release flows: a metadata copy of a source pinned by digest, then a read-back."""

from __future__ import annotations

from ci_tags.core.reference import Reference
from ci_tags.errors import RegistryError
from ci_tags.oci.copy import CopyResult, copy_image
from ci_tags.oci.registries import Registries

RETRY_PAUSE = 0.5


class Overwritten(RegistryError):
    """The tag holds another image right after the copy: a concurrent writer of the same tag won."""


def copy_verified(registries: Registries, source: Reference, target: Reference, *,
                  referrers: bool = True) -> CopyResult:
    """Copy ``source`` (a digest reference) to ``target`` and read the tag back.

    A copy the registry refuses with an error is tried once more: two jobs uploading the same blob to one
    repository at once can leave it briefly unknown to distribution 2.x, whose next manifest PUT then fails; the
    copy is idempotent. The registry API has no compare-and-swap, so the read-back is how a concurrent writer of
    another image to the same tag is reported, by the side that lost. The image's graph (signatures, SBOMs...)
    travels with it to another repository unless ``referrers`` is False."""
    assert source.digest
    try:
        result = copy_image(registries, source, target, concurrency=4, referrers=referrers)
    except RegistryError:
        registries.http.sleep(RETRY_PAUSE)  # the HTTP path's sleep: the one tests replace
        result = copy_image(registries, source, target, concurrency=4, referrers=referrers)
    now = registries.get(target.api_host).head_manifest(target.repository, target.identifier)
    if now != source.digest:
        raise Overwritten(f"{target} is {now} now: another job wrote it meanwhile", hint="check, then re-run")
    return result
