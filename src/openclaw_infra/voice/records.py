"""The voice ledger in infra.sqlite: every audio file the inbox job has handled, and how.

It is the inbox job's watermark: a file is recognised cheaply by (path, size, mtime), and
content already transcribed under another name by its SHA-256, so a rerun does nothing. It
also keeps what happened to OpenClaw's files, which stay where they are. The table is a
migration in `core/schema.py`.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from openclaw_infra.core.db import transaction

TRANSCRIBED = ("transcribed", "no_speech")


@dataclass(frozen=True)
class FileRecord:
    """One row: where the file was, what it was, and what became of it."""

    path: str
    size: int
    mtime_ns: int
    status: str
    sha256: str | None = None
    output: str | None = None
    moved_to: str | None = None
    reason: str | None = None
    duration_s: float | None = None
    backend: str | None = None
    model: str | None = None


def handled(conn: sqlite3.Connection, key: tuple[str, int, int]) -> sqlite3.Row | None:
    """The latest row for this exact (path, size, mtime), if the job has seen it."""
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM voice_files WHERE path=? AND size=? AND mtime_ns=? ORDER BY id DESC LIMIT 1",
        key,
    ).fetchone()
    return row


def transcribed_copy(conn: sqlite3.Connection, sha256: str) -> sqlite3.Row | None:
    """The first transcription of this content, under whatever name it arrived."""
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM voice_files WHERE sha256=? AND status IN (?, ?) ORDER BY id LIMIT 1",
        (sha256, *TRANSCRIBED),
    ).fetchone()
    return row


def record(conn: sqlite3.Connection, rec: FileRecord) -> None:
    with transaction(conn):
        conn.execute(
            """INSERT INTO voice_files(path, size, mtime_ns, sha256, status, output, moved_to,
               reason, duration_s, backend, model, processed_at)
               VALUES (?,?,?,?,?,?,?,?,?,?,?,?)""",
            (
                rec.path,
                rec.size,
                rec.mtime_ns,
                rec.sha256,
                rec.status,
                rec.output,
                rec.moved_to,
                rec.reason,
                rec.duration_s,
                rec.backend,
                rec.model,
                time.time(),
            ),
        )
