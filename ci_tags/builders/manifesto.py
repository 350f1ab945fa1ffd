"""A version manifesto: the output of a command run in a built image (``pip freeze``, ``rpm -qa``), stored as the
sha256 of that output in the ``dev.ci-tags.manifesto`` label and, bounded, its text in a second label. Two builds
with the same package versions then compare equal (``ci-tags sync`` follows this label), and a rebuild that changed
a package does not."""

from __future__ import annotations

import hashlib

from ci_tags.core.manifest import LABEL_MANIFESTO, LABEL_MANIFESTO_TEXT

LABEL = LABEL_MANIFESTO
TEXT_LABEL = LABEL_MANIFESTO_TEXT
MAX_TEXT = 16 << 10  # labels live in the image config, which every pull reads: keep it small


def manifesto_labels(output: bytes) -> dict[str, str]:
    """The two labels for a manifesto command's output (the hash covers all of it; the text is cut)."""
    text = output.decode("utf-8", errors="replace")
    if len(text.encode()) > MAX_TEXT:
        cut = text.encode()[: MAX_TEXT - 64].decode("utf-8", errors="ignore")
        text = f"{cut}\n... (cut: {len(output)} bytes in all)\n"
    return {LABEL: "sha256:" + hashlib.sha256(output).hexdigest(), TEXT_LABEL: text}
