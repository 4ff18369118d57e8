"""A corrupt `infra.sqlite` and a full disk, through the real CLI: health is CRITICAL with the
next command, `backup restore --in-place` and `index --rebuild` move the damaged store aside
(kept) and recover, every other command exits 65 naming it, and a full disk is exit 73."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import OpenClawHome
from openclaw_fixtures import write_jsonl_session

TEST_ENV = {
    "OPENCLAW_INFRA_EMBEDDING_MODEL": "test-hash-embedder",
    "OPENCLAW_INFRA_TEST_EMBEDDER": "1",
}
GARBAGE = b"\x8fthis was infra.sqlite\x00" * 400


def _chunks(home: OpenClawHome) -> int:
    conn = sqlite3.connect(f"file:{home.data / 'infra.sqlite'}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM memory_chunks").fetchone()[0])
    finally:
        conn.close()


def _indexed(home: OpenClawHome) -> int:
    """A home with a conversation and memory files, indexed; returns its chunk count."""
    write_jsonl_session(
        home.state,
        "main",
        "s1",
        [
            ("user", "My sister Lena moved to Porto in March"),
            ("assistant", "Porto is lovely. Does she like it?"),
            ("user", "She loves the river and the tiles"),
        ],
        key="agent:main:telegram:dm:42",
    )
    (home.workspace / "MEMORY.md").write_text("# Memory\n\n- Lena: sister, lives in Porto\n")
    (home.workspace / "memory" / "notes.md").write_text("# Notes\n\n- boiler service on the 14th\n")
    done = home.run("index", extra_env=TEST_ENV)
    assert done.returncode == 0, done.stderr
    return _chunks(home)


def _garbage(home: OpenClawHome) -> Path:
    store = home.data / "infra.sqlite"
    store.write_bytes(GARBAGE)
    return store


def _truncate(home: OpenClawHome) -> Path:
    store = home.data / "infra.sqlite"
    conn = sqlite3.connect(store)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = store.read_bytes()
    store.write_bytes(data[: len(data) // 2])
    return store


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_health_is_critical_and_names_the_next_command(oc_home: OpenClawHome, damage: str) -> None:
    """A store overwritten with garbage, or cut short, is CRITICAL (exit 2, not UNKNOWN):
    the first line names the file and the exact command (a rebuild without a snapshot, the
    in-place restore with one), and the checks that read the store add no UNKNOWN noise."""
    _indexed(oc_home)
    if damage == "truncated":
        assert oc_home.run("backup").returncode == 0
        store = _truncate(oc_home)
        command = "`infra backup restore latest --in-place --yes`"
    else:
        store = _garbage(oc_home)
        command = "`infra index --rebuild`"
    done = oc_home.run("health", extra_env=TEST_ENV)
    assert done.returncode == 2, done.stdout + done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith(f"INFRA CRITICAL - database: {store} is corrupt"), first
    assert command in first
    report = json.loads(oc_home.run("health", "--json", extra_env=TEST_ENV).stdout)
    assert [c["name"] for c in report["checks"] if c["state"] == "UNKNOWN"] == []
    # cron's run cannot record its verdict in the damaged ledger; it still exits CRITICAL
    quiet = oc_home.run("health", "--quiet", extra_env=TEST_ENV)
    assert quiet.returncode == 2 and "verdict not recorded" in quiet.stderr


def test_other_commands_exit_65_naming_the_store(oc_home: OpenClawHome) -> None:
    """`index` (at connect) and `recall` (a query that escapes to the outer handler) exit 65
    with one line naming the store and the recovery, never 1 "internal error"."""
    _indexed(oc_home)
    store = _garbage(oc_home)
    for args in (("index",), ("recall", "--no-service", "Lena")):
        done = oc_home.run(*args, extra_env=TEST_ENV)
        assert done.returncode == 65, (args, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"infra: error: {store} is corrupt")
        assert "infra backup restore latest --in-place --yes" in lines[0]


def test_restore_in_place_moves_a_corrupt_store_aside_and_restores(oc_home: OpenClawHome) -> None:
    """The in-place restore no longer refuses a corrupt store: it moves it (and its WAL)
    aside, kept byte for byte at 0600, says so in one line, and restores the snapshot's."""
    chunks = _indexed(oc_home)
    assert oc_home.run("backup").returncode == 0
    store = _garbage(oc_home)
    (oc_home.data / "infra.sqlite-wal").write_bytes(b"stale wal")
    done = oc_home.run("backup", "restore", "latest", "--in-place", "--yes", extra_env=TEST_ENV)
    assert done.returncode == 0, done.stderr
    moved = [line for line in done.stdout.splitlines() if "corrupt store" in line]
    assert len(moved) == 1
    aside = Path(moved[0].rsplit(": ", 1)[1])
    assert aside.parent == oc_home.data and aside.name.startswith("infra.sqlite.corrupt-")
    assert aside.read_bytes() == GARBAGE
    assert (aside.parent / (aside.name + "-wal")).read_bytes() == b"stale wal"
    assert stat.S_IMODE(aside.stat().st_mode) == 0o600
    assert _chunks(oc_home) == chunks
    assert store.is_file() and oc_home.run("health", extra_env=TEST_ENV).returncode < 2
    recall = oc_home.run("recall", "--no-service", "--json", "Lena", extra_env=TEST_ENV)
    assert recall.returncode == 0 and json.loads(recall.stdout)["results"]


def test_restore_of_a_damaged_snapshot_moves_nothing(oc_home: OpenClawHome) -> None:
    """A snapshot that fails verification restores nothing and leaves the corrupt store
    where it was (exit 65): it is moved aside only once there is something to put back."""
    _indexed(oc_home)
    assert oc_home.run("backup").returncode == 0
    snapshot = next((oc_home.data / "backups").glob("infra-*.tar.zst"))
    data = bytearray(snapshot.read_bytes())
    data[len(data) // 2] ^= 0xFF
    snapshot.write_bytes(bytes(data))
    store = _garbage(oc_home)
    done = oc_home.run("backup", "restore", "latest", "--in-place", "--yes")
    assert done.returncode == 65, done.stderr
    assert "failed verification" in done.stderr
    assert store.read_bytes() == GARBAGE
    assert list(oc_home.data.glob("infra.sqlite.corrupt-*")) == []


def test_restore_in_place_drops_the_derived_faiss_file(oc_home: OpenClawHome) -> None:
    """Restoring infra.sqlite in place drops memory.faiss: it indexed the store that was
    replaced, and its chunk ids would name the restored store's new rows."""
    _indexed(oc_home)
    assert oc_home.run("backup").returncode == 0
    (oc_home.workspace / "memory" / "later.md").write_text("- written after the snapshot\n")
    assert oc_home.run("index", extra_env=TEST_ENV).returncode == 0
    assert (oc_home.data / "memory.faiss").exists()
    done = oc_home.run("backup", "restore", "latest", "--in-place", "--yes", extra_env=TEST_ENV)
    assert done.returncode == 0, done.stderr
    assert not (oc_home.data / "memory.faiss").exists()


def test_rebuild_without_a_snapshot_rebuilds_what_is_derivable(oc_home: OpenClawHome) -> None:
    """`index --rebuild` on a corrupt store with no snapshot moves it aside (kept), rebuilds
    the memory store and index from the transcripts and memory files, and says what starts
    fresh; recall answers again and health is no longer CRITICAL about the store."""
    chunks = _indexed(oc_home)
    _truncate(oc_home)
    done = oc_home.run("index", "--rebuild", extra_env=TEST_ENV)
    assert done.returncode == 0, done.stderr
    assert "moved the corrupt store aside, kept: " in done.stdout
    assert "run ledger" in done.stdout and "generated_by" in done.stdout
    (aside,) = oc_home.data.glob("infra.sqlite.corrupt-*[0-9]Z")
    assert stat.S_IMODE(aside.stat().st_mode) == 0o600
    assert _chunks(oc_home) == chunks
    recall = oc_home.run("recall", "--no-service", "--json", "Porto", extra_env=TEST_ENV)
    assert recall.returncode == 0 and json.loads(recall.stdout)["results"]
    health = oc_home.run("health", "--json", extra_env=TEST_ENV)
    assert "database" not in [c["name"] for c in json.loads(health.stdout)["checks"]]
    again = oc_home.run("index", "--rebuild", "--json", extra_env=TEST_ENV)
    assert again.returncode == 0 and "corrupt_store_set_aside" not in json.loads(again.stdout)
    assert len(list(oc_home.data.glob("infra.sqlite.corrupt-*[0-9]Z"))) == 1


# Runs `infra` with every read-write connection to infra.sqlite capped at the size the store
# has when it opens (`PRAGMA max_page_count`), so any growth fails with SQLITE_FULL exactly as
# a full disk does. The cap lives only in this test's subprocess: no production code path
# (no setting, no environment variable) can set it.
FULL_DISK_RUNNER = """
import sqlite3, sys
real_connect = sqlite3.connect
def capped_connect(database, *args, **kwargs):
    conn = real_connect(database, *args, **kwargs)
    if str(database).endswith("infra.sqlite"):  # read-only opens are file: URIs
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count={max(pages, 1)}")
    return conn
sqlite3.connect = capped_connect
sys.argv[0] = "infra"
from openclaw_infra.entry import main
main()
"""


def _run_full(home: OpenClawHome, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", FULL_DISK_RUNNER, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**home.env, **TEST_ENV},
        cwd=home.root,
        check=False,
    )


def _big_memory(home: OpenClawHome) -> None:
    for n in range(30):
        body = "\n\n".join(f"- note {n}.{i}: " + f"word{n}x{i} " * 40 for i in range(20))
        (home.workspace / "memory" / f"big{n}.md").write_text(body + "\n")


def test_full_disk_during_index_exits_73_and_the_work_stays_owed(oc_home: OpenClawHome) -> None:
    """`infra index` that hits SQLITE_FULL exits 73 with one line saying the work stays
    owed (not 1 "internal error"); with space back, the next run indexes all of it."""
    assert oc_home.run("index", extra_env=TEST_ENV).returncode == 0  # the store exists
    _big_memory(oc_home)
    full = _run_full(oc_home, "index")
    assert full.returncode == 73, full.stderr
    lines = full.stderr.strip().splitlines()
    assert len(lines) == 1 and "disk is full" in lines[0] and "stays owed" in lines[0]
    assert str(oc_home.data / "infra.sqlite") in lines[0]
    with sqlite3.connect(oc_home.data / "infra.sqlite") as conn:  # the ledger says 73 too
        row = conn.execute(
            "SELECT status, exit_code FROM runs WHERE job='index' ORDER BY started_at DESC"
        ).fetchone()
    assert tuple(row) == ("failed", 73)
    done = oc_home.run("index", "--json", extra_env=TEST_ENV)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["files_changed"] >= 30


def test_full_disk_during_summarize_exits_73(oc_home: OpenClawHome) -> None:
    """`infra summarize` that hits SQLITE_FULL exits 73 with one line, too."""
    assert oc_home.run("index", extra_env=TEST_ENV).returncode == 0
    turns = [
        ("user" if i % 2 == 0 else "assistant", f"turn {i} about the garden plan " * 30)
        for i in range(120)
    ]
    write_jsonl_session(oc_home.state, "main", "s-big", turns, key="agent:main:telegram:dm:7")
    full = _run_full(oc_home, "summarize", "--summarizer", "extractive")
    assert full.returncode == 73, full.stdout + full.stderr
    lines = full.stderr.strip().splitlines()
    assert len(lines) == 1 and "stays owed" in lines[0]
    assert os.path.exists(oc_home.data / "infra.sqlite")
