"""The one mapping of SQLite corruption and full disks (core/db.py), `probe` and `set_aside`:
real SQLite errors from real files, not hand-made messages, wherever SQLite can make them."""

from __future__ import annotations

import shutil
import sqlite3
import stat
import threading
from collections import namedtuple
from pathlib import Path

import pytest

from openclaw_infra.core import db
from openclaw_infra.core.db import connect
from openclaw_infra.core.errors import CantCreateError, DataError, TempFailError


def _store(path: Path, rows: int = 200) -> Path:
    conn = db.connect(path)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    conn.executemany("INSERT INTO notes(text) VALUES (?)", [("x" * 500,) for _ in range(rows)])
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path


def _raised(path: Path, sql: str) -> sqlite3.Error:
    conn = sqlite3.connect(path)
    try:
        conn.execute(sql).fetchall()
    except sqlite3.Error as exc:
        return exc
    finally:
        conn.close()
    raise AssertionError(f"{sql} did not fail on {path}")


def test_garbage_file_is_a_data_error_naming_the_file_and_the_recovery(tmp_path: Path) -> None:
    """A file that is not a database (SQLITE_NOTADB) is 65, names the file and gives both
    ways out: the in-place restore and the rebuild."""
    path = tmp_path / "infra.sqlite"
    path.write_bytes(b"\x8f garbage " * 500)
    exc = _raised(path, "SELECT * FROM sqlite_master")
    assert exc.sqlite_errorname == "SQLITE_NOTADB"
    mapped = db.sqlite_error(exc, path)
    assert isinstance(mapped, DataError) and mapped.exit_code == 65
    assert str(path) in str(mapped)
    assert "infra backup restore latest --in-place --yes" in str(mapped)
    assert "infra index --rebuild" in str(mapped)


def test_malformed_pages_are_a_data_error(tmp_path: Path) -> None:
    """A store cut in half (SQLITE_CORRUPT when a query reaches the missing pages) is 65."""
    path = _store(tmp_path / "infra.sqlite")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    exc = _raised(path, "SELECT count(*), sum(length(text)) FROM notes")
    assert exc.sqlite_errorname == "SQLITE_CORRUPT"
    assert isinstance(db.sqlite_error(exc, path), DataError)


def test_sqlite_full_is_cant_create_and_says_work_stays_owed(tmp_path: Path) -> None:
    """SQLITE_FULL (here from `max_page_count`, as a full disk gives it) is 73, and the
    message says that nothing is lost."""
    path = _store(tmp_path / "infra.sqlite", rows=1)
    conn = sqlite3.connect(path)
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count={pages}")
    with pytest.raises(sqlite3.OperationalError) as info:
        conn.execute("INSERT INTO notes(text) VALUES (?)", ("y" * 100_000,))
    conn.close()
    assert info.value.sqlite_errorname == "SQLITE_FULL"
    mapped = db.sqlite_error(info.value, path)
    assert isinstance(mapped, CantCreateError) and mapped.exit_code == 73
    assert "work stays owed" in str(mapped) and str(path) in str(mapped)


def test_a_full_disk_inside_a_transaction_surfaces_as_full(tmp_path: Path) -> None:
    """SQLite rolls a transaction back by itself after SQLITE_FULL; `transaction()` must not
    then fail on its own ROLLBACK and hide the error that says the disk is full."""
    path = _store(tmp_path / "infra.sqlite", rows=1)
    conn = db.connect(path)
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count={pages}")
    with pytest.raises(sqlite3.OperationalError) as info, db.transaction(conn):
        for _ in range(50):
            conn.execute("INSERT INTO notes(text) VALUES (?)", ("z" * 50_000,))
    conn.close()
    assert db.is_full(info.value, path)


Usage = namedtuple("Usage", "total used free")


@pytest.mark.parametrize(("free", "full"), [(0, True), (50 << 30, False)])
def test_disk_io_error_is_full_only_when_the_disk_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, free: int, full: bool
) -> None:
    """SQLite reports ENOSPC as SQLITE_IOERR on some write paths: an I/O error is a full disk
    (73) when the disk holding the store has (almost) no space left, and stays unmapped (an
    internal error) otherwise."""
    exc = sqlite3.OperationalError("disk I/O error")
    exc.sqlite_errorcode = 10 | (3 << 8)  # SQLITE_IOERR_WRITE
    exc.sqlite_errorname = "SQLITE_IOERR_WRITE"
    monkeypatch.setattr(shutil, "disk_usage", lambda _path: Usage(1 << 40, 0, free))
    mapped = db.sqlite_error(exc, tmp_path / "infra.sqlite")
    assert isinstance(mapped, CantCreateError) if full else mapped is None


def test_the_code_decides_before_the_text() -> None:
    """Python 3.11's `sqlite_errorcode` is what classifies an error; the text is only the
    fallback for an exception that carries no code."""
    coded = sqlite3.OperationalError("database disk image is malformed")
    coded.sqlite_errorcode = 13  # SQLITE_FULL
    assert not db.is_corrupt(coded) and db.is_full(coded, None)
    uncoded = sqlite3.DatabaseError("database disk image is malformed")
    assert db.is_corrupt(uncoded)
    assert db.sqlite_error(sqlite3.OperationalError("database is locked"), None) is None


def test_connect_maps_a_corrupt_store(tmp_path: Path) -> None:
    """`connect()` on a garbage file raises the mapped DataError, not sqlite3's error."""
    path = tmp_path / "infra.sqlite"
    path.write_bytes(b"not a database, just bytes " * 200)
    with pytest.raises(DataError, match=r"is corrupt.*infra index --rebuild"):
        db.connect(path)


def test_probe(tmp_path: Path) -> None:
    """`probe` is None for a healthy or missing store and says why for a damaged one; the
    thorough probe also finds damage beyond the schema."""
    path = _store(tmp_path / "infra.sqlite")
    assert db.probe(path) is None and db.probe(path, thorough=True) is None
    assert db.probe(tmp_path / "absent.sqlite") is None
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert db.probe(path, thorough=True)
    path.write_bytes(b"\x00garbage" * 1000)
    assert "not a database" in (db.probe(path) or "")


def test_set_aside_keeps_the_store_and_its_side_files(tmp_path: Path) -> None:
    """The corrupt store and its -wal/-shm move to `<name>.corrupt-<UTC>` (0600, bytes
    intact); the derived FAISS file is dropped; the store's name is free for a fresh one."""
    path = tmp_path / "infra.sqlite"
    path.write_bytes(b"damaged")
    path.with_name("infra.sqlite-wal").write_bytes(b"wal")
    path.with_name("infra.sqlite-shm").write_bytes(b"shm")
    faiss = tmp_path / "memory.faiss"
    faiss.write_bytes(b"derived")
    aside = db.set_aside(path, tmp_path / "locks", derived=[faiss])
    assert aside.name.startswith("infra.sqlite.corrupt-") and aside.name.endswith("Z")
    assert aside.read_bytes() == b"damaged"
    assert aside.with_name(aside.name + "-wal").read_bytes() == b"wal"
    assert aside.with_name(aside.name + "-shm").read_bytes() == b"shm"
    for kept in (aside, aside.with_name(aside.name + "-wal")):
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert not path.exists() and not faiss.exists()
    assert not path.with_name("infra.sqlite-wal").exists()
    path.write_bytes(b"damaged again")
    second = db.set_aside(path, tmp_path / "locks")
    assert second != aside and aside.exists() and second.read_bytes() == b"damaged again"


def _hold_exclusive(path: Path) -> sqlite3.Connection:
    """A rollback-journal connection holding an exclusive lock on `path`."""
    holder = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE IF NOT EXISTS t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    return holder


def test_connect_waits_out_a_lock_on_a_fresh_store(tmp_path: Path) -> None:
    """Switching to WAL needs an exclusive lock; a holder that lets go in time is waited for."""
    path = tmp_path / "infra.sqlite"
    holder = _hold_exclusive(path)
    release = threading.Timer(0.4, holder.rollback)
    release.start()
    try:
        conn = connect(path, busy_timeout_ms=5_000)
    finally:
        release.join()
        holder.close()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_a_lock_held_past_the_timeout_is_a_temporary_failure(tmp_path: Path) -> None:
    path = tmp_path / "infra.sqlite"
    holder = _hold_exclusive(path)
    try:
        with pytest.raises(TempFailError) as caught:
            connect(path, busy_timeout_ms=300)
    finally:
        holder.close()
    assert caught.value.exit_code == 75
    assert str(path) in str(caught.value)
