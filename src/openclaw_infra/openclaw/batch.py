"""What the reader hands to consumers: a transcript `Source`, the `Batch` read from it and the
`ReadStats` of that read."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from openclaw_infra.openclaw.cursors import Cursor
from openclaw_infra.openclaw.entries import Entry


@dataclass(frozen=True, slots=True)
class Source:
    """One transcript: a JSONL session file, or one session in an agent's SQLite store."""

    key: str  # stable: "jsonl:agents/main/sessions/<id>.jsonl" or "sqlite:main:<session_id>"
    agent: str
    container: str  # "jsonl" or "sqlite"
    path: Path  # the JSONL file, or the agent's openclaw-agent.sqlite
    session_id: str
    is_user_conversation: bool = True  # False for cron:, hook: and sub-agent sessions
    session_key: str | None = None  # OpenClaw's session key when known (agent:main:…)
    rel_path: str = ""  # `path` relative to the state dir (what Entry.source holds)
    raw_id: bytes | None = None  # a store session id that is not UTF-8, as stored (session_id
    # then shows it with backslash escapes); the reader selects its events by these bytes


@dataclass(slots=True)
class ReadStats:
    """Counts for one read. `noise` covers every well-formed line that was dropped (tool
    results, custom entries, headers, heartbeats…), broken down by reason in `noise_by`."""

    lines: int = 0  # lines (JSONL) or events (SQLite) consumed
    kept: int = 0
    malformed: int = 0  # not JSON, not an object, undecodable zstd: skipped and logged
    invalid_utf8: int = 0  # decoded with U+FFFD replacements, then read normally
    noise: int = 0
    oversized: int = 0  # longer than the line limit: skipped without parsing
    truncated: int = 0  # kept, but the text was cut to the text limit
    future_timestamps: int = 0  # every timestamp of the line lies in the future
    partial_tail: int = 0  # an unterminated last line still being written: left for later
    gone: bool = False  # the source vanished between discovery and reading
    noise_by: dict[str, int] = field(default_factory=dict)

    def add_noise(self, reason: str) -> None:
        self.noise += 1
        self.noise_by[reason] = self.noise_by.get(reason, 0) + 1

    def as_dict(self) -> dict[str, object]:
        return {
            "lines": self.lines,
            "kept": self.kept,
            "malformed": self.malformed,
            "invalid_utf8": self.invalid_utf8,
            "noise": self.noise,
            "oversized": self.oversized,
            "truncated": self.truncated,
            "future_timestamps": self.future_timestamps,
            "partial_tail": self.partial_tail,
            "gone": self.gone,
            "noise_by": dict(sorted(self.noise_by.items())),
        }


@dataclass(frozen=True, slots=True)
class Batch:
    """Kept entries of one read, each with the cursor just after it, and `end`, the cursor
    after everything read (noise and skipped lines included)."""

    source: Source
    rewritten: bool  # the source was rewritten since the cursor: this batch starts over
    items: list[tuple[Entry, Cursor]]
    end: Cursor
    stats: ReadStats

    @property
    def entries(self) -> list[Entry]:
        return [entry for entry, _ in self.items]
