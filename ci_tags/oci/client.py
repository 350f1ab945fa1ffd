"""The OCI distribution API: manifests, tags, blobs and mounts on one registry host.

Every call names the scopes it needs, so that one Bearer token can serve a whole operation (a copy asks once for
``pull,push`` on the destination and ``pull`` on the source).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from ci_tags.core.manifest import ACCEPT, ALL_TYPES, Descriptor, Manifest
from ci_tags.core.reference import validate_repository_ref
from ci_tags.errors import CiTagsError, NotFound, RegistryError, Unreachable
from ci_tags.oci.auth import Authenticator, scope
from ci_tags.oci.bodies import SizedStream, error_codes, error_text
from ci_tags.oci.http import Http
from ci_tags.oci.network import speaks_tls

if TYPE_CHECKING:
    import requests


log = logging.getLogger("ci_tags.registry")
_LINK_NEXT_RE = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
# a manifest PUT refused because something it points at is not in the repository (the spec's error codes)
_UNKNOWN_REFERENCE = frozenset({"MANIFEST_BLOB_UNKNOWN", "BLOB_UNKNOWN", "MANIFEST_UNKNOWN"})
BROUGHT_PUT_ATTEMPTS = 3  # put_manifest_brought: a PUT refused for a blob another writer was committing, tried again


class Registry:
    """One registry host, reached over the process's shared HTTP session."""

    def __init__(self, host: str, http: Http, auth: Authenticator, scheme: str, *, may_fall_back: bool = False) -> None:
        self.host = host
        self.http = http
        self.auth = auth
        self.base = f"{scheme}://{host}"
        # A loopback registry is tried over HTTPS first and, when a plain-HTTP server answers, over HTTP (as
        # Docker does for localhost); decided by the first answer.
        self.may_fall_back = may_fall_back and scheme == "https"
        self.fell_back = False
        self._deciding = threading.Lock()  # one handshake decides the scheme, concurrent requests wait for it
        self.tag_delete_refused = False  # learned on the first DELETE of a tag (distribution 2.x refuses it)
        self.referrers_api: bool | None = None  # learned on the first referrers request (oci/referrers.py)

    @property
    def plain_http(self) -> bool:
        return self.base.startswith("http://")

    def speaks_plain_http(self) -> bool:
        """Does this registry talk plain HTTP? Asks ``/v2/`` once if that is still undecided (loopback)."""
        self._decide_scheme()
        if self.may_fall_back:
            self._send("GET", self.base + "/v2/", {}).close()
        return self.plain_http

    def _decide_scheme(self) -> None:
        """A loopback registry's scheme, from one TLS handshake before its first request (network.speaks_tls);
        left undecided when the handshake cannot tell, for the first answer to decide."""
        if not self.may_fall_back:
            return
        with self._deciding:
            if not self.may_fall_back:
                return  # another thread decided meanwhile
            tls = speaks_tls(self.host, self.http.timeout[0])
            if tls is False:
                self.base, self.fell_back = "http://" + self.host, True
                log.debug("%s answers plain HTTP: using http://", self.host)
            if tls is not None:
                self.may_fall_back = False

    def _send(self, method: str, url: str, headers: Mapping[str, str], **kwargs: Any) -> requests.Response:
        """One request; a loopback registry that turns out to speak plain HTTP gets it again over HTTP."""
        https_base = "https://" + self.host
        try:
            resp = self.http.request(method, url, headers=headers, **kwargs)
        except Unreachable as exc:
            fallback = self.may_fall_back or self.fell_back  # another thread may have switched meanwhile
            if not (fallback and exc.cause == "http-server" and url.startswith(https_base + "/")):
                raise
            self.may_fall_back, self.fell_back = False, True
            self.base = "http://" + self.host
            log.debug("%s answers plain HTTP: using http://", self.host)
            return self.http.request(method, self.base + url[len(https_base):], headers=headers, **kwargs)
        if url.startswith(https_base + "/"):
            self.may_fall_back = False  # a TLS answer: this registry speaks HTTPS
        return resp

    def request(
        self,
        method: str,
        path: str,
        scopes: Sequence[str],
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        data: bytes | SizedStream | None = None,
        stream: bool = False,
        expect: Iterable[int] = (200,),
        what: str = "",
    ) -> requests.Response:
        """Send an authenticated request; raise a ci-tags error unless the status is in ``expect``."""
        self._decide_scheme()
        url = path if path.startswith(("http://", "https://")) else self.base + path
        # Credentials go to this registry's own origin only: an upload Location or a Link header naming another
        # host, or plain http behind a TLS proxy, gets the request without them (a signed URL needs none).
        ours = url == self.base or url.startswith(self.base + "/")
        for attempt in (1, 2):
            hdrs = {**(headers or {}), **(self.auth.header(scopes) if ours else {})}
            resp = self._send(method, url, hdrs, params=params, data=data, stream=stream)
            if self.plain_http and url.startswith(f"https://{self.host}/"):
                url = "http://" + url[len("https://"):]  # switched to plain HTTP during this request
            if resp.status_code == 401 and ours and attempt == 1 and self.auth.unauthorized(
                resp.headers.get("WWW-Authenticate"), scopes, hdrs.get("Authorization")
            ):
                resp.close()
                continue
            break
        if resp.status_code in set(expect):
            return resp
        raise self._refusal(resp, method, what or path, scopes)

    def _refusal(self, resp: requests.Response, method: str, what: str, scopes: Sequence[str]) -> CiTagsError:
        """The error for an answer that is not a success, by its status."""
        if resp.status_code in (401, 403):
            return self.auth.refusal(scopes, resp.status_code)
        if resp.status_code == 404:
            return NotFound(f"{what} not found on {self.host}", hint=error_text(resp) or None)
        if resp.status_code == 429:
            return RegistryError(f"{self.host} kept rate-limiting {method} {what}", hint="try again later")
        if resp.status_code == 400 and "HTTP request to an HTTPS server" in resp.text[:200]:
            return RegistryError(f"{self.host} speaks HTTPS and was called over plain HTTP",
                                 hint=f"drop --insecure-registry {self.host} (or CI_TAGS_INSECURE_REGISTRIES)")
        return RegistryError(f"{self.host} answered {resp.status_code} to {method} {what}: {error_text(resp)}")

    # -- manifests -------------------------------------------------------------------------------------------

    def get_manifest(self, repository: str, ref: str, scopes: Sequence[str] | None = None) -> Manifest:
        validate_repository_ref(repository, ref)
        resp = self.request(
            "GET",
            f"/v2/{repository}/manifests/{ref}",
            scopes or [scope(repository, "pull")],
            headers={"Accept": ACCEPT},
            what=f"{self.host}/{repository}{'@' if ':' in ref else ':'}{ref}",
        )
        manifest = Manifest.from_bytes(resp.content, resp.headers.get("Content-Type"))
        served = resp.headers.get("Docker-Content-Digest")
        if ref.startswith("sha256:") and manifest.digest != ref:
            raise RegistryError(f"{self.host} served {repository}@{ref} with the wrong digest {manifest.digest}")
        if served and served.startswith("sha256:") and served != manifest.digest:
            raise RegistryError(f"{self.host} served {repository}:{ref} with a digest header that does not match")
        return manifest

    def _head(self, repository: str, ref: str, scopes: Sequence[str] | None) -> requests.Response | None:
        """HEAD a manifest by tag or digest (both checked first); None when it does not exist."""
        validate_repository_ref(repository, ref)
        resp = self.request(
            "HEAD",
            f"/v2/{repository}/manifests/{ref}",
            scopes or [scope(repository, "pull")],
            headers={"Accept": ACCEPT},
            expect=(200, 404),
        )
        return None if resp.status_code == 404 else resp

    def head_manifest(self, repository: str, ref: str, scopes: Sequence[str] | None = None) -> str | None:
        """The digest a tag or digest resolves to, or None when it does not exist."""
        resp = self._head(repository, ref, scopes)
        if resp is None:
            return None
        digest = resp.headers.get("Docker-Content-Digest")
        return digest or self.get_manifest(repository, ref, scopes).digest

    def head_descriptor(self, repository: str, ref: str, scopes: Sequence[str] | None = None) -> Descriptor | None:
        """Digest, media type and size of a manifest from a HEAD, or None when it does not exist. A HEAD is not a
        pull (Docker Hub's rate limit counts manifest GETs); a GET only where the registry's answer lacks them."""
        resp = self._head(repository, ref, scopes)
        if resp is None:
            return None
        digest = resp.headers.get("Docker-Content-Digest") or ""
        media_type = (resp.headers.get("Content-Type") or "").split(";")[0].strip()
        size = resp.headers.get("Content-Length") or ""
        if not digest.startswith("sha256:") or media_type not in ALL_TYPES or not size.isdigit() or size == "0":
            manifest = self.get_manifest(repository, ref, scopes)
            return Descriptor(manifest.media_type, manifest.digest, manifest.size)
        return Descriptor(media_type, digest, int(size))

    def put_manifest(
        self, repository: str, ref: str, manifest: Manifest, scopes: Sequence[str] | None = None
    ) -> str:
        """Put the manifest's exact bytes under ``ref``; return the digest. A success only when the registry
        confirms that digest: by its ``Docker-Content-Digest`` header, else by a HEAD of ``ref`` afterwards (a
        proxy answering 200 with an HTML page has stored nothing). NotFound when the registry refuses it for a
        manifest or blob it names that the repository does not hold (distribution checks an index's children
        and an image's blobs as it stores it): what it points at is gone."""
        validate_repository_ref(repository, ref)
        what = f"{self.host}/{repository}:{ref}"
        scopes = scopes or [scope(repository, "pull", "push")]
        resp = self.request("PUT", f"/v2/{repository}/manifests/{ref}", scopes,
                            headers={"Content-Type": manifest.media_type}, data=manifest.data,
                            expect=(200, 201, 202, 400), what=what)
        if resp.status_code == 400:
            if error_codes(resp) & _UNKNOWN_REFERENCE:
                raise NotFound(f"{self.host} refused {repository}:{ref}: a manifest or blob it names is not in "
                               f"{repository}", hint=error_text(resp) or None)
            raise self._refusal(resp, "PUT", what, scopes)
        served = resp.headers.get("Docker-Content-Digest")
        if served and served != manifest.digest:
            raise RegistryError(
                f"{self.host} stored {repository}:{ref} as {served}, expected {manifest.digest}",
                hint="the registry rewrote the manifest; the copy is not byte-identical",
            )
        if not served and self.head_manifest(repository, ref, scopes) != manifest.digest:
            raise RegistryError(
                f"{self.host} answered {resp.status_code} to the PUT of {repository}:{ref} but does not serve "
                f"{manifest.digest} there",
                hint="a proxy in front of the registry may have answered instead of it",
            )
        return manifest.digest

    def put_manifest_brought(self, repository: str, ref: str, manifest: Manifest, scopes: Sequence[str] | None,
                             bring: Callable[[], None]) -> str:
        """:meth:`put_manifest` of a manifest whose blobs (and children) the caller has just brought to
        ``repository``. Distribution replaces a blob's data while another writer commits an upload of the same
        blob (two promotions of one image, two untags making their placeholder's config), and a manifest PUT that
        falls in that moment is refused as naming an unknown blob: ``bring`` then runs again (a HEAD each,
        re-sent where missing) and the PUT is tried again, up to :data:`BROUGHT_PUT_ATTEMPTS` times."""
        for attempt in range(1, BROUGHT_PUT_ATTEMPTS):
            try:
                return self.put_manifest(repository, ref, manifest, scopes)
            except NotFound:
                log.debug("%s/%s:%s refused for a blob it names; bringing the blobs again", self.host, repository,
                          ref)
            time.sleep(0.1 * attempt)  # the other writer's commit: a few milliseconds
            bring()
        return self.put_manifest(repository, ref, manifest, scopes)

    def delete_manifest(self, repository: str, ref: str, scopes: Sequence[str] | None = None) -> requests.Response:
        """DELETE a manifest by tag or digest; the caller reads the status (202, or 400/405 when refused)."""
        validate_repository_ref(repository, ref)
        return self.request(
            "DELETE",
            f"/v2/{repository}/manifests/{ref}",
            scopes or [scope(repository, "pull", "push", "delete")],
            expect=(200, 202, 400, 404, 405),
        )

    # -- listings --------------------------------------------------------------------------------------------

    def _paged(self, path: str, key: str, scopes: Sequence[str], what: str) -> list[str]:
        items: list[str] = []
        url: str | None = path
        params: dict[str, Any] | None = {"n": 1000}
        seen: set[str] = set()
        while url:
            resp = self.request("GET", url, scopes, params=params, what=what)
            try:
                body = resp.json()
            except (ValueError, RecursionError):
                raise RegistryError(f"{self.host} answered the {what} listing with a body that is not JSON") from None
            if not isinstance(body, dict):
                raise RegistryError(f"{self.host} answered the {what} listing with a malformed body")
            page = body.get(key) or []
            if not isinstance(page, list) or not all(isinstance(i, str) for i in page):
                raise RegistryError(f"{self.host} answered the {what} listing with a malformed {key!r} list")
            items += page
            link = _LINK_NEXT_RE.search(resp.headers.get("Link", ""))
            url = urljoin(self.base + path, link.group(1)) if link else None
            if url in seen:
                raise RegistryError(f"{self.host} sent a pagination loop while listing {what}")
            if url:
                seen.add(url)
            params = None  # the next link carries its own query
        return items

    def tags(self, repository: str, scopes: Sequence[str] | None = None) -> list[str]:
        """Every tag of a repository, following ``Link`` pagination (also when the registry ignores ``n``);
        ``scopes``: those of the work it is part of (one token for a copy), default pull on the repository."""
        wanted = list(scopes or [scope(repository, "pull")])
        return self._paged(f"/v2/{repository}/tags/list", "tags", wanted, f"repository {repository}")

    def catalog(self) -> list[str]:
        return self._paged("/v2/_catalog", "repositories", ["registry:catalog:*"], "the catalog")

    # -- blobs -----------------------------------------------------------------------------------------------

    def blob_exists(self, repository: str, digest: str, scopes: Sequence[str] | None = None) -> bool:
        resp = self.request(
            "HEAD", f"/v2/{repository}/blobs/{digest}", scopes or [scope(repository, "pull")], expect=(200, 404)
        )
        return resp.status_code == 200

    def open_blob(
        self, repository: str, digest: str, scopes: Sequence[str] | None = None, *, stream: bool = True
    ) -> requests.Response:
        """GET a blob; ``stream=False`` for small ones read whole (a truncated body is then retried)."""
        return self.request(
            "GET",
            f"/v2/{repository}/blobs/{digest}",
            scopes or [scope(repository, "pull")],
            stream=stream,
            what=f"blob {digest} in {repository}",
        )

    def mount_blob(self, repository: str, digest: str, source: str, scopes: Sequence[str]) -> str | None:
        """Mount a blob from another repository; None when mounted, else the upload URL to push it to."""
        resp = self.request(
            "POST",
            f"/v2/{repository}/blobs/uploads/",
            scopes,
            params={"mount": digest, "from": source},
            expect=(201, 202),
        )
        if resp.status_code == 201:
            return None
        return self._location(resp)

    def start_upload(self, repository: str, scopes: Sequence[str]) -> str:
        resp = self.request("POST", f"/v2/{repository}/blobs/uploads/", scopes, expect=(202,))
        return self._location(resp)

    def finish_upload(
        self, location: str, digest: str, body: bytes | SizedStream, size: int, scopes: Sequence[str]
    ) -> None:
        """A monolithic upload: PUT the whole blob to the session's URL with its digest."""
        sep = "&" if "?" in location else "?"
        self.request(
            "PUT",
            f"{location}{sep}digest={digest}",
            scopes,
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
            data=body,
            expect=(201, 204),
            what=f"upload of blob {digest}",
        )

    def _location(self, resp: requests.Response) -> str:
        location = resp.headers.get("Location")
        if not location:
            raise RegistryError(f"{self.host} started an upload without a Location header")
        return urljoin(self.base + "/", location)
