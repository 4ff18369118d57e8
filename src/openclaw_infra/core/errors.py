"""The one error hierarchy and exit-code table (DESIGN.md "Exit codes").

Every failure a user can act on is an `InfraError` subclass carrying its exit code and a
message written for the user. The CLI's outer handler prints that message as one line on
stderr and exits with the code; anything else is exit 1 with the traceback in the log.
"""

from __future__ import annotations

from typing import ClassVar

# code -> (name, meaning). docs/exit-codes.md is checked against this table by a test.
EXIT_CODES: dict[int, tuple[str, str]] = {
    0: ("OK", "success (also: nothing to do)"),
    1: ("INTERNAL", "unexpected internal error (traceback in the log, one line on stderr)"),
    2: ("USAGE", "usage error (bad option or argument)"),
    65: ("DATAERR", "bad input data"),
    66: ("NOINPUT", "input file missing or unreadable"),
    69: ("UNAVAILABLE", "a dependency or model is unavailable"),
    73: ("CANTCREAT", "cannot write output: disk full or read-only"),
    75: ("TEMPFAIL", "temporary failure: lock held or LLM API unavailable; work stays owed"),
    78: ("CONFIG", "configuration error"),
}

# `infra health` alone speaks the monitoring convention.
HEALTH_CODES: dict[int, str] = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}


class InfraError(Exception):
    """Base of every expected failure; `exit_code` is what the process exits with."""

    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message


class InternalError(InfraError):
    exit_code = 1


class UsageError(InfraError):
    exit_code = 2


class DataError(InfraError):
    """The input exists but its content is bad."""

    exit_code = 65


class NoInputError(InfraError):
    """An input file is missing or unreadable."""

    exit_code = 66


class UnavailableError(InfraError):
    """A dependency, model or index identity is not usable."""

    exit_code = 69


class CantCreateError(InfraError):
    """Output cannot be written (disk full, read-only, permissions)."""

    exit_code = 73


class TempFailError(InfraError):
    """Try again later: the lock is held or a remote API is down. Work stays owed."""

    exit_code = 75


class LockHeldError(TempFailError):
    """Another run holds a job lock."""


class ConfigError(InfraError):
    """A setting is missing or invalid."""

    exit_code = 78


ERROR_CLASSES: tuple[type[InfraError], ...] = (
    InternalError,
    UsageError,
    DataError,
    NoInputError,
    UnavailableError,
    CantCreateError,
    TempFailError,
    ConfigError,
)


def os_error_to_infra(exc: OSError, path: object) -> InfraError:
    """Map an OSError raised while touching `path` to the right exit code."""
    import errno

    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG):
        return CantCreateError(f"cannot write {path}: {exc.strerror or exc}")
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return NoInputError(f"{path}: no such file or directory")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return CantCreateError(f"{path}: permission denied")
    return CantCreateError(f"{path}: {exc.strerror or exc}")
