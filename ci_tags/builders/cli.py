"""buildah, podman and docker adapters. buildah and podman honour STORAGE_DRIVER and BUILDAH_ISOLATION from the
environment (e.g. vfs and chroot in unprivileged containers). Credentials come through the environment
(REGISTRY_AUTH_FILE, DOCKER_CONFIG: ci_tags/builders/access.py), never as arguments."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ci_tags.builders.base import Builder, BuildRequest, build_flags
from ci_tags.errors import OperationFailed

MANIFESTO_ATTEMPTS = 3  # a manifesto whose output buildah cut short is run again, up to this many times in all


class BuildahBuilder(Builder):
    name = "buildah"
    build_verb = "bud"
    runs_manifesto = True

    def build_and_push(self, request: BuildRequest) -> str:
        tls = ["--tls-verify=false"] if request.plain_http else []
        if request.cert_dir is not None:
            tls += ["--cert-dir", str(request.cert_dir)]
        # --layers: one image per step, each pushed to the cache repository (a tag per step's cache key) and
        # looked up there by the next build, so a changed last step re-runs only that step
        cache = ["--layers", "--cache-from", request.cache, "--cache-to", request.cache] if request.cache else []
        # built under this build's own local name: another build of the same content tag on this host (same
        # storage) cannot take it before it is pushed and removed
        self._run(
            [self.build_verb, *tls, *cache, *build_flags(request, request.local_name), str(request.context)],
            f"build {request.reference}",
        )
        if request.manifesto:
            self._label_manifesto(request)
        with tempfile.TemporaryDirectory() as tmp:
            digest_file = Path(tmp) / "digest"
            self._run(
                ["push", *tls, "--digestfile", str(digest_file), request.local_name,
                 f"docker://{request.reference}"],
                f"push {request.reference}",
            )
            digest = digest_file.read_text().strip()
        if not digest.startswith("sha256:"):
            raise OperationFailed(f"{self.name} pushed {request.reference} but reported no digest")
        return digest

    def remove_local(self, local_name: str) -> bool:
        self._run(["rmi", local_name], f"remove the local image {local_name}")
        return True

    def discard_local(self, local_name: str) -> None:
        subprocess.run([self.program, "rmi", local_name], env=self.env, capture_output=True, check=False)

    def keep_local(self, local_name: str, name: str) -> None:
        self._run(["tag", local_name, name], f"name the local image {name}")
    def local_images(self, references: Sequence[str]) -> set[str]:
        return {r for r in references if subprocess.run([self.program, "inspect", "--type", "image", r],
                                                        env=self.env, capture_output=True, check=False).returncode == 0}

    def remove_pulled(self, reference: str) -> bool:
        done = subprocess.run([self.program, "rmi", reference], env=self.env, capture_output=True, text=True,
                              check=False)
        if done.returncode != 0:
            why = (done.stderr.strip().splitlines() or ["in use"])[-1]
            self.log(f"left the pulled image {reference} in local storage: {why}")
        return done.returncode == 0


    def _label_manifesto(self, request: BuildRequest) -> None:
        """Run the manifesto command in a container of the built image and label the image with its output's
        hash (a commit adds one empty layer); the command's stderr goes to the job log, its stdout is hashed."""
        from ci_tags.builders.manifesto import manifesto_labels

        ctr = self._run(["from", "--pull-never", "--quiet", request.local_name], "start the manifesto container")
        ctr = ctr.strip().splitlines()[-1]
        try:
            flags = [arg for k, v in manifesto_labels(self._manifesto_output(ctr, request)).items()
                     for arg in ("--label", f"{k}={v}")]
            self._run(["config", *flags, ctr], "label the manifesto")
            self._run(["commit", "--quiet", ctr, request.local_name], f"commit {request.reference}")
        finally:
            subprocess.run([self.program, "rm", ctr], env=self.env, capture_output=True, check=False)

    def _manifesto_output(self, ctr: str, request: BuildRequest) -> bytes:
        """The manifesto command's whole standard output in container ``ctr``: run again when the builder lost
        its end (ci_tags/builders/manifesto.py), up to MANIFESTO_ATTEMPTS times."""
        import uuid

        from ci_tags.builders.manifesto import manifesto_argv, manifesto_output

        for attempt in range(1, MANIFESTO_ATTEMPTS + 1):
            marker = f"ci-tags-manifesto-end-{uuid.uuid4().hex}"
            argv = [self.program, "run", ctr, "--", *manifesto_argv(request.manifesto or "", marker)]
            done = subprocess.run(argv, env=self.env, capture_output=True, check=False)
            for line in done.stderr.decode(errors="replace").splitlines():
                self.log(line)
            if done.returncode != 0:
                raise OperationFailed(f"the manifesto command {request.manifesto!r} failed in {request.reference} "
                                      f"(exit {done.returncode})")
            output = manifesto_output(done.stdout, marker)
            if output is not None:
                return output
            if attempt < MANIFESTO_ATTEMPTS:
                self.log(f"{self.program} lost the end of the manifesto's output; running it again")
        raise OperationFailed(f"{self.program} lost the end of the manifesto's output in {request.reference} "
                              f"{MANIFESTO_ATTEMPTS} times in a row", hint="run the build again")


class PodmanBuilder(BuildahBuilder):
    name = "podman"
    build_verb = "build"
    runs_manifesto = False  # podman has no buildah-style working containers (from/run/config/commit)


class DockerBuilder(Builder):
    """docker buildx pushes directly to the registry and reports the digest in its metadata file; with
    ``--output type=registry`` nothing is loaded into the local image store, so there is nothing to remove and no
    local name to share: ``-t`` names the pushed tag."""

    name = "docker"

    def build_and_push(self, request: BuildRequest) -> str:
        import json

        with tempfile.TemporaryDirectory() as tmp:
            meta = Path(tmp) / "meta.json"
            output = "type=registry" + (",registry.insecure=true" if request.plain_http else "")
            cache = []
            if request.cache:
                ref = f"type=registry,ref={request.cache}:buildcache"
                insecure = ",registry.insecure=true" if request.plain_http else ""
                cache = ["--cache-from", ref + insecure, "--cache-to", f"{ref},mode=max{insecure}"]
            self._run(
                ["buildx", "build", *build_flags(request, request.reference), *cache, "--output", output,
                 "--metadata-file", str(meta), str(request.context)],
                f"build and push {request.reference}",
            )
            digest = str(json.loads(meta.read_text()).get("containerimage.digest", ""))
        if not digest.startswith("sha256:"):
            raise OperationFailed(f"docker pushed {request.reference} but reported no digest")
        return digest
