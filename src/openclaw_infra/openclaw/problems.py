"""Problem logging for one transcript read, shared by the JSONL and SQLite readers.

A damaged transcript can hold thousands of bad lines; the log gets the first
`MAX_LOGGED_PROBLEMS`, each with where it is, and one line counting the rest. Every problem
is also counted in the read's `ReadStats` by the caller.
"""

from __future__ import annotations

from typing import Any

import structlog

MAX_LOGGED_PROBLEMS = 20  # per read; the rest are only counted

log = structlog.get_logger("infra.reader")


class ProblemLog:
    """The problems of one read: `event` for each, located by `position` (line or seq) and
    the fields of `where` (file, session)."""

    def __init__(self, event: str, position: str, **where: Any) -> None:
        self.event = event
        self.position = position
        self.where = where
        self.logged = 0

    def __call__(self, reason: str, at: int, **fields: Any) -> None:
        """A skipped line or event."""
        self.note(self.event, at, reason=reason, **fields)
        self.logged += 1

    def note(self, event: str, at: int, **fields: Any) -> None:
        """A repair (not a skip): logged while under the cap, not counted against it."""
        if self.logged < MAX_LOGGED_PROBLEMS:
            log.warning(event, **self.where, **{self.position: at}, **fields)

    def close(self, event: str) -> None:
        """One line for the problems past the cap, if any."""
        if self.logged > MAX_LOGGED_PROBLEMS:
            log.warning(event, **self.where, not_logged=self.logged - MAX_LOGGED_PROBLEMS)
