"""`infra prune`: old ledger runs, logs and quarantine go; what health reads, the memory
files, watermarks and cursors stay."""

from __future__ import annotations

import os
import sqlite3
import time
import uuid
from pathlib import Path

from openclaw_infra.core import ledger
from openclaw_infra.core.checks import Check, HealthContext
from openclaw_infra.core.config import Settings
from openclaw_infra.core.db import connect, transaction
from openclaw_infra.memory.checks import check_last_index
from openclaw_infra.ops import health
from openclaw_infra.ops.prune import prune

from conftest import OpenClawHome

DAY = 86400.0


def _add_runs(
    conn: sqlite3.Connection, job: str, ages_days: list[float], status: str = "ok"
) -> None:
    now = time.time()
    with transaction(conn):
        conn.executemany(
            "INSERT INTO runs(run_id, job, started_at, ended_at, status, exit_code, details) "
            "VALUES (?,?,?,?,?,?,?)",
            [
                (
                    uuid.uuid4().hex[:12],
                    job,
                    now - a * DAY,
                    now - a * DAY + 5,
                    status,
                    0 if status == "ok" else 75,
                    '{"state": "OK"}',
                )
                for a in ages_days
            ],
        )


def _age(path: Path, days: float) -> None:
    t = time.time() - days * DAY
    os.utime(path, (t, t))


def _count(conn: sqlite3.Connection, job: str) -> int:
    return int(conn.execute("SELECT count(*) FROM runs WHERE job=?", (job,)).fetchone()[0])


def test_health_reads_the_same_after_a_prune(oc_home: OpenClawHome) -> None:
    """A year of runs: old ones go (health verdicts after 30 days, others after 180), but
    every job check and the last-index check read the same afterwards: a weekly job whose
    only success is 300 days old keeps it, and its failure streak keeps its length."""
    settings = oc_home.settings()
    conn = connect(settings.db_path)
    _add_runs(conn, "index", [d * 1.0 for d in range(400)])
    _add_runs(conn, "health", [d / 48 for d in range(40 * 48)])  # every 30 min for 40 days
    _add_runs(conn, "weekly-synthesis", [300.0])
    _add_runs(conn, "weekly-synthesis", [299.0 - 5 * k for k in range(60)], status="failed")
    with transaction(conn):
        ledger.set_watermark(conn, "summarize", "hour", "2020-01-01T00")
        conn.execute(
            "INSERT INTO reader_cursors VALUES ('summarize', 'src', '{}', ?)",
            (time.time() - 900 * DAY,),
        )
    now = time.time()

    def readings() -> list[Check]:
        ctx = HealthContext(settings, conn, now=now)
        return [*health.check_jobs(ctx), *check_last_index(ctx)]

    before = readings()
    result = prune(settings, now=now)
    after = readings()

    assert [c for c in after if c.name != "job:prune"] == [
        c for c in before if c.name != "job:prune"
    ]
    assert result.runs == {"health": 10 * 48, "index": 400 - 180, "weekly-synthesis": 10}
    assert _count(conn, "index") == 180 and _count(conn, "health") == 30 * 48
    last = ledger.last_success(conn, "weekly-synthesis")
    assert last is not None and now - last["started_at"] > 299 * DAY
    assert ledger.failures_in_a_row(conn, "weekly-synthesis") == 50
    assert ledger.get_watermark(conn, "summarize", "hour") == "2020-01-01T00"
    assert conn.execute("SELECT count(*) FROM reader_cursors").fetchone()[0] == 1
    prune_run = ledger.last_success(conn, "prune")
    assert prune_run is not None and prune_run["items"] == result.total


def test_rows_go_in_short_transactions(oc_home: OpenClawHome) -> None:
    """Rows are deleted a batch per write transaction, so a job writing meanwhile waits
    for one batch, never for the whole prune."""
    conn = connect(oc_home.settings().db_path)
    _add_runs(conn, "index", [100.0 + d for d in range(120)])
    doomed = [run_id for run_id, _ in ledger.prunable_runs(conn, time.time() - 50 * DAY)]
    assert len(doomed) == 70  # the newest 50 of the job stay
    begins: list[str] = []
    conn.set_trace_callback(lambda sql: begins.append(sql) if sql.startswith("BEGIN") else None)
    assert ledger.delete_runs(conn, doomed, batch=30) == 70
    assert len(begins) == 3 and not conn.in_transaction


def test_dry_run_says_would_remove_and_removes_nothing(oc_home: OpenClawHome) -> None:
    """`--dry-run` lists every file and the runs per job as "would remove", deletes and
    records nothing; the real run then removes exactly those. Logs a current writer appends
    to are never deleted, however old; a live launchd log past the size is rotated."""
    settings = oc_home.settings()
    conn = connect(settings.db_path)
    _add_runs(conn, "index", [200.0 + d for d in range(60)])
    logs = settings.logs_dir
    logs.mkdir(parents=True, exist_ok=True)
    for name, days in (
        ("infra.log", 400),  # live, however old
        ("serve.log", 400),  # a quiet service holds it open
        ("launchd-index.err", 400),  # launchd's, of a job that exists
        ("infra.log.3", 40),
        ("launchd-old-job.err", 40),  # of a job that no longer exists
        ("infra.log.1", 2),
    ):
        (logs / name).write_text("x\n")
        _age(logs / name, days)
    (logs / "launchd-index.out").write_text("indexed\n" * 2000)  # 16000 bytes
    conn.close()
    small = {"OPENCLAW_INFRA_LOG_MAX_BYTES": "10000"}

    proc = oc_home.run("prune", "--dry-run", extra_env=small)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines == [
        f"would remove log {logs / 'infra.log.3'} (2 bytes)",
        f"would remove log {logs / 'launchd-old-job.err'} (2 bytes)",
        f"would rotate log {logs / 'launchd-index.out'} (16000 bytes) to launchd-index.out.1",
        "would remove 10 ledger run(s) of index",
        "would remove 10 ledger run(s) and 2 file(s), 0.0 MiB",
    ]
    assert (logs / "infra.log.3").exists()
    conn = connect(settings.db_path)
    assert _count(conn, "index") == 60 and _count(conn, "prune") == 0

    proc = oc_home.run("prune", extra_env=small)
    assert proc.returncode == 0, proc.stderr
    assert "removed 10 ledger run(s) of index" in proc.stdout.splitlines()
    assert sorted(p.name for p in logs.iterdir()) == [
        "infra.log",
        "infra.log.1",
        "launchd-index.err",
        "launchd-index.out.1",
        "serve.log",
    ]
    assert _count(conn, "index") == 50 and _count(conn, "prune") == 1


def test_quarantine_goes_with_its_reason_after_its_age(oc_home: OpenClawHome) -> None:
    """A quarantined file and its reason go together once the reason (written when it was
    quarantined) is older than the setting; newer ones stay; 0 keeps them forever."""
    settings = oc_home.settings()
    qdir = settings.voice_quarantine_dir
    qdir.mkdir(parents=True)
    for name, days in (("old.m4a", 120), ("new.m4a", 10)):
        (qdir / name).write_bytes(b"audio")
        _age(qdir / name, 800)  # the audio's own mtime says nothing about the quarantine
        (qdir / f"{name}.reason.txt").write_text("unreadable\n")
        _age(qdir / f"{name}.reason.txt", days)
    (qdir / "batch").mkdir()
    (qdir / "batch" / "a.wav").write_bytes(b"a")

    kept = prune(settings.model_copy(update={"prune_quarantine_days": 0}), dry_run=True)
    assert kept.files == []
    result = prune(settings)
    assert [(d.path.name, d.size) for d in result.files] == [("old.m4a", 16)]
    assert sorted(p.name for p in qdir.iterdir()) == ["batch", "new.m4a", "new.m4a.reason.txt"]
    later = prune(settings, now=time.time() + 100 * DAY)  # the folder arrived today
    assert sorted(d.path.name for d in later.files) == ["batch", "new.m4a"]
    assert list(qdir.iterdir()) == []


def test_memory_files_are_never_deleted(oc_home: OpenClawHome) -> None:
    """Old files in the workspace's memory tree survive a prune, even one whose data dir
    was put inside the workspace (its logs there are named as kept, not deleted)."""
    memory = oc_home.workspace / "memory"
    (memory / "hourly").mkdir(parents=True)
    notes = [memory / "hourly" / "2020-01-01.md", memory / "MEMORY-old.md"]
    for note in notes:
        note.write_text("remember\n")
        _age(note, 3000)
    data = memory / "infra-data"
    settings = Settings(
        state_dir=oc_home.state, workspace_dir=oc_home.workspace, data_dir=data, timezone="UTC"
    )
    (data / "logs").mkdir(parents=True)
    (data / "logs" / "infra.log.2").write_text("x\n")
    _age(data / "logs" / "infra.log.2", 3000)

    result = prune(settings, now=time.time() + 3000 * DAY)
    assert result.files == [] and result.refused == [str(data / "logs" / "infra.log.2")]
    assert (
        f"kept {data / 'logs' / 'infra.log.2'}: inside the workspace (memory is never deleted)"
        in result.lines()
    )
    assert all(note.exists() for note in notes) and (data / "logs" / "infra.log.2").exists()


def test_incremental_vacuum_only_where_switched_on(oc_home: OpenClawHome) -> None:
    """The store's default (auto_vacuum NONE) gets no vacuum; one an operator switched to
    incremental auto-vacuum gets its freed pages back."""
    settings = oc_home.settings()
    assert prune(settings).vacuumed is False
    conn = connect(settings.db_path)
    conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
    conn.execute("VACUUM")
    conn.close()
    assert prune(settings).vacuumed is True
