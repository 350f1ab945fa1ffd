"""A build context for the content-hash rule tests: every file a case may copy, and the hash of its Dockerfile."""

from __future__ import annotations

from pathlib import Path

from ci_tags.core.dockerfile import BaseInfo
from ci_tags.project.hashing import content_hash

FILES = ("app.py", "other.py", "a.txt", "b.txt", "dist/app-amd64", "dist/app-arm64", "dist/app-", "x/y.txt",
         "script.sh", "lib/one.txt", "lib/two.txt", "3.txt", "$F", "package.json", "lib/]x.txt")


def context(root: Path, dockerfile: str | bytes) -> Path:
    """A build context at ``root`` holding every file of FILES (each with its name as content) and ``dockerfile``."""
    root.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(f"{name}\n")
    data = dockerfile.encode() if isinstance(dockerfile, str) else dockerfile
    (root / "Dockerfile").write_bytes(data)
    return root


def h(root: Path, arch: str = "amd64", build_args: dict[str, str] | None = None, target: str | None = None,
      base_info: BaseInfo | None = None) -> str:
    """The content hash (hex) of the context's Dockerfile: short, as the rule tests use it on nearly every line."""
    info = base_info
    return content_hash(root / "Dockerfile", root, arch=arch, build_args=build_args or {}, target=target,
                        bases={}, base_info=(lambda ref: info) if info else None).hex


def moves(root: Path, name: str, **kw: object) -> bool:
    """Whether changing context file ``name`` moves the content hash."""
    before = h(root, **kw)  # type: ignore[arg-type]  # the case's keywords
    path = root / name
    path.write_text(path.read_text() + "changed\n")
    return h(root, **kw) != before  # type: ignore[arg-type]  # the case's keywords
