"""What `summarize` has written, in infra.sqlite: sections and the entries they cover.

The hourly Markdown files are rebuilt from these records every time, never appended to: a
crash after a file was written but before its records committed leaves a file that the next
run simply rebuilds (its new sections replace the uncommitted ones, no duplicates), and a
rerun with nothing new renders the same bytes. `summary_covered` lists every entry a section
summarises, by entry id and by `content_identity`, so an entry is summarised once even when
its transcript was rewritten and read again from the start (with new entry ids, too), or when
a later hour of the same transcript was done first.

Rows recorded before the content identity existed carry none, and it cannot be rebuilt from
the table. For those, `legacy_last_hour` gives the last hour such a row's section covers: a
rewritten transcript's entries up to that hour count as already summarised (re-summarising
would append a second copy of every hour; what can be missed is only a late turn of an old
hour inside such a rewrite).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from openclaw_infra.core.fsio import sha256_text
from openclaw_infra.openclaw.entries import Entry

_PARAMS_PER_QUERY = 400  # under SQLite's bound-parameter limit


@dataclass(frozen=True)
class SourceRef:
    """One transcript's share of a section: enough to find and verify the input again."""

    agent: str
    session_id: str
    path: str  # relative to the OpenClaw state dir
    container: str
    entries: int
    first_entry: str
    last_entry: str
    sha256: str  # of the entries' citations and texts, in order

    def as_dict(self) -> dict[str, object]:
        return {
            "agent": self.agent,
            "session": self.session_id,
            "path": self.path,
            "container": self.container,
            "entries": self.entries,
            "first_entry": self.first_entry,
            "last_entry": self.last_entry,
            "sha256": self.sha256,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> SourceRef:
        return cls(
            str(data["agent"]),
            str(data["session"]),
            str(data["path"]),
            str(data["container"]),
            int(str(data["entries"])),
            str(data["first_entry"]),
            str(data["last_entry"]),
            str(data["sha256"]),
        )


@dataclass(frozen=True)
class SectionRecord:
    """One hour of one agent (one part of it), as written into the day file."""

    day: str
    hour_start: str
    hour_label: str
    timezone: str
    agent: str
    part: int
    summarizer: str
    model: str | None
    prompt_version: str
    entries: int
    body: str
    sources: tuple[SourceRef, ...]
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    llm_calls: int = 0
    flags: tuple[str, ...] = field(default_factory=tuple)


_COLUMNS = (
    "day, hour_start, hour_label, timezone, agent, part, summarizer, model, "
    "prompt_version, entries, tokens_in, tokens_out, cost_usd, llm_calls, flags, "
    "sources, body"
)


def _from_row(row: sqlite3.Row) -> SectionRecord:
    return SectionRecord(
        day=row["day"],
        hour_start=row["hour_start"],
        hour_label=row["hour_label"],
        timezone=row["timezone"],
        agent=row["agent"],
        part=int(row["part"]),
        summarizer=row["summarizer"],
        model=row["model"],
        prompt_version=row["prompt_version"],
        entries=int(row["entries"]),
        body=row["body"],
        sources=tuple(SourceRef.from_dict(s) for s in json.loads(row["sources"])),
        tokens_in=int(row["tokens_in"]),
        tokens_out=int(row["tokens_out"]),
        cost_usd=float(row["cost_usd"]),
        llm_calls=int(row["llm_calls"]),
        flags=tuple(json.loads(row["flags"])),
    )


def sections_for_day(conn: sqlite3.Connection, day: str) -> list[SectionRecord]:
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM summary_sections WHERE day=? "  # noqa: S608 - fixed columns
        "ORDER BY hour_start, agent, part",
        (day,),
    )
    return [_from_row(row) for row in rows]


def next_part(conn: sqlite3.Connection, hour_start: str, agent: str) -> int:
    row = conn.execute(
        "SELECT max(part) FROM summary_sections WHERE hour_start=? AND agent=?", (hour_start, agent)
    ).fetchone()
    return int(row[0] or 0) + 1


def content_identity(entry: Entry) -> str:
    """What makes a turn the same turn when a rewrite gives it a new id: its role, timestamp
    and text. An undated turn has only its position to tell it from a repeated text."""
    stamp = entry.timestamp.isoformat() if entry.timestamp is not None else f"#{entry.position}"
    return sha256_text(f"{entry.role}\n{stamp}\n{entry.text}")


def insert_section(
    conn: sqlite3.Connection, section: SectionRecord, covered: Iterable[Entry]
) -> int:
    """Record a section and the entries it covers; caller's transaction."""
    cursor = conn.execute(
        f"INSERT INTO summary_sections({_COLUMNS}, created_at) "  # noqa: S608 - fixed columns
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            section.day,
            section.hour_start,
            section.hour_label,
            section.timezone,
            section.agent,
            section.part,
            section.summarizer,
            section.model,
            section.prompt_version,
            section.entries,
            section.tokens_in,
            section.tokens_out,
            section.cost_usd,
            section.llm_calls,
            json.dumps(list(section.flags)),
            json.dumps([s.as_dict() for s in section.sources], sort_keys=True),
            section.body,
            time.time(),
        ),
    )
    section_id = int(cursor.lastrowid or 0)
    conn.executemany(
        "INSERT INTO summary_covered(agent, session_id, entry_id, section_id, content) "
        "VALUES (?,?,?,?,?)",
        ((e.agent, e.session_id, e.entry_id, section_id, content_identity(e)) for e in covered),
    )
    return section_id


def _covered(
    conn: sqlite3.Connection, column: str, agent: str, session_id: str, values: Sequence[str]
) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(values), _PARAMS_PER_QUERY):
        chunk = list(values[start : start + _PARAMS_PER_QUERY])
        marks = ",".join("?" * len(chunk))
        found.update(
            str(row[0])
            for row in conn.execute(
                f"SELECT {column} FROM summary_covered WHERE agent=? AND session_id=? "  # noqa: S608
                f"AND {column} IN ({marks})",
                (agent, session_id, *chunk),
            )
        )
    return found


def covered_entries(
    conn: sqlite3.Connection, agent: str, session_id: str, entry_ids: Sequence[str]
) -> set[str]:
    """Which of `entry_ids` of one transcript some section already summarises."""
    return _covered(conn, "entry_id", agent, session_id, entry_ids)


def covered_contents(
    conn: sqlite3.Connection, agent: str, session_id: str, identities: Sequence[str]
) -> set[str]:
    """Which `content_identity` values of one transcript some section already summarises."""
    return _covered(conn, "content", agent, session_id, identities)


def legacy_last_hour(conn: sqlite3.Connection, agent: str, session_id: str) -> str | None:
    """The latest hour key a section covered this transcript in through rows recorded
    without a content identity (before it existed), or None when there are none."""
    row = conn.execute(
        "SELECT max(s.hour_start) FROM summary_covered c "
        "JOIN summary_sections s ON s.id = c.section_id "
        "WHERE c.agent=? AND c.session_id=? AND c.content IS NULL",
        (agent, session_id),
    ).fetchone()
    return None if row is None or row[0] is None else str(row[0])
