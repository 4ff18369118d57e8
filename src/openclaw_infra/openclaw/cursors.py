"""Incremental read positions per transcript source, kept in infra.sqlite per consumer.

A `Cursor` says how far a consumer ("index", "summarize", …) has read one source:

- JSONL: the file's inode, the byte offset just after the last consumed line, that line's
  length and sha256, how many lines were consumed, the sha256 of every consumed byte, and
  the file's size and mtime when it was read. A new inode, a file shorter than the offset,
  or consumed bytes whose hash no longer matches means OpenClaw rewrote the file (an edit
  anywhere in the consumed part, same size or not). The consumed part is hashed again only
  when the file changed since the cursor was taken or has more to read: an unchanged file
  costs a stat. A cursor from an older version has no prefix hash: its last line is checked
  as before, and the next cursor written carries one.
- SQLite `transcript_events`: the highest `seq` consumed, the sha256 of that event and how many
  events up to it exist. A missing or changed event, or a different count, means a rewrite.

`CursorStore.set` never commits: a consumer calls it inside its own `transaction(conn)`
together with the output the cursor covers, so output and position move as one. The table,
`reader_cursors`, is a migration in `core/schema.py`, in place on every `core.db.connect()`.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a consumer stands in one source; `Cursor.start(kind)` is "nothing read yet"."""

    kind: str  # "jsonl" or "sqlite"
    inode: int = 0  # JSONL: st_ino of the file read
    offset: int = 0  # JSONL: byte offset just after the last consumed line
    line: int = 0  # JSONL: lines consumed; SQLite: events consumed (count of seq <= `seq`)
    line_len: int = 0  # JSONL: byte length of the last consumed line, terminator included
    line_hash: str = ""  # sha256 hex of the last consumed line / event ("" = none yet)
    seq: int | None = None  # SQLite: highest seq consumed (None = none yet)
    prefix_hash: str = ""  # JSONL: sha256 hex of bytes [0, offset) ("" = older cursor)
    size: int = 0  # JSONL: the file's size when this cursor was taken
    mtime_ns: int = 0  # JSONL: the file's mtime when this cursor was taken

    @classmethod
    def start(cls, kind: str) -> Cursor:
        return cls(kind)

    @property
    def at_start(self) -> bool:
        return self.line == 0 and self.offset == 0 and self.seq is None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cursor:
        kind = data.get("kind")
        if kind not in ("jsonl", "sqlite"):
            raise ValueError(f"cursor kind {kind!r} is not jsonl or sqlite")
        seq = data.get("seq")
        return cls(
            kind=str(kind),
            inode=int(data.get("inode", 0)),
            offset=int(data.get("offset", 0)),
            line=int(data.get("line", 0)),
            line_len=int(data.get("line_len", 0)),
            line_hash=str(data.get("line_hash", "")),
            seq=None if seq is None else int(seq),
            prefix_hash=str(data.get("prefix_hash", "")),
            size=int(data.get("size", 0)),
            mtime_ns=int(data.get("mtime_ns", 0)),
        )

    @classmethod
    def from_json(cls, text: str) -> Cursor:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("cursor JSON is not an object")
        return cls.from_dict(data)


class CursorStore:
    """One consumer's cursors in `reader_cursors`; consumers never see each other's."""

    def __init__(self, conn: sqlite3.Connection, consumer: str) -> None:
        if not consumer:
            raise ValueError("a cursor consumer needs a name")
        self.conn = conn
        self.consumer = consumer

    def get(self, source_key: str) -> Cursor | None:
        row = self.conn.execute(
            "SELECT cursor_json FROM reader_cursors WHERE consumer=? AND source_key=?",
            (self.consumer, source_key),
        ).fetchone()
        if row is None:
            return None
        try:
            return Cursor.from_json(str(row[0]))
        except (ValueError, TypeError):
            # an unreadable cursor is as good as none: the source is re-read from the start
            return None

    def set(self, source_key: str, cursor: Cursor) -> None:
        """Record `cursor`; no commit here (run it inside the caller's transaction)."""
        self.conn.execute(
            "INSERT INTO reader_cursors(consumer, source_key, cursor_json, updated_at) "
            "VALUES (?,?,?,?) ON CONFLICT(consumer, source_key) DO UPDATE SET "
            "cursor_json=excluded.cursor_json, updated_at=excluded.updated_at",
            (self.consumer, source_key, cursor.to_json(), time.time()),
        )

    def forget(self, source_key: str) -> None:
        """Drop the cursor (source deleted, or a rebuild wants it read again)."""
        self.conn.execute(
            "DELETE FROM reader_cursors WHERE consumer=? AND source_key=?",
            (self.consumer, source_key),
        )

    def keys(self) -> list[str]:
        """Every source key this consumer has a cursor for (to spot deleted sources)."""
        return [
            str(r[0])
            for r in self.conn.execute(
                "SELECT source_key FROM reader_cursors WHERE consumer=? ORDER BY source_key",
                (self.consumer,),
            )
        ]

    def all(self) -> dict[str, Cursor]:
        out: dict[str, Cursor] = {}
        for key, text in self.conn.execute(
            "SELECT source_key, cursor_json FROM reader_cursors WHERE consumer=?",
            (self.consumer,),
        ):
            try:
                out[str(key)] = Cursor.from_json(str(text))
            except (ValueError, TypeError):
                continue
        return out
