"""Run ledger, watermarks and migrations in infra.sqlite."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from openclaw_infra.core import ledger
from openclaw_infra.core.db import connect, migrate, open_reader, pending, schema_version
from openclaw_infra.core.errors import DataError
from openclaw_infra.core.jobs import run_job
from openclaw_infra.core.schema import MIGRATIONS, Migration

from conftest import OpenClawHome


def bare(path: Path) -> sqlite3.Connection:
    """A connection that applies no registered migration (to try `migrate` alone)."""
    return sqlite3.connect(path, isolation_level=None)


def test_migrations_apply_once_and_record_themselves(tmp_path: Path) -> None:
    """A migration runs once; its record commits with it; user_version counts them."""
    conn = bare(tmp_path / "x.sqlite")
    migs = (Migration("t-001", ("CREATE TABLE a(x)",)), Migration("t-002", ("CREATE TABLE b(x)",)))
    assert migrate(conn, migs) == 2
    assert migrate(conn, migs) == 0
    assert schema_version(conn) == 2
    names = [r[0] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY name")]
    assert names == ["t-001", "t-002"]


def test_failed_migration_leaves_nothing_half_applied(tmp_path: Path) -> None:
    """A migration whose second statement fails rolls back its first statement too."""
    conn = bare(tmp_path / "x.sqlite")
    bad = (Migration("t-001", ("CREATE TABLE a(x)", "CREATE TABLE a(y)")),)
    with pytest.raises(sqlite3.OperationalError):
        migrate(conn, bad)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "a" not in tables
    assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == 0


def test_connect_applies_every_registered_migration_once(tmp_path: Path) -> None:
    """A fresh database gets every registered migration, in order, recorded by name; a
    second connection applies nothing."""
    path = tmp_path / "infra.sqlite"
    conn = connect(path)
    names = [r[0] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY rowid")]
    assert names == [m.name for m in MIGRATIONS]
    assert len(set(names)) == len(names)
    assert schema_version(conn) == len(MIGRATIONS)
    conn.close()
    again = connect(path)
    assert pending(again) == []
    assert migrate(again) == 0
    assert schema_version(again) == len(MIGRATIONS)


def test_existing_database_applies_only_what_it_owes(tmp_path: Path) -> None:
    """A database that recorded some migrations (an older install) gets only the others."""
    path = tmp_path / "infra.sqlite"
    old = bare(path)
    assert migrate(old, MIGRATIONS[:2]) == 2
    applied_at = old.execute("SELECT applied_at FROM schema_migrations ORDER BY name").fetchall()
    assert open_reader(path) is not None  # owes migrations: opened read-write and migrated
    assert pending(old) == []
    kept = old.execute(
        "SELECT applied_at FROM schema_migrations WHERE name IN (?, ?) ORDER BY name",
        (MIGRATIONS[0].name, MIGRATIONS[1].name),
    ).fetchall()
    assert kept == applied_at


def test_open_reader_is_read_only_once_current(tmp_path: Path) -> None:
    """A current database opens read-only for queries; a missing one is None."""
    path = tmp_path / "infra.sqlite"
    assert open_reader(path) is None
    connect(path).close()
    reader = open_reader(path)
    assert reader is not None
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader.execute("INSERT INTO watermarks VALUES ('j', 'k', 'v', 0)")


def test_not_a_database_is_a_data_error(tmp_path: Path) -> None:
    """A corrupt infra.sqlite is exit 65 naming the file."""
    path = tmp_path / "infra.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DataError, match=r"infra\.sqlite"):
        connect(path)


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
    conn = connect(tmp_path / "x.sqlite")
    assert ledger.get_watermark(conn, "j", "k") is None
    ledger.set_watermark(conn, "j", "k", "1")
    ledger.set_watermark(conn, "j", "k", "2")
    assert ledger.get_watermark(conn, "j", "k") == "2"
