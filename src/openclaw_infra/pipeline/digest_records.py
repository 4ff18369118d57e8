"""What daily-sync and weekly-synthesis have done, in infra.sqlite.

- `digest_days` / `digest_weeks`: one row per finished day or week (a day with no input has
  a row with no path: done, nothing written). Health reads ages and dropped claims here.
- `digest_used`: every input a digest consumed (an hourly section, a compaction entry, a
  voice note), so an input arriving after its day was digested goes into the next digest
  instead of being lost or used twice.
- `tracked_items`: action items and priorities with stable ids, carried from day to day.

A day's rows, its inputs, its items and the watermark commit in one transaction after its
files are written, so a crash leaves the day owed and the next run rebuilds it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# --- days and weeks ----------------------------------------------------------------------


@dataclass
class Cost:
    """LLM usage of one digest."""

    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    calls: int = 0

    def add(self, other: Cost) -> None:
        self.tokens_in += other.tokens_in
        self.tokens_out += other.tokens_out
        self.cost_usd += other.cost_usd
        self.calls += other.calls


@dataclass
class DayRecord:
    day: str
    path: str | None
    sha256: str | None
    summarizer: str | None = None
    model: str | None = None
    prompt_version: str | None = None
    inputs: int = 0
    items: dict[str, int] = field(default_factory=dict)
    cost: Cost = field(default_factory=Cost)
    flags: tuple[str, ...] = ()


def record_day(conn: sqlite3.Connection, rec: DayRecord) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO digest_days(day, path, sha256, summarizer, model, "
        "prompt_version, inputs, items, tokens_in, tokens_out, cost_usd, llm_calls, flags, "
        "created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            rec.day,
            rec.path,
            rec.sha256,
            rec.summarizer,
            rec.model,
            rec.prompt_version,
            rec.inputs,
            json.dumps(rec.items, sort_keys=True),
            rec.cost.tokens_in,
            rec.cost.tokens_out,
            round(rec.cost.cost_usd, 6),
            rec.cost.calls,
            json.dumps(list(rec.flags)),
            time.time(),
        ),
    )


def written_days(conn: sqlite3.Connection, first: str, last: str) -> list[tuple[str, str]]:
    """(day, path) of the dailies written for days in [first, last]."""
    rows = conn.execute(
        "SELECT day, path FROM digest_days WHERE day BETWEEN ? AND ? AND path IS NOT NULL "
        "ORDER BY day",
        (first, last),
    )
    return [(str(r[0]), str(r[1])) for r in rows]


def first_day(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT min(day) FROM digest_days").fetchone()
    return None if row is None or row[0] is None else str(row[0])


@dataclass
class WeekRecord:
    week: str
    path: str | None
    sha256: str | None
    summarizer: str | None = None
    model: str | None = None
    prompt_version: str | None = None
    passes: list[dict[str, Any]] = field(default_factory=list)
    kept: int = 0
    dropped: int = 0
    cost: Cost = field(default_factory=Cost)


def record_week(conn: sqlite3.Connection, rec: WeekRecord) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO digest_weeks(week, path, sha256, summarizer, model, "
        "prompt_version, passes, kept, dropped, tokens_in, tokens_out, cost_usd, llm_calls, "
        "created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            rec.week,
            rec.path,
            rec.sha256,
            rec.summarizer,
            rec.model,
            rec.prompt_version,
            json.dumps(rec.passes, sort_keys=True),
            rec.kept,
            rec.dropped,
            rec.cost.tokens_in,
            rec.cost.tokens_out,
            round(rec.cost.cost_usd, 6),
            rec.cost.calls,
            time.time(),
        ),
    )


# --- inputs ------------------------------------------------------------------------------


def used_keys(conn: sqlite3.Connection, kind: str) -> set[str]:
    return {str(r[0]) for r in conn.execute("SELECT key FROM digest_used WHERE kind=?", (kind,))}


def mark_used(conn: sqlite3.Connection, kind: str, keys: Iterable[str], day: str) -> None:
    conn.executemany(
        "INSERT OR IGNORE INTO digest_used(kind, key, day) VALUES (?,?,?)",
        ((kind, key, day) for key in keys),
    )


# --- tracked items -----------------------------------------------------------------------


@dataclass
class TrackedItem:
    """An action item or a priority, as carried from day to day."""

    id: str
    kind: str  # "action" or "priority"
    text: str
    status: str  # "open" or "done"
    first_day: str
    last_day: str
    owner: str | None = None
    due: str | None = None
    closed_day: str | None = None
    closed_link: str | None = None
    sources: list[str] = field(default_factory=list)
    daily_ref: str | None = None


_ITEM_COLUMNS = (
    "id, kind, text, owner, due, status, first_day, last_day, closed_day, closed_link, "
    "sources, daily_ref"
)


def load_items(conn: sqlite3.Connection) -> list[TrackedItem]:
    rows = conn.execute(
        f"SELECT {_ITEM_COLUMNS} FROM tracked_items ORDER BY first_day, id"  # noqa: S608
    )
    return [
        TrackedItem(
            id=r["id"],
            kind=r["kind"],
            text=r["text"],
            owner=r["owner"],
            due=r["due"],
            status=r["status"],
            first_day=r["first_day"],
            last_day=r["last_day"],
            closed_day=r["closed_day"],
            closed_link=r["closed_link"],
            sources=list(json.loads(r["sources"])),
            daily_ref=r["daily_ref"],
        )
        for r in rows
    ]


def save_items(conn: sqlite3.Connection, items: Iterable[TrackedItem]) -> None:
    """Upsert items; caller's transaction."""
    now = time.time()
    conn.executemany(
        f"INSERT OR REPLACE INTO tracked_items({_ITEM_COLUMNS}, updated_at) "  # noqa: S608
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            (
                i.id,
                i.kind,
                i.text,
                i.owner,
                i.due,
                i.status,
                i.first_day,
                i.last_day,
                i.closed_day,
                i.closed_link,
                json.dumps(i.sources),
                i.daily_ref,
                now,
            )
            for i in items
        ),
    )
