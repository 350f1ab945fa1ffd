"""A version manifesto: the output of a command run in a built image (``pip freeze``, ``rpm -qa``), stored as the
sha256 of that output in the ``dev.ci-tags.manifesto`` label and, bounded, its text in a second label. Two builds
with the same package versions then compare equal (``ci-tags sync`` follows this label), and a rebuild that changed
a package does not."""

from __future__ import annotations

import hashlib
import re

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


# The command runs under ``sh -c`` in the container; a last line with a marker of this run and the command's exit
# code follows its output. buildah can lose the end of a short-lived container's standard output on a busy machine
# (seen in about 1 run of 100 under load), and a lost end would label the image with the hash of half an output.
_WRAPPER = 'sh -c "$1"; rc=$?; printf "\\n%s %d\\n" "$2" "$rc"; exit "$rc"'


def manifesto_argv(command: str, marker: str) -> list[str]:
    """What runs in the container: ``command`` under ``sh -c``, then a line ``<marker> <exit code>``."""
    return ["sh", "-c", _WRAPPER, "sh", command, marker]


def manifesto_output(stdout: bytes, marker: str) -> bytes | None:
    """The command's own output from what :func:`manifesto_argv` printed; None when the marker line is not its
    end (the output was cut short on its way out of the container)."""
    found = re.search(rb"\n" + re.escape(marker.encode()) + rb" \d+\n\Z", stdout)
    return stdout[: found.start()] if found else None
