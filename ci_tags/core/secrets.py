"""What must never be shown: the masking of credentials a server or a message may echo. One rule, used by the
HTTP trace, the registries' error texts and every line the output writes."""

from __future__ import annotations

import functools
import re


@functools.cache
def _patterns() -> tuple[tuple[re.Pattern[str], ...], re.Pattern[str], re.Pattern[str]]:
    """The masking patterns, compiled on first use: a run that has nothing to mask (a retag that succeeds) does
    not pay for them at start-up."""
    secrets = (
        # an echoed header, whatever follows it on the line
        re.compile(r"(?i)\b(authorization|proxy-authorization|x-registry-auth|cookie|private-token|job-token)"
                   r"(\s*[:=]\s*)[^\r\n,;\"']+"),
        re.compile(r"(?i)\b(basic|bearer)(\s+)[A-Za-z0-9._~+/=-]{4,}"),
        re.compile(r"(?i)\b(password|passwd|secret|token|access_token|refresh_token|api[_-]?key)"
                   r"(\"?\s*[:=]\s*\"?)[^\s&,;\"']+"),
    )
    jwt = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
    base64_word = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{8,}={0,2}(?![A-Za-z0-9+/=])")
    return secrets, jwt, base64_word


def scrub(text: str) -> str:
    """A server's error text with credentials it may echo replaced by ``***``: Authorization headers,
    Basic/Bearer values, JWTs, ``password=...`` pairs, and base64 words that decode to ``user:password``."""
    secrets, jwt, base64_word = _patterns()
    for pattern in secrets:
        text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
    text = jwt.sub("***", text)
    return base64_word.sub(lambda m: "***" if _is_user_pass(m.group(0)) else m.group(0), text)


def _is_user_pass(word: str) -> bool:
    import base64
    import binascii

    try:
        decoded = base64.b64decode(word + "=" * (-len(word) % 4), validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    return ":" in decoded and decoded.isprintable()
