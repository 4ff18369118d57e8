"""Restoring a snapshot taken by an older version: the restored ledger owes migrations this
version added, and the restore still records itself in it."""

from __future__ import annotations

from openclaw_infra.core.db import connect, pending
from openclaw_infra.ops.backup.create import create_snapshot
from openclaw_infra.ops.backup.restore import restore_in_place

from conftest import OpenClawHome


def test_restore_in_place_of_a_snapshot_without_the_run_clocks(oc_home: OpenClawHome) -> None:
    """A snapshot whose `runs` table predates the clock columns (issue 22) is restored, and
    this run's row goes into it with the schema brought up to date."""
    settings = oc_home.settings()
    (settings.workspace / "MEMORY.md").write_text("# Memory\n- restored\n")
    conn = connect(settings.db_path)
    for column in ("since_boot_s", "awake_s", "boot_id"):
        conn.execute(f"ALTER TABLE runs DROP COLUMN {column}")
    conn.execute("DELETE FROM schema_migrations WHERE name='ledger-002-run-clocks'")
    conn.commit()
    conn.close()
    snap = create_snapshot(settings, reason="older version").snapshot
    restore_in_place(settings, snap)
    conn = connect(settings.db_path, readonly=True)
    assert pending(conn) == []
    row = conn.execute("SELECT status, since_boot_s FROM runs WHERE job='backup'").fetchone()
    conn.close()
    assert row is not None and row[0] == "ok"
