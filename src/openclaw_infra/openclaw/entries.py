"""The normalised transcript entry every reader yields and every consumer (index, summarize,
daily) reads: one shape for JSONL files and the SQLite `transcript_events` table alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Entry:
    agent: str  # agent id, e.g. "main"
    session_id: str
    entry_id: str  # the line's `id` (8 hex or a UUID); "L<line>" when the line has none
    position: int  # JSONL: 1-based line number; SQLite: seq
    timestamp: datetime | None  # timezone-aware UTC; None when both timestamps are missing
    role: str  # "user", "assistant", "compaction", "audio" (kept high-value kinds)
    text: str  # cleaned text: metadata preambles and reply tags stripped
    source: str  # path relative to the state dir, e.g. "agents/main/sessions/<id>.jsonl"
    container: str  # "jsonl" or "sqlite"

    @property
    def citation(self) -> str:
        """Provenance link used in summaries: `session-id#entry-id`."""
        return f"{self.session_id}#{self.entry_id}"
