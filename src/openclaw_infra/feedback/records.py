"""The shapes of the feedback log: verdicts, one record, and the two refusals.

A refused value is a `RefusedError` (exit 65: forged, expired, malformed, or naming a target
this install never issued) or a `RateLimitedError` (exit 75: too much feedback for one
target, or in all, within 24 hours). Either way nothing is stored but a count per reason
and day (`feedback_refused`), which health reports.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from openclaw_infra.core.errors import DataError, TempFailError, UsageError

GOOD, BAD, FIX = "good", "bad", "fix"
VERDICTS = (GOOD, BAD, FIX)
LESSON_VERDICTS = (BAD, FIX)  # what `infra lessons` learns from
NOTE_MAX_CHARS = 1000
CHANNEL_MAX_CHARS = 40

MALFORMED, FORGED, EXPIRED, UNKNOWN_TARGET, RATE_LIMITED = (
    "malformed",
    "forged",
    "expired",
    "unknown-target",
    "rate-limited",
)
REASONS = (MALFORMED, FORGED, EXPIRED, UNKNOWN_TARGET, RATE_LIMITED)


class RefusedError(DataError):
    """A button value that is not one this install signed and still honours (exit 65)."""

    reason: str = MALFORMED

    def __init__(self, reason: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.reason = reason


class RateLimitedError(TempFailError):
    """Too much feedback within 24 hours (exit 75): nothing stored, try later."""

    reason: ClassVar[str] = RATE_LIMITED


def check_verdict(value: str, *, option: str = "--verdict") -> str:
    """`value` when it is one of VERDICTS; a usage error (2) naming it otherwise."""
    verdict = value.strip().lower()
    if verdict not in VERDICTS:
        raise UsageError(f"{option} {value!r}: unknown verdict", hint="good, bad or fix")
    return verdict


def check_note(value: str | None) -> str | None:
    """A note as given (stripped), None when blank; over NOTE_MAX_CHARS is a usage error."""
    if value is None or not value.strip():
        return None
    note = value.strip()
    if len(note) > NOTE_MAX_CHARS:
        raise UsageError(
            f"--note: {len(note)} characters, more than {NOTE_MAX_CHARS}",
            hint="say the correction in a sentence or two",
        )
    if "\x00" in note:
        raise UsageError("--note: contains a NUL character")
    return note


def check_channel(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    channel = value.strip()
    if len(channel) > CHANNEL_MAX_CHARS or not channel.replace("-", "").replace("_", "").isalnum():
        raise UsageError(f"--channel {value!r}: a channel name such as telegram or slack")
    return channel


@dataclass(frozen=True)
class FeedbackRecord:
    """One row of the feedback log."""

    id: int
    created_at: float
    channel: str | None
    target: str
    verdict: str
    note: str | None
    token_id: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row | tuple[Any, ...]) -> FeedbackRecord:
        return cls(
            int(row[0]),
            float(row[1]),
            row[2],
            str(row[3]),
            str(row[4]),
            row[5],
            row[6],
        )

    @property
    def when(self) -> str:
        return datetime.fromtimestamp(self.created_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["time"] = self.when
        return data


COLUMNS = "id, created_at, channel, target, verdict, note, token_id"
