"""The one error root of ci-tags. Each error carries the exit code the CLI returns for it."""

from __future__ import annotations

from collections.abc import Sequence

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_AUTH = 3
EXIT_NOT_FOUND = 4


class CiTagsError(Exception):
    """Root of every error ci-tags reports to the user. The message is one line, free of secrets."""

    exit_code = EXIT_FAILED
    label = "error"
    kind = "error"  # the stable word for scripts: ``error.kind`` of a --json document
    problems: Sequence[str] = ()  # each problem of an input, listed (``problem: ...``) before the error

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class BadInput(CiTagsError):
    """A reference, tag, flag or file the user gave is not valid."""

    exit_code = EXIT_BAD_INPUT
    label = "bad input"
    kind = "bad_input"


class AuthError(CiTagsError):
    """The registry or API refused the credentials, or granted less than the operation needs."""

    exit_code = EXIT_AUTH
    label = "authentication refused"
    kind = "auth"


class NotFound(CiTagsError):
    """A repository, tag, manifest or blob does not exist."""

    exit_code = EXIT_NOT_FOUND
    label = "not found"
    kind = "not_found"


class RegistryError(CiTagsError):
    """The registry answered with an error, or could not be reached."""

    exit_code = EXIT_FAILED
    label = "registry error"
    kind = "registry"


class OperationFailed(CiTagsError):
    """Some items of a batch failed; the summary was printed already."""

    exit_code = EXIT_FAILED
    label = "failed"
    kind = "failed"


class Unreachable(RegistryError):
    """No HTTP answer from a host; ``cause`` says why: refused, not-resolved, tls-verify, http-server, timeout,
    reset or other."""

    def __init__(self, message: str, *, cause: str, host: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.cause = cause
        self.host = host
