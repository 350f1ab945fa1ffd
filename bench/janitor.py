"""Benchmark: `ci-tags janitor` on one repository with 10,000 tags, 9,000 of them expired pipeline tags, vs a
loop of `skopeo delete` (unsafe: it deletes by digest) as a speed reference, on another repository of the same
size. Reports wall time, removals per second and registry requests per removed tag (counted from the registry's
access log). Distribution 2.8 reads every tag of a repository on each manifest delete, so on it both rates are
bound by the registry; a last row runs the janitor through an API that deletes single tags (the tests' fake
Docker Hub API, an in-process HTTP server), which shows what ci-tags itself can do.
Run: .venv/bin/python -m bench.janitor [--tags 10000] [--expired 9000] [--skopeo-sample 300]

``--steady`` measures a pipeline's janitor in the steady state instead: REPOS repositories of TAGS tags each
(a content image, an older content image still under ``latest``, ``latest`` stamped by publish, the rest pipeline
tags stamped over the last days), nothing to remove; it reports registry requests per repository and wall time.
Run: .venv/bin/python -m bench.janitor --steady [--repos 30] [--tags 60] [--signed]
``--signed``: both content images also carry a cosign signature tag, an attestation tag and an SBOM listed in the
referrers tag schema's index (what a signing pipeline leaves): the graph phase must cost nothing when nothing goes.

``--services`` measures the same steady state through each service's API (the tests' fakes of Quay, Harbor and
GitHub's packages API in front of the real registry, tests/support/fake_*_front.py): API and registry requests
per repository. Run: .venv/bin/python -m bench.janitor --services [--repos 10] [--tags 60]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import ci_tags
from ci_tags.core.manifest import ANNOTATION_CONTENT_TAG, ANNOTATION_CREATED, ANNOTATION_KIND, stamped_index
from ci_tags.oci.client import Registry
from ci_tags.oci.http import Http
from ci_tags.oci.registries import Registries
from tests.support.images import push_image
from tests.support.registry import start_registry


def ago(days: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def populate(reg: Registry, repo: str, tags: int, expired: int, prefix: str = "pipeline-") -> None:
    image = push_image(reg, repo, "hash-" + "a" * 64, created=ago(1))

    def one(n: int) -> None:
        days = 30 if n < expired else 1
        index = stamped_index(image.manifest, {"os": "linux", "architecture": "amd64"},
                              {ANNOTATION_KIND: "pipeline", ANNOTATION_CREATED: ago(days), "n": str(n)})
        reg.put_manifest(repo, f"{prefix}{n}", index)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, range(tags - 1)))


def populate_steady(reg: Registry, repo: str, tags: int, signed: bool = False) -> None:
    """Nothing to remove: a fresh content image, an older one (40 days) that ``latest`` still points at, and
    pipeline tags numbered in the order they were made, the oldest 6 days ago."""
    fresh = push_image(reg, repo, "hash-" + "b" * 64, created=ago(2))
    old = push_image(reg, repo, "hash-" + "c" * 64, created=ago(40))
    publish = stamped_index(old.manifest, {"os": "linux", "architecture": "amd64"},
                            {ANNOTATION_KIND: "publish", ANNOTATION_CREATED: ago(30),
                             ANNOTATION_CONTENT_TAG: "hash-" + "c" * 64})
    reg.put_manifest(repo, "latest", publish)
    count = tags - 3
    if signed:
        from tests.support.referrers import attach, push_signature

        for image in (fresh, old):
            push_signature(reg, repo, image.manifest.digest)
            push_signature(reg, repo, image.manifest.digest, ".att")
            attach(reg, repo, image.manifest)
        count -= 6

    def one(n: int) -> None:
        days = 6 * (count - n) / count
        index = stamped_index(fresh.manifest, {"os": "linux", "architecture": "amd64"},
                              {ANNOTATION_KIND: "pipeline", ANNOTATION_CREATED: ago(days),
                               ANNOTATION_CONTENT_TAG: "hash-" + "b" * 64, "n": str(n)})
        reg.put_manifest(repo, f"pipeline-{100 + n}", index)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, range(count)))


def steady(command: str, repos: int, tags: int, signed: bool = False) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        registry = start_registry(Path(tmp) / "registry")
        try:
            regs = Registries(Http(pool_size=32), {})
            reg = regs.get(registry.host)
            names = [f"steady/r{i:02d}" for i in range(repos)]
            for name in names:
                populate_steady(reg, name, tags, signed)
            regs.http.close()
            mark = registry.mark()
            started = time.perf_counter()
            done = subprocess.run([command, "janitor", *(f"{registry.host}/{n}" for n in names), "--json"],
                                  cwd=tmp, capture_output=True, text=True, env={**os.environ, "CI_TAGS_BRANCH": "main"},
                                  check=False)
            wall = time.perf_counter() - started
            if done.returncode != 0:
                print(done.stderr, file=sys.stderr)
                return 1
            removed = sum(len(r["removed"]) for r in json.loads(done.stdout)["repositories"])
            seen = registry.since(mark)
            requests = [r for r in seen if not r.uri.startswith("/v2/ ") and r.uri != "/v2/"]
        finally:
            registry.stop()
    gets = sum(1 for r in requests if r.method == "GET" and "/manifests/" in r.uri)
    blobs = sum(1 for r in requests if "/blobs/" in r.uri)
    what = "signed images, " if signed else ""
    print(f"| steady state: {repos} repositories x {tags} tags ({what}nothing to remove) | removed | requests | "
          "per repository | manifest GETs per repository | blob GETs per repository | wall time (s) |")
    print("|---|---|---|---|---|---|---|")
    print(f"| ci-tags janitor | {removed} | {len(requests)} | {len(requests) / repos:.1f} | {gets / repos:.1f} | "
          f"{blobs / repos:.1f} | {wall:.2f} |")
    return 0


def services_steady(command: str, repos: int, tags: int) -> int:
    """The steady state through each service backend: API requests and registry requests per repository."""
    from tests.support.fake_ghcr_front import FakeGhcrFront
    from tests.support.fake_harbor_front import FakeHarborFront
    from tests.support.fake_quay_front import FakeQuayFront

    secret = "bench-token"
    fakes = {
        "quay": (lambda url: FakeQuayFront(url, secret), "org", {"CI_TAGS_QUAY_TOKEN": secret}),
        "harbor": (lambda url: FakeHarborFront(url, "robot$bench", secret), "proj",
                   {"CI_TAGS_REGISTRY_USER": "robot$bench", "CI_TAGS_REGISTRY_PASSWORD": secret}),
        "ghcr": (lambda url: FakeGhcrFront(url, secret), "org", {"GITHUB_TOKEN": secret}),
    }
    print(f"| steady state: {repos} repositories x {tags} tags | removed | API requests per repository | "
          "registry requests per repository | wall time (s) |")
    print("|---|---|---|---|---|")
    for kind, (make, ns, env) in fakes.items():
        with tempfile.TemporaryDirectory() as tmp:
            registry = start_registry(Path(tmp) / "registry")
            fake = make(registry.url)
            try:
                if kind == "ghcr":
                    fake.orgs.add(ns)  # type: ignore[attr-defined]
                    env = {**env, "CI_TAGS_GITHUB_API_URL": fake.url}
                regs = Registries(Http(pool_size=32), {})
                reg = regs.get(fake.host)
                names = [f"{ns}/r{i:02d}" for i in range(repos)]
                for name in names:
                    populate_steady(reg, name, tags)
                    for tag in reg.tags(name):  # the service's own push times, as populate_steady dated them
                        days = 40.0 if tag == "hash-" + "c" * 64 else 30.0 if tag == "latest" else 2.0
                        if tag.startswith("pipeline-"):
                            days = 6 * (tags - 3 - (int(tag.split("-")[1]) - 100)) / (tags - 3)
                        fake.pushed[(name, tag)] = datetime.now(timezone.utc) - timedelta(days=days)
                regs.http.close()
                fake.api_requests.clear()
                fake.front.seen.clear()
                started = time.perf_counter()
                done = subprocess.run([command, "janitor", *(f"{fake.host}/{n}" for n in names), "--backend", kind,
                                       "--json"], cwd=tmp, capture_output=True, text=True, check=False,
                                      env={**os.environ, "CI_TAGS_BRANCH": "main", **env})
                wall = time.perf_counter() - started
                if done.returncode != 0:
                    print(done.stderr, file=sys.stderr)
                    return 1
                removed = sum(len(r["removed"]) for r in json.loads(done.stdout)["repositories"])
                api, oci = len(fake.api_requests), len([s for s in fake.front.seen if s[1] != "/v2/"])
                print(f"| ci-tags janitor --backend {kind} | {removed} | {api / repos:.1f} | {oci / repos:.1f} | "
                      f"{wall:.2f} |")
            finally:
                fake.close()
                registry.stop()
    return 0


def hub_api_run(command: str, tmp: Path, tags: int, expired: int) -> tuple[str, int, float, int, int]:
    """The janitor through Docker Hub's API (single-tag DELETE) against the tests' fake of it."""
    from tests.support.fake_dockerhub import FakeDockerHub

    repo = {f"pipeline-{n}": ago(30 if n < expired else 1) for n in range(tags)}
    fake = FakeDockerHub("bench", "bench-token", {"bench/janitor": repo})
    try:
        env = {**os.environ, "CI_TAGS_BRANCH": "main", "CI_TAGS_REGISTRY_USER": "bench",
               "CI_TAGS_REGISTRY_PASSWORD": "bench-token"}
        started = time.perf_counter()
        done = subprocess.run([command, "janitor", "docker.io/bench/janitor", "--hub-url", fake.url, "--json"],
                              cwd=tmp, capture_output=True, text=True, env=env, check=False)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(done.stderr)
        removed = len(json.loads(done.stdout)["repositories"][0]["removed"])
        return ("ci-tags janitor via a single-tag DELETE API (fake Hub)", removed, wall, len(fake.requests),
                len(fake.repos["bench/janitor"]))
    finally:
        fake.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tags", type=int, default=10000)
    parser.add_argument("--expired", type=int, default=9000)
    parser.add_argument("--skopeo-sample", type=int, default=300)
    parser.add_argument("--steady", action="store_true", help="the steady state: nothing to remove")
    parser.add_argument("--repos", type=int, default=30)
    parser.add_argument("--signed", action="store_true", help="--steady with signatures, attestations and SBOMs")
    parser.add_argument("--services", action="store_true", help="the steady state through Quay, Harbor, GHCR")
    args = parser.parse_args()
    compileall.compile_dir(str(Path(ci_tags.__file__).parent), quiet=1)
    command = str(Path(sys.executable).parent / "ci-tags")
    if args.services:
        return services_steady(command, args.repos if args.repos != 30 else 10, args.tags if args.tags != 10000 else 60)
    if args.steady:
        return steady(command, args.repos, args.tags if args.tags != 10000 else 60, args.signed)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        registry = start_registry(Path(tmp) / "registry")
        try:
            regs = Registries(Http(pool_size=32), {})
            reg = regs.get(registry.host)
            started = time.perf_counter()
            populate(reg, "bench/janitor", args.tags, args.expired)
            print(f"populated {args.tags} tags in {time.perf_counter() - started:.0f} s", file=sys.stderr)
            mark = registry.mark()
            started = time.perf_counter()
            done = subprocess.run([command, "janitor", f"{registry.host}/bench/janitor", "--json"], cwd=tmp,
                                  capture_output=True, text=True, env={**os.environ, "CI_TAGS_BRANCH": "main"})
            wall = time.perf_counter() - started
            if done.returncode != 0:
                print(done.stderr, file=sys.stderr)
                return 1
            removed = len(json.loads(done.stdout)["repositories"][0]["removed"])
            requests = len(registry.since(mark))
            left = len(reg.tags("bench/janitor"))
            rows.append(("ci-tags janitor (concurrency 8)", removed, wall, requests, left))

            skopeo = shutil.which("skopeo")
            if skopeo and args.skopeo_sample:
                # the same size of repository as the janitor started on, since the registry's cost grows with it
                populate(reg, "bench/skopeo", args.tags, args.expired)
                # skopeo deletes by digest: every tag on that digest goes; give each tag its own digest here
                mark = registry.mark()
                started = time.perf_counter()
                for n in range(args.skopeo_sample):
                    subprocess.run([skopeo, "delete", "--tls-verify=false",
                                    f"docker://{registry.host}/bench/skopeo:pipeline-{n}"],
                                   check=True, capture_output=True)
                wall = time.perf_counter() - started
                rows.append((f"skopeo delete loop (first {args.skopeo_sample} tags)", args.skopeo_sample, wall,
                             len(registry.since(mark)), len(reg.tags("bench/skopeo"))))
            regs.http.close()
        finally:
            registry.stop()
        rows.append(hub_api_run(command, Path(tmp), args.tags, args.expired))
    print(f"| {args.tags} tags, {args.expired} expired | removed | wall time (s) | removals/s | requests per "
          "removal | tags left |")
    print("|---|---|---|---|---|---|")
    for tool, removed, wall, requests, left in rows:
        print(f"| {tool} | {removed} | {wall:.1f} | {removed / wall:.0f} | {requests / max(removed, 1):.2f} | {left} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
