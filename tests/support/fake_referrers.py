"""A fake of the OCI distribution spec 1.1 referrers API, in front of the real registry (distribution 2.8 has no
such API; neither has the distribution 3.1.2 built here, nor do zot and olareg come from the Go module proxy on
these machines). Written from the spec (opencontainers/distribution-spec, spec.md, "Listing Referrers" and
"Pushing Manifests with Subject"):

- ``GET /v2/<name>/referrers/<digest>[?artifactType=]``: 200 with an image index
  (``application/vnd.oci.image.index.v1+json``) of the descriptors of the manifests pushed with that ``subject``,
  each with its ``artifactType`` (else its config's media type) and annotations; filtered when asked, saying so in
  ``OCI-Filters-Applied: artifactType``; an empty list when there is none;
- a manifest PUT whose body has a ``subject`` is answered with ``OCI-Subject: <subject digest>``, so clients
  (oras, cosign, ci-tags) know not to write the referrers tag schema's index;
- a manifest DELETE by digest takes it out of the lists.

Everything else goes to the real registry unchanged. The lists live in memory: only what was pushed through the
front is listed."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
_REFERRERS = re.compile(r"/v2/(?P<name>.+)/referrers/(?P<digest>[a-z0-9]+:[a-f0-9]+)")
_MANIFEST = re.compile(r"/v2/(?P<name>.+)/manifests/(?P<ref>[^/]+)")


class ReferrersFront:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.lists: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}  # (name, subject) -> digest -> descriptor
        self.asked: list[str] = []  # the digests the referrers API was asked about
        self._lock = threading.Lock()
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                        self.send_header(key, value)
                length = len(body)
                if self.command == "HEAD":
                    length = int(next((v for k, v in headers.items() if k.lower() == "content-length"), "0"))
                self.send_header("Content-Length", str(length))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                listing = _REFERRERS.fullmatch(parts.path)
                if listing and self.command == "GET":
                    self._send(*front.listing(listing["name"], listing["digest"], parse_qs(parts.query)))
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                resp = requests.request(self.command, front.upstream + self.path, headers=headers, data=body,
                                        allow_redirects=False)
                answer = dict(resp.headers)
                location = answer.get("Location", "")
                if location.startswith(front.upstream):
                    answer["Location"] = f"http://{front.host}{location[len(front.upstream):]}"
                manifest = _MANIFEST.fullmatch(parts.path)
                if manifest and self.command == "PUT" and resp.status_code == 201 and body:
                    subject = front.record(manifest["name"], body, self.headers.get("Content-Type", ""))
                    if subject:
                        answer["OCI-Subject"] = subject
                if manifest and self.command == "DELETE" and resp.status_code == 202:
                    front.forget(manifest["name"], manifest["ref"])
                self._send(resp.status_code, answer, resp.content)

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def record(self, name: str, body: bytes, media_type: str) -> str | None:
        try:
            parsed = json.loads(body)
        except ValueError:
            return None
        subject = parsed.get("subject") if isinstance(parsed, dict) else None
        if not isinstance(subject, dict) or not isinstance(subject.get("digest"), str):
            return None
        descriptor: dict[str, Any] = {"mediaType": parsed.get("mediaType") or media_type,
                                      "digest": "sha256:" + hashlib.sha256(body).hexdigest(), "size": len(body)}
        artifact = parsed.get("artifactType") or (parsed.get("config") or {}).get("mediaType")
        if artifact:
            descriptor["artifactType"] = artifact
        if parsed.get("annotations"):
            descriptor["annotations"] = parsed["annotations"]
        with self._lock:
            self.lists.setdefault((name, subject["digest"]), {})[descriptor["digest"]] = descriptor
        return str(subject["digest"])

    def forget(self, name: str, digest: str) -> None:
        with self._lock:
            for (repo, _), found in self.lists.items():
                if repo == name:
                    found.pop(digest, None)

    def listing(self, name: str, digest: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        self.asked.append(digest)
        with self._lock:
            found = list(self.lists.get((name, digest), {}).values())
        headers = {"Content-Type": OCI_INDEX}
        wanted = query.get("artifactType")
        if wanted:
            found = [d for d in found if d.get("artifactType") == wanted[0]]
            headers["OCI-Filters-Applied"] = "artifactType"
        body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": found}).encode()
        return 200, headers, body

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
