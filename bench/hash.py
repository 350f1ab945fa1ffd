"""Benchmark: content hash of a 1 GB build context vs plain Python hashlib over the same bytes.
Both read the same files from the page cache (warmed first). Target: within 1.3x of hashlib.
Run: .venv/bin/python -m bench.hash [--megabytes 1024] [--files 1024]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from ci_tags.project.hashing import content_hash


def plain_hashlib(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for path in paths:
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    return h.hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=1024)
    parser.add_argument("--files", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    size = args.megabytes * (1 << 20) // args.files
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = []
        for i in range(args.files):
            d = root / "data" / f"d{i % 32:02d}"
            d.mkdir(parents=True, exist_ok=True)
            p = d / f"f{i:05d}.bin"
            p.write_bytes(os.urandom(size))
            paths.append(p)
        (root / "Dockerfile").write_text("FROM debian:12\nCOPY data/ /data/\n")
        plain_hashlib(paths)  # warm the page cache
        ours, theirs = [], []
        for _ in range(args.runs):
            started = time.perf_counter()
            content_hash(root / "Dockerfile", root, arch="amd64", build_args={}, target=None, bases={})
            ours.append(time.perf_counter() - started)
            started = time.perf_counter()
            plain_hashlib(paths)
            theirs.append(time.perf_counter() - started)
    total = args.megabytes
    a, b = statistics.median(ours), statistics.median(theirs)
    print(f"| {total} MB in {args.files} files | median s ({args.runs} runs) | MB/s |")
    print("|---|---|---|")
    print(f"| ci-tags content hash | {a:.2f} | {total / a:.0f} |")
    print(f"| hashlib sha256 over the same bytes | {b:.2f} | {total / b:.0f} |")
    print(f"\nratio: {a / b:.2f}x hashlib")
    return 0


if __name__ == "__main__":
    sys.exit(main())
