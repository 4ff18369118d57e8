"""`infra backup`: what a snapshot holds, verify, restore, retention, space, drill, health."""

from __future__ import annotations

import io
import json
import sqlite3
import stat
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest
import zstandard

from openclaw_infra.core.checks import OK, WARNING, HealthContext
from openclaw_infra.core.config import Settings
from openclaw_infra.core.db import connect
from openclaw_infra.core.errors import DataError, InternalError
from openclaw_infra.ops.backup import catalog
from openclaw_infra.ops.backup.archive import MANIFEST_NAME
from openclaw_infra.ops.backup.create import create_snapshot, prune, run_backup
from openclaw_infra.ops.backup.drill import run_drill
from openclaw_infra.ops.backup.restore import restore_in_place, restore_to_target
from openclaw_infra.ops.backup.verify import VerifyResult, verify_snapshot

from conftest import OpenClawHome
from openclaw_fixtures import state_with_both_containers

INFRA_MD = "memory/daily/2026-11-20.md"


def populate(home: OpenClawHome) -> Settings:
    """A home with every kind of source: infra's database (ledger, a table, FTS5), config,
    infra's Markdown, the agent's memory, OpenClaw's JSONL and SQLite, and a FAISS file."""
    state_with_both_containers(home.state)
    ws = home.workspace
    (ws / "memory" / "daily").mkdir(parents=True)
    (ws / INFRA_MD).write_text("---\nperiod: 2026-11-20\n---\n- Mia moves to Lisbon\n")
    (ws / "MEMORY.md").write_text("# Memory\n- flat white, no sugar\n")
    (ws / "memory" / "2026-11-20.md").write_text("agent's own daily log\n")
    (ws / "AGENTS.md").write_text("not part of the memory tree\n")
    settings = home.settings()
    conn = connect(settings.db_path)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    conn.execute("CREATE VIRTUAL TABLE notes_fts USING fts5(text)")
    conn.executemany("INSERT INTO notes(text) VALUES (?)", [(f"note {i}",) for i in range(50)])
    conn.execute("INSERT INTO notes_fts(text) SELECT text FROM notes")
    conn.close()
    settings.config_file.write_text("OPENCLAW_INFRA_LOG_LEVEL=info\n")
    settings.config_file.chmod(0o600)
    (settings.data / "memory.faiss").write_bytes(b"derived" * 100)
    return settings


@pytest.fixture
def home(oc_home: OpenClawHome) -> OpenClawHome:
    populate(oc_home)
    return oc_home


def manifest_of(snapshot: catalog.Snapshot) -> dict[str, Any]:
    with snapshot.path.open("rb") as raw:
        reader = zstandard.ZstdDecompressor().stream_reader(raw)
        with tarfile.open(fileobj=reader, mode="r|") as tar:
            first = tar.next()
            assert first is not None and first.name == MANIFEST_NAME
            handle = tar.extractfile(first)
            assert handle is not None
            return dict(json.loads(handle.read()))


def dump(db: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def test_snapshot_holds_the_sources_and_not_the_faiss_file(home: OpenClawHome) -> None:
    """One archive per snapshot, 0600 in a 0700 directory, whose manifest lists every
    source with size and SHA-256, the databases with their schema versions, the host, the
    infra version and the time; the derived FAISS file and non-memory workspace files are
    left out; the run is in the ledger."""
    settings = home.settings()
    result = run_backup(settings)
    snap = result.snapshot
    assert snap.path.name == f"infra-{snap.id}.tar.zst"
    assert stat.S_IMODE(snap.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(settings.backups.stat().st_mode) == 0o700
    manifest = manifest_of(snap)
    paths = {f["path"]: f for f in manifest["files"]}
    assert set(paths) == {
        "data/infra.sqlite",
        "data/config.env",
        "workspace/MEMORY.md",
        f"workspace/{INFRA_MD}",
        "workspace/memory/2026-11-20.md",
        "state/agents/main/sessions/old-session.jsonl",
        "state/agents/main/sessions/sessions.json",
        "state/agents/main/agent/openclaw-agent.sqlite",
    }
    for entry in manifest["files"]:
        assert len(entry["sha256"]) == 64 and entry["size"] >= 0
    infra_db = paths["data/infra.sqlite"]
    assert infra_db["kind"] == "sqlite" and infra_db["tables"]["notes"] == 50
    assert "ledger-001-runs" in infra_db["migrations"]
    assert paths["state/agents/main/agent/openclaw-agent.sqlite"]["user_version"] == 23
    assert manifest["host"] and manifest["infra_version"] and manifest["created_at"]
    assert manifest["derived_not_included"] == ["data/memory.faiss"]
    conn = connect(settings.db_path, readonly=True)
    row = conn.execute("SELECT status, details FROM runs WHERE job='backup'").fetchone()
    conn.close()
    assert row["status"] == "ok" and json.loads(row["details"])["snapshot"] == snap.id


def test_cli_create_list_verify(home: OpenClawHome) -> None:
    """`infra backup --json` names the snapshot, `list --json` shows it by id, and `verify`
    of a good snapshot exits 0."""
    made = home.run("backup", "--json")
    assert made.returncode == 0, made.stderr
    snap_id = json.loads(made.stdout)["id"]
    listed = home.run("backup", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)["snapshots"]
    assert [r["id"] for r in rows] == [snap_id] and rows[0]["files"] == 8
    checked = home.run("backup", "verify", snap_id)
    assert checked.returncode == 0, checked.stderr
    assert f"{snap_id}  8 files  ok" in checked.stdout


def test_flipped_byte_is_caught_by_verify(home: OpenClawHome) -> None:
    """One flipped byte anywhere in the archive makes `verify` exit 65 naming the snapshot."""
    snap = run_backup(home.settings()).snapshot
    data = bytearray(snap.path.read_bytes())
    data[len(data) // 2] ^= 0x01
    snap.path.write_bytes(bytes(data))
    checked = home.run("backup", "verify", snap.id)
    assert checked.returncode == 65, checked.stdout + checked.stderr
    assert snap.id in checked.stderr and "FAILED" in checked.stdout


def _rewrite_member(path: Path, name: str) -> None:
    """Flip one byte of `name`'s content and recompress: a well-formed stream whose zstd
    checksum is valid, so only the manifest's SHA-256 can notice."""
    raw = zstandard.ZstdDecompressor().stream_reader(path.read_bytes()).read()
    out = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as src,
        tarfile.open(fileobj=out, mode="w:", format=tarfile.PAX_FORMAT) as dst,
    ):
        for info in src:
            handle = src.extractfile(info)
            assert handle is not None
            body = bytearray(handle.read())
            if info.name == name:
                body[0] ^= 0x20
            dst.addfile(info, io.BytesIO(bytes(body)))
    path.write_bytes(zstandard.ZstdCompressor(write_checksum=True).compress(out.getvalue()))


def test_changed_file_inside_a_valid_stream_is_caught_by_sha256(home: OpenClawHome) -> None:
    """A member whose bytes differ from the manifest fails verification by name, even when
    the compressed stream itself is intact."""
    settings = home.settings()
    snap = run_backup(settings).snapshot
    _rewrite_member(snap.path, "workspace/MEMORY.md")
    result = verify_snapshot(catalog.list_snapshots(settings.backups)[0], settings.backups)
    assert not result.ok
    assert result.problems == [
        "workspace/MEMORY.md: content does not match its SHA-256 in the manifest"
    ]


def test_restore_round_trips_byte_identical(home: OpenClawHome, tmp_path: Path) -> None:
    """Every file restores with the bytes and mtime it had; databases hold the same rows and
    equal the archived copy byte for byte; the tree is 0700 directories and 0600 files."""
    settings = home.settings()
    snap = create_snapshot(settings).snapshot  # outside a job run: the ledger stays as copied
    target = tmp_path / "restored"
    result = restore_to_target(snap, target)
    assert result.files == 8
    again = tmp_path / "again"
    restore_to_target(snap, again)
    live = {"data": settings.data, "workspace": settings.workspace, "state": settings.state_dir}
    for entry in manifest_of(snap)["files"]:
        root, rest = entry["path"].split("/", 1)
        restored, original = target / root / rest, live[root] / rest
        assert restored.read_bytes() == (again / root / rest).read_bytes(), entry["path"]
        assert stat.S_IMODE(restored.stat().st_mode) == 0o600
        assert restored.stat().st_mtime == pytest.approx(original.stat().st_mtime, abs=0.01)
        if entry["kind"] == "file":
            assert restored.read_bytes() == original.read_bytes(), entry["path"]
        else:
            assert dump(restored) == dump(original), entry["path"]
    for directory in [target, *(p for p in target.rglob("*") if p.is_dir())]:
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory


def test_restore_refusals(home: OpenClawHome, tmp_path: Path) -> None:
    """A non-empty target is a usage error (2), an unknown id exit 66, --in-place without
    --yes exit 2, and a damaged snapshot restores nothing (65, target removed)."""
    snap = run_backup(home.settings()).snapshot
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("x")
    assert home.run("backup", "restore", snap.id, "--target", str(busy)).returncode == 2
    assert home.run("backup", "restore", "nope", "--target", str(tmp_path / "n")).returncode == 66
    assert home.run("backup", "restore", snap.id, "--in-place").returncode == 2
    _rewrite_member(snap.path, "state/agents/main/sessions/sessions.json")
    fresh = tmp_path / "fresh"
    bad = home.run("backup", "restore", snap.id, "--target", str(fresh))
    assert bad.returncode == 65, bad.stderr
    assert not fresh.exists()


def test_restore_in_place_snapshots_the_current_state_first(home: OpenClawHome) -> None:
    """--in-place --yes puts the snapshot's files and rows back, after taking a snapshot of
    the state it overwrites, and the restore is recorded in the restored ledger."""
    settings = home.settings()
    snap = run_backup(settings).snapshot
    memory = settings.workspace / "MEMORY.md"
    before = memory.read_bytes()
    memory.write_text("# Memory\n- overwritten by mistake\n")
    conn = connect(settings.db_path)
    conn.execute("DELETE FROM notes")
    conn.close()
    done = home.run("backup", "restore", snap.id, "--in-place", "--yes", "--json")
    assert done.returncode == 0, done.stderr
    pre_id = json.loads(done.stdout)["pre_restore_snapshot"]
    assert memory.read_bytes() == before
    conn = connect(settings.db_path, readonly=True)
    assert conn.execute("SELECT count(*) FROM notes").fetchone()[0] == 50
    details = [
        json.loads(r[0])
        for r in conn.execute("SELECT details FROM runs WHERE job='backup' AND status='ok'")
    ]
    conn.close()
    assert any(d.get("restored") == snap.id for d in details)
    pre = catalog.find_snapshot(settings.backups, pre_id)
    assert manifest_of(pre)["reason"] == f"pre-restore of {snap.id}"
    restore_to_target(pre, home.root / "undo")
    assert b"overwritten by mistake" in (home.root / "undo/workspace/MEMORY.md").read_bytes()


def test_restore_in_place_refuses_a_damaged_snapshot(home: OpenClawHome) -> None:
    """A snapshot that fails verification is never restored over live data (exit 65), and
    no pre-restore snapshot is taken."""
    settings = home.settings()
    snap = run_backup(settings).snapshot
    _rewrite_member(snap.path, "workspace/MEMORY.md")
    with pytest.raises(DataError, match="failed verification; nothing was restored"):
        restore_in_place(settings, snap)
    assert [s.id for s in catalog.list_snapshots(settings.backups)] == [snap.id]


def test_short_of_space_exits_73_and_writes_nothing(home: OpenClawHome) -> None:
    """When the snapshot would leave less than the critical free-space reserve, the run
    exits 73 before writing: no backup directory, no temp file."""
    env = {"OPENCLAW_INFRA_DISK_CRIT_FREE_MB": str(1 << 40)}
    short = home.run("backup", extra_env=env)
    assert short.returncode == 73, short.stderr
    assert "nothing was written" in short.stderr
    assert not home.settings().backups.exists()
    assert home.run("backup").returncode == 0
    names = sorted(p.name for p in home.settings().backups.iterdir())
    assert home.run("backup", extra_env=env).returncode == 73
    assert sorted(p.name for p in home.settings().backups.iterdir()) == names


def test_retention_prunes_after_the_new_snapshot_verified(home: OpenClawHome) -> None:
    """With keep-last 2 and no period rules, the third and fourth runs prune the oldest;
    prune refuses a verification that did not pass."""
    settings = home.settings(
        backup_keep_last=2, backup_keep_daily=0, backup_keep_weekly=0, backup_keep_monthly=0
    )
    made = [run_backup(settings) for _ in range(4)]
    left = [s.id for s in catalog.list_snapshots(settings.backups)]
    assert left == [made[2].snapshot.id, made[3].snapshot.id]
    assert made[3].pruned == [made[1].snapshot.id]
    failed = VerifyResult(made[3].snapshot, problems=["damaged"])
    with pytest.raises(InternalError):
        prune(settings, failed)


def test_settings_choose_workspace_and_openclaw(home: OpenClawHome) -> None:
    """Without the workspace only infra's own Markdown is kept; without OpenClaw no
    transcript is."""
    settings = home.settings(backup_include_workspace=False, backup_include_openclaw=False)
    result = create_snapshot(settings)
    paths = {f["path"] for f in result.manifest["files"]}
    assert paths == {"data/infra.sqlite", "data/config.env", f"workspace/{INFRA_MD}"}


def test_symlinks_are_named_not_followed(home: OpenClawHome, tmp_path: Path) -> None:
    """A symlink in the memory tree is listed as skipped, never followed out of it."""
    secret = tmp_path / "elsewhere.txt"
    secret.write_text("outside the tree")
    (home.workspace / "memory" / "link.md").symlink_to(secret)
    result = create_snapshot(home.settings())
    assert result.manifest["skipped"] == ["workspace/memory/link.md"]
    assert all("link.md" not in f["path"] for f in result.manifest["files"])


def test_drill_restores_checks_and_records(home: OpenClawHome) -> None:
    """The drill restores the newest snapshot, finds every database intact, and records
    the result as a `backup-drill` run; without snapshots it exits 66."""
    settings = home.settings()
    assert home.run("backup", "drill").returncode == 66
    snap = run_backup(settings).snapshot
    result = run_drill(settings, rebuild=False)
    assert result.snapshot == snap.id and result.files == 8
    assert result.databases == {
        "data/infra.sqlite": "ok",
        "state/agents/main/agent/openclaw-agent.sqlite": "ok",
    }
    conn = connect(settings.db_path, readonly=True)
    row = conn.execute(
        "SELECT details FROM runs WHERE job='backup-drill' AND status='ok'"
    ).fetchone()
    conn.close()
    assert json.loads(row[0])["snapshot"] == snap.id


def _has_index_command() -> bool:
    from openclaw_infra.cli import app

    return any(c.name == "index" for c in app.registered_commands)


@pytest.mark.skipif(not _has_index_command(), reason="`infra index` is not registered yet")
def test_drill_rebuilds_the_index_from_the_snapshot(home: OpenClawHome) -> None:
    """`infra backup drill` rebuilds the memory index from the restored tree alone (test
    embedder; the FAISS file is not in the snapshot) and finds the chunks the snapshot's
    store held. A snapshot whose sources no longer produce its index fails the drill (65)."""
    env = {
        "OPENCLAW_INFRA_EMBEDDING_MODEL": "test-hash-embedder",
        "OPENCLAW_INFRA_TEST_EMBEDDER": "1",
    }
    indexed = home.run("index", "--json", extra_env=env)
    assert indexed.returncode == 0, indexed.stderr
    assert (home.data / "memory.faiss").exists()
    made = home.run("backup", "--json", extra_env=env)
    assert made.returncode == 0, made.stderr
    snap = catalog.find_snapshot(home.data / "backups", json.loads(made.stdout)["id"])
    assert all("faiss" not in f["path"] for f in manifest_of(snap)["files"])
    drill = home.run("backup", "drill", "--json", extra_env=env)
    assert drill.returncode == 0, drill.stderr
    result = json.loads(drill.stdout)
    assert result["counts_compared"] and result["chunks_in_snapshot"] > 0
    assert result["chunks_rebuilt"] == result["chunks_in_snapshot"]

    (home.state / "agents/main/sessions/old-session.jsonl").unlink()  # not re-indexed
    assert home.run("backup", extra_env=env).returncode == 0
    short = home.run("backup", "drill", extra_env=env)
    assert short.returncode == 65, short.stderr
    assert "the rebuilt index has" in short.stderr


def test_health_reports_backup_and_drill_age(home: OpenClawHome) -> None:
    """Health's "backup" check follows the newest snapshot's age against the job's period
    and grace; "drill" warns once a drill is overdue and is OK after one succeeded."""
    from openclaw_infra.ops.backup.checks import check_backup, check_drill

    settings = home.settings()
    run_backup(settings)
    conn = sqlite3.connect(f"file:{settings.db_path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    now = time.time()
    fresh = HealthContext(settings, conn, now)
    backup = next(iter(check_backup(fresh)))
    assert backup.state == OK and backup.perf["backups"] == 1
    late = HealthContext(settings, conn, now + 3 * 86400)
    assert next(iter(check_backup(late))).state == 2  # CRITICAL past twice period + grace
    week = HealthContext(settings, conn, now + 9 * 86400)
    assert next(iter(check_drill(week))).state == WARNING
    conn.close()
    run_drill(settings, rebuild=False)
    conn = sqlite3.connect(f"file:{settings.db_path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    drill = next(iter(check_drill(HealthContext(settings, conn, time.time()))))
    conn.close()
    assert drill.state == OK and "last successful drill of" in drill.summary


def test_health_without_snapshots_is_not_due_at_first(oc_home: OpenClawHome) -> None:
    """A fresh install has no snapshot and that is OK until the first backup is due."""
    from openclaw_infra.ops.backup.checks import check_backup

    check = next(iter(check_backup(HealthContext(oc_home.settings(), None))))
    assert check.state == OK and "not due yet" in check.summary


def test_unsafe_member_paths_are_refused(oc_home: OpenClawHome, tmp_path: Path) -> None:
    """An archive whose manifest and member say `data/../../evil` fails verification and
    restores nothing, inside the target or outside it."""
    import hashlib

    body = b"escaped"
    name = "data/../../evil"
    manifest = {
        "format": "openclaw-infra-backup/1",
        "files": [
            {
                "path": name,
                "kind": "file",
                "size": len(body),
                "sha256": hashlib.sha256(body).hexdigest(),
                "mtime": 0,
            }
        ],
    }
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:", format=tarfile.PAX_FORMAT) as tar:
        for member, data in ((MANIFEST_NAME, json.dumps(manifest).encode()), (name, body)):
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    backups = oc_home.settings().backups
    backups.mkdir(parents=True)
    path = backups / "infra-20260101T000000Z.tar.zst"
    path.write_bytes(zstandard.ZstdCompressor(write_checksum=True).compress(raw.getvalue()))
    snap = catalog.find_snapshot(backups, "latest")
    assert verify_snapshot(snap, backups).problems[0] == f"{name!r}: unsafe path in the archive"
    target = tmp_path / "deep" / "target"
    with pytest.raises(DataError, match="unsafe path"):
        restore_to_target(snap, target)
    assert not target.exists() and not (tmp_path / "deep" / "evil").exists()
