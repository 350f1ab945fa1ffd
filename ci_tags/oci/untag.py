"""Safe tag removal: remove a tag and nothing else, whatever other tags share its digest.

Deleting a manifest by digest removes every tag pointing at it, so ci-tags never does that to remove a tag:
- where the registry supports it, ``DELETE /v2/<name>/manifests/<tag>`` (OCI distribution spec);
- where it refuses (400/405, as distribution 2.8 does), a unique throwaway manifest is pushed over the tag and
  then deleted by its own digest, so only the tag goes and the real image keeps its other tags.
After each removal the tag is checked to be gone; siblings the caller names are checked to still resolve to their
digests, and restored if a registry ever took them along.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from ci_tags.core.manifest import EMPTY_JSON, OCI_MANIFEST, Manifest, sha256_digest, throwaway_manifest
from ci_tags.errors import CiTagsError, RegistryError
from ci_tags.oci.auth import scope
from ci_tags.oci.client import Registry

# How a tag went (or why it did not): the strings are --json's ``method``
Method = Literal["tag-delete", "placeholder", "exclusive-digest", "moved", "absent"]
TAG_DELETE: Final = "tag-delete"
PLACEHOLDER: Final = "placeholder"
EXCLUSIVE: Final = "exclusive-digest"
MOVED: Final = "moved"  # the tag no longer showed ``digest`` (someone tagged it again): left as it is
ABSENT: Final = "absent"  # there was no such tag


@dataclass(frozen=True)
class Removal:
    repository: str
    tag: str
    digest: str | None  # what the tag pointed at; None when it was already absent
    method: Method
    restored: tuple[str, ...] = ()  # siblings the registry took along and ci-tags put back


class Untagger:
    """Removes tags from one repository; learns once per registry whether tag deletion is supported."""

    def __init__(self, registry: Registry, repository: str) -> None:
        self.registry = registry
        self.repository = repository
        self.scopes = [scope(repository, "pull", "push", "delete")]
        self._empty_blob_ready = False
        self._lock = threading.Lock()

    @property
    def tag_delete_refused(self) -> bool:
        return self.registry.tag_delete_refused

    def remove(self, tag: str, digest: str | None = None, siblings: Mapping[str, str] | None = None,
               *, recheck: bool = False) -> Removal:
        """Remove ``tag``. ``digest`` is what it is expected to point at (looked up when not given);
        ``siblings`` maps other tags to the digests they must still resolve to afterwards. ``recheck``: the
        digest was read a while ago, so check the tag still shows it right before each write (a build may
        have made that tag again meanwhile: then it is left alone, method MOVED). No compare-and-swap exists:
        what remains is the gap between that HEAD and the next request."""
        reg, repo = self.registry, self.repository
        if digest is None:
            digest = reg.head_manifest(repo, tag, self.scopes)
            if digest is None:
                return Removal(repo, tag, None, ABSENT)
        original: Manifest | None = None
        if siblings and not self.tag_delete_refused:
            original = reg.get_manifest(repo, tag, self.scopes)  # to restore siblings a registry might take along
        method = self._remove(tag, digest, original, recheck=recheck)
        restored: tuple[str, ...] = ()
        if method == TAG_DELETE:
            # Right after this removal: what went with it is ours to put back, and only that. (The placeholder
            # route deletes nothing but its own placeholder, so it can take no sibling along: a sibling gone
            # then was removed by someone else, and stays removed.)
            restored = self._check_siblings(siblings, original) if siblings else ()
            now = reg.head_manifest(repo, tag, self.scopes)
            if now == digest:
                raise RegistryError(f"{reg.host}/{repo}:{tag} still exists after removal")
            if now is not None:  # made again by someone else right after the DELETE: theirs now, left as it is
                method = MOVED
        return Removal(repo, tag, digest, method, restored)

    def remove_exclusive(self, tag: str, digest: str) -> Removal:
        """Remove a tag whose manifest nothing else uses, by deleting that manifest: one request.

        Only for a caller that has just seen every tag of the repository and every index they point at, and
        found no other tag on ``digest`` and no kept index referring to it (the janitor). The caller checks the
        outcome with one tag listing afterwards. Falls back to :meth:`remove` where digests cannot be deleted.
        """
        resp = self.registry.delete_manifest(self.repository, digest, self.scopes)
        if resp.status_code in (200, 202):
            return Removal(self.repository, tag, digest, EXCLUSIVE)
        if resp.status_code == 404:
            return Removal(self.repository, tag, None, ABSENT)
        return self.remove(tag, digest)

    def remove_dangling(self, tag: str) -> Removal:
        """Remove a tag that still lists but no longer resolves (distribution can leave one behind when
        concurrent deletes race): a placeholder overwrites its link and is then deleted by digest."""
        placeholder = self._placeholder()
        self._put_placeholder(tag, placeholder)
        resp = self.registry.delete_manifest(self.repository, placeholder.digest, self.scopes)
        if resp.status_code not in (200, 202, 404):
            raise RegistryError(f"{self.registry.host} refused to delete the placeholder on {self.repository}:{tag}")
        return Removal(self.repository, tag, None, PLACEHOLDER)

    def cover(self, tag: str) -> Manifest:
        """Push a unique empty placeholder over ``tag`` and return it, for a service whose registry API cannot
        delete it by digest (GHCR answers 405) but whose own API can (ci_tags/backends/ghcr.py)."""
        placeholder = self._placeholder()
        self._put_placeholder(tag, placeholder)
        return placeholder

    def _moved(self, tag: str, digest: str) -> bool:
        return self.registry.head_manifest(self.repository, tag, self.scopes) != digest

    def _remove(self, tag: str, digest: str, original: Manifest | None, *, recheck: bool) -> Method:
        if not self.tag_delete_refused:
            if recheck and self._moved(tag, digest):
                return MOVED
            resp = self.registry.delete_manifest(self.repository, tag, self.scopes)
            if resp.status_code in (200, 202):
                return TAG_DELETE
            if resp.status_code == 404 and self.registry.head_manifest(self.repository, tag, self.scopes) is None:
                return TAG_DELETE  # gone already (a concurrent run)
            # refused (400, 405...), or a 404 for a tag that is there: a registry without tag DELETE
            self.registry.tag_delete_refused = True
        return self._remove_with_placeholder(tag, digest, recheck=recheck)

    def _remove_with_placeholder(self, tag: str, digest: str, *, recheck: bool) -> Method:
        """Placeholder over the tag, then the placeholder deleted by its digest. Any failure once the placeholder
        may be up (a refused DELETE, retries exhausted, a truncated answer, a timeout) puts the original back,
        if the tag still holds our placeholder: never over a tag someone else moved meanwhile."""
        reg, repo = self.registry, self.repository
        placeholder = self._placeholder()
        if recheck and self._moved(tag, digest):
            return MOVED
        try:
            self._put_placeholder(tag, placeholder)
            resp = reg.delete_manifest(repo, placeholder.digest, self.scopes)
        except CiTagsError as exc:
            if self._undo_placeholder(tag, digest, placeholder):
                return PLACEHOLDER  # the answer was lost, but the registry did it: the tag is gone
            raise RegistryError(f"removing {reg.host}/{repo}:{tag} failed, the tag was left as it was: {exc}") from None
        # 404: a retried DELETE whose first attempt removed the placeholder before the registry failed
        if resp.status_code in (200, 202, 404):
            try:
                left = reg.head_manifest(repo, tag, self.scopes)
            except CiTagsError as exc:
                raise RegistryError(f"could not check that {reg.host}/{repo}:{tag} is gone: {exc}") from None
            if left is None:
                return PLACEHOLDER
            if left != placeholder.digest:
                return MOVED  # tagged again by someone else after our placeholder went up: theirs now
            self._undo_placeholder(tag, digest, placeholder)  # a "success" that was not (a proxy's answer)
            raise RegistryError(f"{reg.host}/{repo}:{tag} still exists after removal")
        self._undo_placeholder(tag, digest, placeholder)
        raise RegistryError(
            f"{reg.host} refuses to delete manifests ({resp.status_code}); {repo}:{tag} was left as it was",
            hint="enable deletion on the registry (storage.delete.enabled), or use the registry's own API",
        )

    def _undo_placeholder(self, tag: str, digest: str, placeholder: Manifest) -> bool:
        """Put the image back under ``tag`` if the tag still shows our placeholder; True when the tag is gone
        (the removal went through after all). The image itself was never deleted (only the placeholder's
        digest is), so it is read back by its digest."""
        reg, repo = self.registry, self.repository
        try:
            now = reg.head_manifest(repo, tag, self.scopes)
            if now != placeholder.digest:
                return now is None  # gone: done; moved by someone else since: not ours to touch
            reg.put_manifest(repo, tag, reg.get_manifest(repo, digest, self.scopes), self.scopes)
        except CiTagsError as exc:
            raise RegistryError(
                f"{reg.host}/{repo}:{tag} was left on an empty placeholder and could not be put back: {exc}",
                hint="run the janitor again: it finishes removing leftover placeholders",
            ) from None
        return False

    def _placeholder(self) -> Manifest:
        """A new empty placeholder manifest (unique, so deleting it by digest takes nothing else), its config blob
        in the repository."""
        self._ensure_empty_blob()
        data = throwaway_manifest(uuid.uuid4().hex)
        return Manifest(data, OCI_MANIFEST, sha256_digest(data))

    def _put_placeholder(self, tag: str, placeholder: Manifest) -> None:
        """The placeholder over ``tag``; refused while another untag commits the same empty config blob, the blob
        is checked again (Registry.put_manifest_brought)."""
        self.registry.put_manifest_brought(self.repository, tag, placeholder, self.scopes,
                                           lambda: self._ensure_empty_blob(again=True))

    def _ensure_empty_blob(self, *, again: bool = False) -> None:
        with self._lock:
            if self._empty_blob_ready and not again:
                return
            reg, repo = self.registry, self.repository
            digest = sha256_digest(EMPTY_JSON)
            if not reg.blob_exists(repo, digest, self.scopes):
                location = reg.start_upload(repo, self.scopes)
                reg.finish_upload(location, digest, EMPTY_JSON, len(EMPTY_JSON), self.scopes)
            self._empty_blob_ready = True

    def _check_siblings(self, siblings: Mapping[str, str], original: Manifest | None) -> tuple[str, ...]:
        """Check at once that every sibling still resolves to its digest, and put back those the registry took
        along. A sibling that now points elsewhere was moved by someone else: it is left alone."""
        reg, repo = self.registry, self.repository
        lost = sorted(t for t, d in siblings.items() if reg.head_manifest(repo, t, self.scopes) is None)
        if not lost:
            return ()
        # Ours to put back only if our tag DELETE took the manifest itself (the registry deleted by digest): while
        # the manifest still resolves, a sibling that went was removed by someone else, and stays removed.
        took_manifest = original is not None and reg.head_manifest(repo, original.digest, self.scopes) is None
        if not took_manifest:
            return ()
        assert original is not None
        restorable = [t for t in lost if siblings[t] == original.digest]
        reg.tag_delete_refused = True  # the registry's tag deletion took the manifest: never trust it again
        for t in restorable:
            reg.put_manifest(repo, t, original, self.scopes)
        still_lost = [t for t in restorable if reg.head_manifest(repo, t, self.scopes) is None]
        if still_lost:
            raise RegistryError(f"tags {', '.join(still_lost)} of {repo} no longer resolve to their digests")
        return tuple(restorable)
