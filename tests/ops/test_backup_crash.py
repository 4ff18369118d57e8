"""`infra backup` under real processes: SIGKILL mid-write, and a database written during it."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from openclaw_infra.core.db import connect
from openclaw_infra.core.fsio import TMP_PREFIX
from openclaw_infra.core.locking import is_locked
from openclaw_infra.ops.backup import catalog
from openclaw_infra.ops.backup.create import create_snapshot
from openclaw_infra.ops.backup.restore import restore_to_target

from conftest import OpenClawHome


def _partial_archive(backups: Path) -> bool:
    """True once the writer's temp archive exists and has bytes in it."""
    try:
        entries = list(os.scandir(backups))
    except FileNotFoundError:
        return False
    return any(
        e.name.startswith(TMP_PREFIX) and e.name.endswith(".part") and e.stat().st_size > 0
        for e in entries
    )


def test_sigkill_mid_backup_leaves_no_snapshot_and_no_lock(oc_home: OpenClawHome) -> None:
    """Killed while the archive is being written: no snapshot is visible or listed, the
    lock is free, and the next run succeeds and reaps the dead writer's temp files."""
    big = oc_home.workspace / "memory" / "big.md"
    big.write_bytes(os.urandom(48 << 20))  # incompressible: the archive takes a while
    settings = oc_home.settings()
    backups = settings.backups
    proc = subprocess.Popen(
        [sys.executable, "-m", "openclaw_infra", "backup"],
        env=oc_home.env,
        cwd=oc_home.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not _partial_archive(backups):
        assert proc.poll() is None, "the backup ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert catalog.list_snapshots(backups) == []
    assert not [p for p in backups.iterdir() if p.name.endswith(".tar.zst")]
    assert not is_locked(settings.locks_dir / "backup.lock")
    listed = oc_home.run("backup", "list", "--json")
    assert json.loads(listed.stdout)["snapshots"] == []
    again = oc_home.run("backup")
    assert again.returncode == 0, again.stderr
    assert [p.name.startswith(TMP_PREFIX) for p in backups.iterdir()] == [False]


WRITER = textwrap.dedent("""
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE IF NOT EXISTS batches (batch INTEGER, i INTEGER, pad TEXT)")
    batch = 0
    while True:
        batch += 1
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO batches VALUES (?, ?, ?)",
                         [(batch, i, "x" * 200) for i in range(100)])
        conn.execute("COMMIT")
        if batch == 20:
            print("ready", flush=True)
""")


def test_database_written_during_backup_is_copied_consistently(
    oc_home: OpenClawHome, tmp_path: Path
) -> None:
    """Snapshots taken while another process commits 100-row batches hold only whole
    batches, pass integrity_check, and each sees at least the batches before it began."""
    settings = oc_home.settings()
    connect(settings.db_path).close()
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(settings.db_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        snapshots = []
        for _ in range(3):
            conn = sqlite3.connect(f"file:{settings.db_path}?mode=ro", uri=True)
            seen_before = conn.execute("SELECT max(batch) FROM batches").fetchone()[0]
            conn.close()
            snapshots.append((create_snapshot(settings).snapshot, seen_before))
    finally:
        writer.kill()
        writer.wait()
    for n, (snap, seen_before) in enumerate(snapshots):
        target = tmp_path / f"r{n}"
        restore_to_target(snap, target)
        db = sqlite3.connect(target / "data" / "infra.sqlite")
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        sizes = db.execute("SELECT batch, count(*) FROM batches GROUP BY batch").fetchall()
        db.close()
        assert {count for _, count in sizes} == {100}
        assert max(batch for batch, _ in sizes) >= seen_before
        assert [b for b, _ in sizes] == list(range(1, len(sizes) + 1))


DISK_FULL = textwrap.dedent("""
    import resource, signal, sys
    from openclaw_infra.cli import main
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG, as a full disk gives ENOSPC
    resource.setrlimit(resource.RLIMIT_FSIZE, (512 * 1024, 512 * 1024))
    main(["backup"])
""")


def test_disk_full_mid_write_is_exit_73_and_leaves_nothing(oc_home: OpenClawHome) -> None:
    """A write that fails for lack of space after the check (another writer filled the
    disk) exits 73 and leaves neither a snapshot nor a temp file."""
    (oc_home.workspace / "memory" / "big.md").write_bytes(os.urandom(2 << 20))
    connect(oc_home.settings().db_path).close()  # the store exists: the archive hits the limit
    proc = subprocess.run(
        [sys.executable, "-c", DISK_FULL],
        env=oc_home.env,
        cwd=oc_home.root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 73, proc.stderr
    backups = oc_home.settings().backups
    assert [p.name for p in backups.iterdir()] == []
