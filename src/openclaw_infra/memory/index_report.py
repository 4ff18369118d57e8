"""What an indexing run reports: its figures (`infra index --json`, the ledger) and a
progress line on a terminal."""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field
from typing import Any

# The figures that count changes; a rebuild's catch-up pass adds these to its first pass's
# (the first pass already counted every source and file it looked at).
CHANGE_FIELDS = (
    "sources_read",
    "rewritten",
    "files_changed",
    "removed",
    "turns_added",
    "chunks_added",
    "chunks_removed",
    "embedded",
    "reused",
    "malformed",
)


@dataclass
class IndexStats:
    """What one indexing call did (printed by `infra index --json`, kept in the ledger)."""

    generation: int = 0
    model: str = ""
    rebuilt: bool = False
    sources: int = 0  # transcript sources discovered
    sources_read: int = 0  # sources with new or rewritten entries
    sources_skipped: int = 0  # cron, hook and sub-agent sessions (not the user's)
    rewritten: int = 0  # sources re-read from the start (rewritten or truncated files)
    files: int = 0  # Markdown files looked at
    files_changed: int = 0
    removed: int = 0  # documents dropped because their file or session is gone
    turns_added: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    embedded: int = 0  # texts sent to the model
    reused: int = 0  # vectors taken from the content-hash cache
    chunks_total: int = 0
    malformed: int = 0  # transcript lines skipped as unreadable (the reader logs each)
    refused: int = 0  # files not read: not a regular file, a link out of the tree, too big
    first_refused: str = ""  # "path: reason" of the first of them (infra health names it)
    took_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(data.pop("extra"))
        return data

    def refuse(self, where: str, reason: str) -> None:
        self.refused += 1
        if not self.first_refused:
            self.first_refused = f"{where}: {reason}"

    def add_changes(self, other: IndexStats) -> None:
        """Count `other`'s changes too (not what it looked at)."""
        for name in CHANGE_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))


class Progress:
    """A one-line progress counter on stderr, only when stderr is a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.shown = False

    def update(self, what: str, done: int, total: int) -> None:
        if self.enabled:
            sys.stderr.write(f"\rindexing {what}: {done}/{total}   ")
            sys.stderr.flush()
            self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()
