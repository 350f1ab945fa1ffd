"""Benchmark: promote and sync of 100 images across two registries (the real distribution registry, loopback).

Prints, per scenario: wall time, requests per image (both registries' access logs), and blob bytes moved (the
copies' streamed bytes). The scenarios: a first promotion into an empty registry, the same file again (all
"nothing to do"), the same builds promoted to a second release tag (the destination has every blob: zero bytes),
then sync: a first sync, a re-sync of unchanged sources, a re-sync after rebuilds with the same label (another
digest, no new revision), and a re-sync after 10 images changed their label.
Run: .venv/bin/python -m bench.release [--images 100] [--layers 3] [--layer-kib 256]
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from ci_tags.cli import main as ci_tags
from ci_tags.oci.http import Http
from ci_tags.oci.registries import Registries
from tests.support.images import push_image
from tests.support.registry import start_registry

LABEL = "dev.ci-tags.manifesto"


def run(argv: list[str], env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    code = ci_tags([*argv, "--json"], env=env, stdout=out, stderr=err)
    elapsed = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"ci-tags {' '.join(argv)} exited {code}: {err.getvalue()}")
    doc: dict[str, Any] = json.loads(out.getvalue())
    return elapsed, doc


def promoted_bytes(doc: dict[str, Any]) -> int:
    return sum(e.get("copied", {}).get("bytes_streamed", 0) for e in doc["entries"])


def synced_bytes(doc: dict[str, Any]) -> int:
    return sum(int(i.get("bytes_streamed", 0)) for i in doc["images"])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--layer-kib", type=int, default=256)
    args = parser.parse_args()
    n = args.images
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {"HOME": tmp}
        src = start_registry(root / "src")
        dst = start_registry(root / "dst")
        regs = Registries(Http(), env)
        try:
            reg = regs.get(src.host)
            names = [f"image-{i:03d}" for i in range(n)]
            for name in names:
                push_image(reg, f"build/{name}", "master-1", layers=args.layers, layer_size=args.layer_kib << 10,
                           labels={LABEL: f"{name}-m1"})
            rows: list[tuple[str, float, float, int]] = []

            def measure(label: str, argv: list[str], count: Any) -> dict[str, Any]:
                marks = (src.mark(), dst.mark())
                elapsed, doc = run(argv, env)
                requests = len(src.since(marks[0])) + len(dst.since(marks[1]))
                rows.append((label, elapsed, requests / n, count(doc)))
                return doc

            def promotion(tag: str) -> Path:
                path = root / f"promote-{tag}.yml"
                path.write_text("images:\n" + "".join(
                    f"  - name: {dst.host}/release/{name}\n    source: {src.host}/build/{name}:master-1\n"
                    f"    src_ref: https://git.example/commit/{i}\n    tag: {tag}\n" for i, name in enumerate(names)))
                return path

            first = promotion("stx.1.0")
            measure("promote: first, into an empty registry", ["promote", str(first)], promoted_bytes)
            measure("promote: the same file again (nothing to do)", ["promote", str(first)], promoted_bytes)
            measure("promote: the same builds to a second tag (blobs present)",
                    ["promote", str(promotion("stx.1.1"))], promoted_bytes)

            sync = root / "sync.yml"
            sync.write_text(f"source: {src.host}/build\ndestination: {dst.host}/kolla\ntrack: master-1\n"
                            f"label: {LABEL}\nimages: [{', '.join(names)}]\n")
            measure("sync: first", ["sync", str(sync)], synced_bytes)
            measure("sync: unchanged sources", ["sync", str(sync)], synced_bytes)
            for name in names:  # rebuilt with the same package versions: new digests, the same manifesto
                push_image(reg, f"build/{name}", "master-1", layers=args.layers, layer_size=args.layer_kib << 10,
                           labels={LABEL: f"{name}-m1"})
            measure("sync: rebuilt, same label (no revision)", ["sync", str(sync)], synced_bytes)
            for name in names[:10]:
                push_image(reg, f"build/{name}", "master-1", layers=args.layers, layer_size=args.layer_kib << 10,
                           labels={LABEL: f"{name}-m2"})
            measure("sync: 10 images changed their label", ["sync", str(sync)], synced_bytes)
        finally:
            regs.http.close()
            src.stop()
            dst.stop()
    image_bytes = args.layers * (args.layer_kib << 10)
    print(f"# {n} images of {args.layers} layers x {args.layer_kib} KiB ({image_bytes} bytes of layers each), "
          "source and destination: two distribution registries on loopback")
    print(f"{'scenario':<58} {'seconds':>8} {'req/image':>10} {'blob bytes moved':>17}")
    for label, seconds, per_image, moved in rows:
        print(f"{label:<58} {seconds:>8.2f} {per_image:>10.1f} {moved:>17}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
