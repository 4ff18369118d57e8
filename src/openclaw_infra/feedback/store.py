"""The feedback log in infra.sqlite: record, replay, rate limit, and the reads on it.

`record` decides and writes in one BEGIN IMMEDIATE transaction, so writers in any number of
processes serialise on SQLite's write lock: a replay seen by two at once is stored once
(and `token_id` is UNIQUE besides), and a rate limit is never overshot by a race.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from openclaw_infra.core.db import transaction
from openclaw_infra.feedback.records import COLUMNS, FeedbackRecord, RateLimitedError

WINDOW_S = 86400.0  # rate limits count the last 24 hours
# the same words (target, verdict, note) again this soon: an agent retrying its tool call
WORDS_REPEAT_S = 600.0
_IN_CHUNK = 500  # targets per `IN (...)` query, well under SQLite's variable limit


@dataclass(frozen=True)
class Limits:
    per_target: int
    per_day: int


@dataclass(frozen=True)
class Recorded:
    record: FeedbackRecord
    already: bool  # a replay: the record was there before this call


def _existing(conn: sqlite3.Connection, sql: str, args: tuple[object, ...]) -> Recorded | None:
    query = f"SELECT {COLUMNS} FROM feedback WHERE {sql}"  # noqa: S608 - fixed text
    row = conn.execute(query, args).fetchone()
    return None if row is None else Recorded(FeedbackRecord.from_row(row), already=True)


def _check_limits(conn: sqlite3.Connection, target: str, now: float, limits: Limits) -> None:
    since = now - WINDOW_S
    per_target = conn.execute(
        "SELECT count(*) FROM feedback WHERE target=? AND created_at>?", (target, since)
    ).fetchone()[0]
    if per_target >= limits.per_target:
        raise RateLimitedError(
            f"feedback refused: {target} already has {per_target} records in 24 hours "
            f"(limit {limits.per_target})",
            hint="nothing was stored; OPENCLAW_INFRA_FEEDBACK_MAX_PER_TARGET_PER_DAY",
        )
    in_all = conn.execute("SELECT count(*) FROM feedback WHERE created_at>?", (since,)).fetchone()[
        0
    ]
    if in_all >= limits.per_day:
        raise RateLimitedError(
            f"feedback refused: {in_all} records in 24 hours (limit {limits.per_day})",
            hint="nothing was stored; OPENCLAW_INFRA_FEEDBACK_MAX_PER_DAY",
        )


def record(
    conn: sqlite3.Connection,
    *,
    target: str,
    verdict: str,
    limits: Limits,
    channel: str | None = None,
    note: str | None = None,
    token_id: str | None = None,
    now: float | None = None,
) -> Recorded:
    """Store one verdict (checked values: see records.check_*), or find it stored already:
    the same button (`token_id`), or the same words within WORDS_REPEAT_S. RateLimitedError
    (75) when the target or the day is over its limit; nothing is stored then."""
    moment = time.time() if now is None else now
    with transaction(conn):
        if token_id is not None:
            found = _existing(conn, "token_id=?", (token_id,))
        else:
            found = _existing(
                conn,
                "token_id IS NULL AND target=? AND verdict=? AND note IS ? AND created_at>? "
                "ORDER BY id DESC LIMIT 1",
                (target, verdict, note, moment - WORDS_REPEAT_S),
            )
        if found is not None:
            return found
        _check_limits(conn, target, moment, limits)
        cursor = conn.execute(
            "INSERT INTO feedback(created_at, channel, target, verdict, note, token_id) "
            "VALUES (?,?,?,?,?,?)",
            (moment, channel, target, verdict, note, token_id),
        )
        row_id = int(cursor.lastrowid or 0)
    return Recorded(
        FeedbackRecord(row_id, moment, channel, target, verdict, note, token_id), already=False
    )


def find_token(conn: sqlite3.Connection, token_id: str) -> FeedbackRecord | None:
    found = _existing(conn, "token_id=?", (token_id,))
    return None if found is None else found.record


def latest_verdicts(conn: sqlite3.Connection, targets: Iterable[str]) -> dict[str, str]:
    """Each given target's newest verdict (last recorded); targets without one are absent."""
    wanted = list(dict.fromkeys(targets))
    latest: dict[str, str] = {}
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start : start + _IN_CHUNK]
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(
            f"SELECT target, verdict FROM feedback WHERE id IN "  # noqa: S608 - placeholders
            f"(SELECT max(id) FROM feedback WHERE target IN ({marks}) GROUP BY target)",
            chunk,
        )
        latest.update((str(r[0]), str(r[1])) for r in rows)
    return latest


def list_records(
    conn: sqlite3.Connection, *, since: float | None = None, limit: int | None = None
) -> list[FeedbackRecord]:
    """Records, newest first (from `since` when given)."""
    sql = f"SELECT {COLUMNS} FROM feedback WHERE created_at>=? ORDER BY id DESC"  # noqa: S608
    args: list[object] = [since if since is not None else 0.0]
    if limit is not None:
        sql += " LIMIT ?"
        args.append(limit)
    return [FeedbackRecord.from_row(r) for r in conn.execute(sql, args)]


def records_after(
    conn: sqlite3.Connection, after_id: int, verdicts: Iterable[str], limit: int
) -> list[FeedbackRecord]:
    """Records with an id above `after_id` and one of `verdicts`, oldest first."""
    wanted = list(verdicts)
    marks = ",".join("?" * len(wanted))
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM feedback WHERE id>? AND verdict IN ({marks}) "  # noqa: S608
        "ORDER BY id LIMIT ?",
        (after_id, *wanted, limit),
    )
    return [FeedbackRecord.from_row(r) for r in rows]


def last_id(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT coalesce(max(id), 0) FROM feedback").fetchone()[0])


def utc_day(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).date().isoformat()


def count_refusal(conn: sqlite3.Connection, reason: str, now: float | None = None) -> None:
    """Count one refused value (its own transaction: the refusal stores nothing else)."""
    moment = time.time() if now is None else now
    with transaction(conn):
        conn.execute(
            "INSERT INTO feedback_refused(day, reason, count, last_at) VALUES (?,?,1,?) "
            "ON CONFLICT(day, reason) DO UPDATE SET count=count+1, last_at=excluded.last_at",
            (utc_day(moment), reason, moment),
        )


def refusals_since(conn: sqlite3.Connection, day: str) -> dict[str, int]:
    """Refused values per reason from UTC day `day` (YYYY-MM-DD) on."""
    rows = conn.execute(
        "SELECT reason, sum(count) FROM feedback_refused WHERE day>=? GROUP BY reason", (day,)
    )
    return {str(r[0]): int(r[1]) for r in rows}
