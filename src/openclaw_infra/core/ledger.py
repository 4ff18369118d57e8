"""The run ledger and per-job watermarks, in infra.sqlite.

The ledger is what `infra health` reads: each run's job, id, times, status, exit code,
items, tokens, cost and error, and the clocks at its start (`core.clocks`: how long the
machine slept between runs). Watermarks say what a job has done so far. Their tables are
migrations in `core/schema.py`. `prune_runs` deletes old runs, never what health reads;
watermarks are never pruned (they are what a job has done, not a history).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from openclaw_infra.core.clocks import RunClocks, read_clocks
from openclaw_infra.core.db import transaction


@dataclass
class RunRecord:
    """A run in progress; the job fills in counters, `finish` writes them."""

    job: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    started_at: float = field(default_factory=time.time)
    clocks: RunClocks = field(default_factory=read_clocks)
    items: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)


def record_start(conn: sqlite3.Connection, run: RunRecord) -> None:
    with transaction(conn):
        conn.execute(
            "INSERT INTO runs(run_id, job, started_at, status, pid, host, since_boot_s, awake_s, "
            "boot_id) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                run.run_id,
                run.job,
                run.started_at,
                "running",
                os.getpid(),
                socket.gethostname(),
                run.clocks.since_boot,
                run.clocks.awake,
                run.clocks.boot_id,
            ),
        )


def record_end(
    conn: sqlite3.Connection,
    run: RunRecord,
    *,
    status: str,
    exit_code: int,
    error: str | None = None,
) -> float:
    ended = time.time()
    with transaction(conn):
        conn.execute(
            """UPDATE runs SET ended_at=?, status=?, exit_code=?, items=?, tokens_in=?,
               tokens_out=?,
               cost_usd=?, error=?, details=? WHERE run_id=?""",
            (
                ended,
                status,
                exit_code,
                run.items,
                run.tokens_in,
                run.tokens_out,
                round(run.cost_usd, 6),
                error,
                json.dumps(run.details, sort_keys=True, default=str),
                run.run_id,
            ),
        )
    return ended - run.started_at


def get_watermark(conn: sqlite3.Connection, job: str, key: str) -> str | None:
    row = conn.execute("SELECT value FROM watermarks WHERE job=? AND key=?", (job, key)).fetchone()
    return None if row is None else str(row[0])


def set_watermark(conn: sqlite3.Connection, job: str, key: str, value: str) -> None:
    """Callers run this inside the transaction that records the output it covers."""
    conn.execute(
        "INSERT INTO watermarks(job, key, value, updated_at) VALUES (?,?,?,?) "
        "ON CONFLICT(job, key) DO UPDATE SET value=excluded.value, updated_at=excluded.updated_at",
        (job, key, value, time.time()),
    )


def last_runs(conn: sqlite3.Connection, job: str, limit: int = 20) -> list[sqlite3.Row]:
    return list(
        conn.execute(
            "SELECT * FROM runs WHERE job=? ORDER BY started_at DESC LIMIT ?", (job, limit)
        )
    )


def last_success(conn: sqlite3.Connection, job: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM runs WHERE job=? AND status='ok' ORDER BY started_at DESC LIMIT 1", (job,)
    ).fetchone()
    return row


def failures_in_a_row(conn: sqlite3.Connection, job: str) -> int:
    n = 0
    for row in last_runs(conn, job, 50):
        if row["status"] == "running":
            continue
        if row["status"] == "ok":
            break
        n += 1
    return n


# Health reads, per job, the newest success (`last_success`, whatever its age: a weekly job's
# must outlive any window) and up to the newest 50 runs (`failures_in_a_row`, the summarize
# check, the last index run); its 7-day counts and sleep measure need less than the shortest
# retention a setting allows (14 days).
KEEP_NEWEST_PER_JOB = 50
PRUNE_BATCH = 500  # rows per write transaction: a writer waits milliseconds, not a whole prune


def prunable_runs(
    conn: sqlite3.Connection,
    before: float,
    *,
    before_by_job: Mapping[str, float] | None = None,
    keep_newest: int = KEEP_NEWEST_PER_JOB,
) -> list[tuple[str, str]]:
    """`(run_id, job)` of runs started before `before` (or the job's own cutoff in
    `before_by_job`), oldest first, less the newest `keep_newest` runs and the newest
    success of each job."""
    cutoffs = dict(before_by_job or {})
    latest = max([before, *cutoffs.values()])
    rows = conn.execute(
        """SELECT run_id, job, started_at FROM (
               SELECT run_id, job, started_at, status,
                      row_number() OVER (PARTITION BY job ORDER BY started_at DESC) AS nth,
                      row_number() OVER (PARTITION BY job, status = 'ok'
                                         ORDER BY started_at DESC) AS nth_alike
               FROM runs)
           WHERE started_at < ? AND nth > ? AND NOT (status = 'ok' AND nth_alike = 1)
           ORDER BY started_at""",
        (latest, keep_newest),
    ).fetchall()
    return [(str(r[0]), str(r[1])) for r in rows if float(r[2]) < cutoffs.get(str(r[1]), before)]


def delete_runs(conn: sqlite3.Connection, run_ids: list[str], *, batch: int = PRUNE_BATCH) -> int:
    """Delete these runs, `batch` rows per short write transaction; returns rows deleted."""
    deleted = 0
    for start in range(0, len(run_ids), batch):
        chunk = run_ids[start : start + batch]
        with transaction(conn):
            cur = conn.executemany("DELETE FROM runs WHERE run_id=?", [(r,) for r in chunk])
            deleted += cur.rowcount
    return deleted
