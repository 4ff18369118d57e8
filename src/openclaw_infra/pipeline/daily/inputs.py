"""What a day's digest is made from: hourly notes, compaction summaries and voice notes.

- Hourly notes: every bullet of the `summarize` sections recorded for the day (and for
  earlier days, if they arrived after those days were digested), with the transcript links
  the bullet already carries: a digest item citing it inherits them.
- Compaction summaries: OpenClaw's own summaries of long sessions (decisions, open TODOs,
  pending asks), read straight from the transcripts with daily-sync's own cursor, linked as
  `session-id#entry-id`.
- Voice notes: infra's transcripts in `memory/voice/`, linked as `path#Lx-Ly`.

Each input has a key in `digest_used`; an input is used by exactly one digest. The reader's
cursor for compactions moves only past entries of days already digested, in the same
transaction as the day, so nothing is skipped when a run stops half-way.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import structlog

from openclaw_infra.core.config import Settings
from openclaw_infra.core.errors import InfraError
from openclaw_infra.core.layout import VOICE_DIR, output_rel
from openclaw_infra.openclaw.cursors import Cursor, CursorStore
from openclaw_infra.openclaw.entries import Entry
from openclaw_infra.openclaw.reader import read_conversations
from openclaw_infra.pipeline import digest_records, records
from openclaw_infra.pipeline.hours import place

log = structlog.get_logger("infra.daily")

CONSUMER = "daily-sync"
HOURLY, COMPACTION, VOICE = "hourly", "compaction", "voice"

_TRAILING_LINK = re.compile(r" \[([^\[\]\s]{1,300})\]$")
_VOICE_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})-(\d{2})(\d{2})\d{2}-[0-9a-f]{4,64}\.md$")


@dataclass(frozen=True)
class Note:
    """One unit of input as the digest sees it."""

    kind: str  # hourly | compaction | voice
    agent: str | None
    day: str  # the user's date it belongs to
    when: str  # hour label or HH:MM, shown to the model
    text: str
    links: tuple[str, ...]  # provenance links an item citing this note carries
    used_key: str
    summarizer: str | None = None  # hourly notes: which summariser wrote them


@dataclass
class DayInputs:
    day: date
    notes: list[Note] = field(default_factory=list)
    used: dict[str, set[str]] = field(default_factory=dict)  # kind -> keys consumed
    cursors: dict[str, Cursor] = field(default_factory=dict)  # source key -> new cursor
    hourly_files: dict[str, str] = field(default_factory=dict)  # path -> day

    @property
    def empty(self) -> bool:
        return not self.notes

    def use(self, kind: str, key: str) -> None:
        self.used.setdefault(kind, set()).add(key)

    @property
    def agents(self) -> list[str]:
        return sorted({n.agent for n in self.notes if n.agent})


def split_links(line: str) -> tuple[str, list[str]]:
    """`- text [a#b] [c#d]` → ("text", ["a#b", "c#d"]) for a rendered summary bullet."""
    rest = line[2:] if line.startswith("- ") else line
    links: list[str] = []
    while True:
        match = _TRAILING_LINK.search(rest)
        if match is None or "#" not in match.group(1):
            break
        links.append(match.group(1))
        rest = rest[: match.start()]
    return unescape_markdown(rest.strip()), list(reversed(links))


def unescape_markdown(text: str) -> str:
    """Undo `bullets.markdown_text` so the model reads the words, not our escapes."""
    if text.startswith(("\\#", "\\```", "\\~~~")):
        text = text[1:]  # the escape before a heading or fence mark
    return (
        text.replace("\\[", "[")
        .replace("\\]", "]")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("\\\\", "\\")
    )


@dataclass
class _Compaction:
    entry: Entry
    day: str


@dataclass
class _SourceRead:
    key: str
    stored: Cursor | None
    items: list[tuple[Cursor, str]]  # cursor after each kept entry, and its day
    end: Cursor

    def target(self, day: str) -> Cursor | None:
        """After the longest run of entries from the start whose day is digested."""
        last: Cursor | None = None
        for cursor, entry_day in self.items:
            if entry_day > day:
                return last
            last = cursor
        return self.end


class InputCollector:
    """Reads once per run, then hands out each owed day's inputs, oldest day first."""

    def __init__(self, settings: Settings, conn: sqlite3.Connection, now: datetime) -> None:
        self.settings = settings
        self.conn = conn
        self.tz: ZoneInfo = settings.tz
        self.now = now
        self.cursors = CursorStore(conn, CONSUMER)
        self.errors: list[InfraError] = []
        self._used = {
            kind: digest_records.used_keys(conn, kind) for kind in (HOURLY, COMPACTION, VOICE)
        }
        self._reads: list[_SourceRead] = []
        self._compactions: list[_Compaction] = []
        self._read_transcripts()

    # --- what exists -----------------------------------------------------------------------
    def first_input_day(self) -> date | None:
        """The oldest day with an input no digest has used (where a first run starts)."""
        days = [c.day for c in self._compactions if self._unused(COMPACTION, _key(c.entry))]
        row = self.conn.execute(
            "SELECT min(s.day) FROM summary_sections s WHERE NOT EXISTS (SELECT 1 FROM "
            "digest_used u WHERE u.kind = 'hourly' AND "
            "u.key = s.hour_start || '|' || s.agent || '|' || s.part)"
        ).fetchone()
        if row is not None and row[0] is not None:
            days.append(str(row[0]))
        days.extend(day for day, _ in self._voice_files())
        return date.fromisoformat(min(days)) if days else None

    def _unused(self, kind: str, key: str) -> bool:
        return key not in self._used[kind]

    # --- transcripts (compactions) ---------------------------------------------------------
    def _read_transcripts(self) -> None:
        for source, stored, batch in read_conversations(
            self.settings, self.cursors, job="daily", errors=self.errors, now=self.now
        ):
            fallback = _mtime(source.path, self.now)
            placed = place(
                [e.timestamp for e in batch.entries], now=self.now, fallback=fallback
            ).times
            items = []
            for (entry, cursor), at in zip(batch.items, placed, strict=True):
                day = at.astimezone(self.tz).date().isoformat()
                items.append((cursor, day))
                if entry.role == COMPACTION:
                    self._compactions.append(_Compaction(entry, day))
            self._reads.append(_SourceRead(source.key, stored, items, batch.end))

    # --- one day ---------------------------------------------------------------------------
    def for_day(self, day: date) -> DayInputs:
        """Every unused input of `day` or earlier; marks them used for the rest of this run
        (the database learns it only when the day commits)."""
        inputs = DayInputs(day)
        key = day.isoformat()
        inputs.notes.extend(self._hourly(key, inputs))
        inputs.notes.extend(self._compaction_notes(key, inputs))
        inputs.notes.extend(self._voice_notes(key, inputs))
        for kind, keys in inputs.used.items():
            self._used[kind].update(keys)
        for read in self._reads:
            target = read.target(key)
            if target is not None and target != read.stored:
                inputs.cursors[read.key] = target
        return inputs

    def committed(self, inputs: DayInputs) -> None:
        """The day's cursors are now the stored ones."""
        for read in self._reads:
            if read.key in inputs.cursors:
                read.stored = inputs.cursors[read.key]

    def _hourly(self, day: str, inputs: DayInputs) -> Iterable[Note]:
        """Bullets of every unused section of `day` or earlier (late sections included)."""
        # only days that still hold an unused section: a long history is not re-read daily
        rows = self.conn.execute(
            "SELECT DISTINCT s.day FROM summary_sections s WHERE s.day <= ? AND NOT EXISTS "
            "(SELECT 1 FROM digest_used u WHERE u.kind = 'hourly' AND "
            "u.key = s.hour_start || '|' || s.agent || '|' || s.part) ORDER BY s.day",
            (day,),
        ).fetchall()
        for (section_day,) in rows:
            for section in records.sections_for_day(self.conn, str(section_day)):
                used_key = f"{section.hour_start}|{section.agent}|{section.part}"
                if not self._unused(HOURLY, used_key):
                    continue
                inputs.use(HOURLY, used_key)  # an empty section is consumed all the same
                inputs.hourly_files[f"memory/hourly/{section.day}.md"] = section.day
                for line in section.body.splitlines():
                    if not line.startswith("- "):
                        continue
                    text, links = split_links(line)
                    if text:
                        yield Note(
                            HOURLY,
                            section.agent,
                            section.day,
                            section.hour_label,
                            text,
                            tuple(links),
                            used_key,
                            section.summarizer,
                        )

    def _compaction_notes(self, day: str, inputs: DayInputs) -> Iterable[Note]:
        for item in self._compactions:
            key = _key(item.entry)
            if item.day > day or not self._unused(COMPACTION, key):
                continue
            inputs.use(COMPACTION, key)
            stamp = item.entry.timestamp
            when = stamp.astimezone(self.tz).strftime("%H:%M") if stamp else "?"
            yield Note(
                COMPACTION,
                item.entry.agent,
                item.day,
                when,
                item.entry.text,
                (item.entry.citation,),
                key,
            )

    def _voice_files(self) -> list[tuple[str, Path]]:
        folder = self.settings.voice_dir
        if not folder.is_dir():
            return []
        out = []
        for path in sorted(folder.iterdir()):
            match = _VOICE_NAME.match(path.name)
            if match and path.is_file():
                rel = output_rel(VOICE_DIR, path.name)
                if self._unused(VOICE, rel):
                    out.append((match.group(1), path))
        return out

    def _voice_notes(self, day: str, inputs: DayInputs) -> Iterable[Note]:
        for note_day, path in self._voice_files():
            if note_day > day:
                continue
            rel = output_rel(VOICE_DIR, path.name)
            inputs.use(VOICE, rel)
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                log.warning("daily.voice_unreadable", path=rel, error=str(exc))
                continue
            body, first, last = voice_body(text)
            match = _VOICE_NAME.match(path.name)
            when = f"{match.group(2)}:{match.group(3)}" if match else "?"
            link = f"{rel}#L{first}" if first == last else f"{rel}#L{first}-L{last}"
            if body:
                yield Note(VOICE, None, note_day, when, body, (link,), rel)


def voice_body(text: str) -> tuple[str, int, int]:
    """The spoken text of a voice note and its 1-based line range ("" when no speech)."""
    lines = text.splitlines()
    start = 0
    if lines and lines[0] == "---":
        for i in range(1, len(lines)):
            if lines[i] == "---":
                start = i + 1
                break
    kept: list[tuple[int, str]] = []
    for number, line in enumerate(lines[start:], start + 1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("# ", "Audio: ", "_No speech detected")):
            continue
        kept.append((number, stripped.removeprefix("\\")))
    if not kept:
        return "", 0, 0
    return " ".join(t for _, t in kept), kept[0][0], kept[-1][0]


def _key(entry: Entry) -> str:
    return f"{entry.agent}|{entry.session_id}|{entry.entry_id}"


def _mtime(path: Path, now: datetime) -> datetime:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    except OSError:
        return now
