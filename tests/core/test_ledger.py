"""Run ledger, watermarks and migrations in infra.sqlite."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from openclaw_infra.core import ledger
from openclaw_infra.core.db import Migration, connect, migrate, schema_version
from openclaw_infra.core.errors import DataError
from openclaw_infra.core.jobs import run_job

from conftest import OpenClawHome


def test_migrations_apply_once_and_record_themselves(tmp_path: Path) -> None:
    """A migration runs once; its record commits with it; user_version counts them."""
    conn = connect(tmp_path / "x.sqlite")
    migs = (Migration("t-001", ("CREATE TABLE a(x)",)), Migration("t-002", ("CREATE TABLE b(x)",)))
    assert migrate(conn, migs) == 2
    assert migrate(conn, migs) == 0
    assert schema_version(conn) == 2
    names = [r[0] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY name")]
    assert names == ["t-001", "t-002"]


def test_failed_migration_leaves_nothing_half_applied(tmp_path: Path) -> None:
    """A migration whose second statement fails rolls back its first statement too."""
    conn = connect(tmp_path / "x.sqlite")
    bad = (Migration("t-001", ("CREATE TABLE a(x)", "CREATE TABLE a(y)")),)
    with pytest.raises(sqlite3.OperationalError):
        migrate(conn, bad)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "a" not in tables
    assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == 0


def test_not_a_database_is_a_data_error(tmp_path: Path) -> None:
    """A corrupt infra.sqlite is exit 65 naming the file."""
    path = tmp_path / "infra.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DataError, match=r"infra\.sqlite"):
        ledger.open_ledger(connect(path))


def test_run_job_records_success_and_failure(oc_home: OpenClawHome) -> None:
    """run_job writes start and end, with status, exit code, counters and error."""
    from openclaw_infra.core.errors import TempFailError

    settings = oc_home.settings()
    with run_job(settings, "health") as job:
        job.run.items = 3
    with pytest.raises(TempFailError), run_job(settings, "health"):
        raise TempFailError("api down")
    conn = connect(settings.db_path)
    rows = ledger.last_runs(conn, "health")
    assert [r["status"] for r in rows] == ["failed", "ok"]
    assert rows[0]["exit_code"] == 75 and rows[0]["error"] == "api down"
    assert rows[1]["items"] == 3 and rows[1]["ended_at"] >= rows[1]["started_at"]
    assert ledger.failures_in_a_row(conn, "health") == 1
    assert ledger.last_success(conn, "health")["run_id"] == rows[1]["run_id"]


def test_watermarks_roundtrip(tmp_path: Path) -> None:
    """Watermarks are per job and key, and overwrite."""
    conn = ledger.open_ledger(connect(tmp_path / "x.sqlite"))
    assert ledger.get_watermark(conn, "j", "k") is None
    ledger.set_watermark(conn, "j", "k", "1")
    ledger.set_watermark(conn, "j", "k", "2")
    assert ledger.get_watermark(conn, "j", "k") == "2"
