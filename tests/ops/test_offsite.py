"""Off-site copies with the real restic: copy, restore, verify, failures, SIGKILL, drills."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from openclaw_infra.core.checks import CRITICAL, OK, WARNING, HealthContext, open_readonly
from openclaw_infra.core.config import Settings
from openclaw_infra.core.db import connect
from openclaw_infra.core.errors import ConfigError, UnavailableError
from openclaw_infra.ops.backup import catalog, offsite
from openclaw_infra.ops.backup.checks import check_offsite
from openclaw_infra.ops.backup.create import run_backup
from openclaw_infra.ops.backup.drill import run_drill
from openclaw_infra.ops.backup.restic import Restic, display

from conftest import OpenClawHome
from openclaw_fixtures import state_with_both_containers

RESTIC = shutil.which("restic")
# scripts/test.sh installs restic on Linux, so there a missing one fails the tests loudly
pytestmark = pytest.mark.skipif(
    RESTIC is None and sys.platform == "darwin",
    reason="restic is not installed: brew install restic",
)
API_KEY = "sk-ant-api03-" + secrets.token_hex(20)


def populate(home: OpenClawHome) -> None:
    """Every kind of source, and an API key in config.env that must never leave in clear."""
    state_with_both_containers(home.state)
    (home.workspace / "memory" / "daily").mkdir(parents=True)
    (home.workspace / "memory" / "daily" / "2026-11-20.md").write_text("- Mia moves to Lisbon\n")
    (home.workspace / "MEMORY.md").write_text("# Memory\n- flat white, no sugar\n")
    data = home.data
    data.mkdir(parents=True, exist_ok=True)
    conn = connect(data / "infra.sqlite")
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    conn.executemany("INSERT INTO notes(text) VALUES (?)", [(f"note {i}",) for i in range(50)])
    conn.commit()
    conn.close()
    config = data / "config.env"
    config.write_text(
        f"OPENCLAW_INFRA_LOG_LEVEL=info\nOPENCLAW_INFRA_ANTHROPIC_API_KEY={API_KEY}\n"
    )
    config.chmod(0o600)


def repo_env(home: OpenClawHome, repo: Path, password: str = "correct horse") -> dict[str, str]:
    pw = home.root / f"restic-pass-{secrets.token_hex(4)}"
    pw.write_text(password + "\n")
    pw.chmod(0o600)
    return {
        "OPENCLAW_INFRA_RESTIC_REPOSITORY": str(repo),
        "OPENCLAW_INFRA_RESTIC_PASSWORD_FILE": str(pw),
    }


def settings_for(home: OpenClawHome, env: dict[str, str], **extra: Any) -> Settings:
    return home.settings(
        restic_repository=env["OPENCLAW_INFRA_RESTIC_REPOSITORY"],
        restic_password_file=Path(env["OPENCLAW_INFRA_RESTIC_PASSWORD_FILE"]),
        **extra,
    )


@pytest.fixture
def home(oc_home: OpenClawHome) -> OpenClawHome:
    populate(oc_home)
    return oc_home


def files_of(top: Path) -> dict[str, bytes]:
    return {
        p.relative_to(top).as_posix(): p.read_bytes()
        for p in sorted(top.rglob("*"))
        if p.is_file() and not p.name.endswith((".sqlite", "-shm", "-wal"))
    }


def dump(db: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def test_copy_then_restore_is_identical_and_holds_no_key(home: OpenClawHome) -> None:
    """`infra backup` initialises the repository and copies the snapshot; `restore --offsite`
    gives back the source's files byte for byte and its databases row for row, with the
    same checks as a local restore, and the API key is in none of the restored files."""
    env = repo_env(home, home.root / "offsite")
    done = home.run("backup", "--json", extra_env=env)
    assert done.returncode == 0, done.stderr
    made = json.loads(done.stdout)
    assert made["offsite"]["initialised"] is True
    assert made["offsite"]["bytes_added"] > 0
    assert (home.root / "offsite" / "config").is_file()

    listed = home.run("backup", "list", "--offsite", "--json", extra_env=env)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)["snapshots"]
    assert [r["id"] for r in rows] == [made["offsite"]["id"]]
    assert rows[0]["snapshot"] == made["id"]

    target = home.root / "restored"
    back = home.run(
        "backup", "restore", rows[0]["id"], "--offsite", "--target", str(target), extra_env=env
    )
    assert back.returncode == 0, back.stderr
    assert "(off-site)" in back.stdout and "re-enter" in back.stdout
    restored = files_of(target / "workspace")
    assert restored == files_of(home.workspace)
    state = files_of(target / "state")
    assert state and all((home.state / p).read_bytes() == b for p, b in state.items())
    assert dump(target / "data" / "infra.sqlite")[:60] == dump(home.data / "infra.sqlite")[:60]
    for path in target.rglob("*"):
        if path.is_file():
            assert API_KEY.encode() not in path.read_bytes(), path
            assert path.stat().st_mode & 0o077 == 0, path
    local = home.run("backup", "restore", made["id"], "--target", str(home.root / "l"))
    assert local.returncode == 0, local.stderr
    assert files_of(home.root / "l") == files_of(target)


def test_incremental_copy_adds_little_and_retention_prunes(home: OpenClawHome) -> None:
    """A second copy of nearly the same data adds a fraction of the first; retention keeps
    the local policy (keep-last 1, one a day) over infra's snapshots only."""
    env = repo_env(home, home.root / "offsite")
    (home.workspace / "memory" / "bulk.md").write_text(secrets.token_hex(1_500_000))
    settings = settings_for(home, env, backup_keep_last=1)
    first = run_backup(settings).offsite
    assert first is not None and first.bytes_added > 3_000_000
    with (home.workspace / "MEMORY.md").open("a") as fh:
        fh.write("- one more line\n")
    second = run_backup(settings).offsite
    assert second is not None
    # the changed files (a small database is one restic chunk: all of it), not the bulk
    assert second.bytes_added < first.bytes_added / 4
    assert second.forgotten == [first.snapshot]
    rows = offsite.list_offsite(settings)
    assert [r["snapshot"] for r in rows] == [second.snapshot]
    assert offsite.find_offsite(settings, second.snapshot)["id"] == second.restic_id
    assert offsite.find_offsite(settings, "latest")["id"] == second.restic_id


def _packs(repo: Path) -> list[Path]:
    return sorted((repo / "data").rglob("*"), key=lambda p: p.stat().st_size if p.is_file() else 0)


def test_verify_catches_a_corrupted_pack(home: OpenClawHome) -> None:
    """`verify --offsite` passes on a sound repository and exits 65 naming the damage once
    a byte of a pack file is flipped (data read: all of it, one part configured)."""
    repo = home.root / "offsite"
    env = repo_env(home, repo)
    env["OPENCLAW_INFRA_RESTIC_READ_DATA_PARTS"] = "1"
    assert home.run("backup", extra_env=env).returncode == 0
    ok = home.run("backup", "verify", "--offsite", "--json", extra_env=env)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["read_data"] == "all"
    pack = _packs(repo)[-1]
    pack.chmod(0o600)
    raw = bytearray(pack.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    pack.write_bytes(bytes(raw))
    bad = home.run("backup", "verify", "--offsite", "--read-data", extra_env=env)
    assert bad.returncode == 65, bad.stderr
    assert "does not match" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_read_data_schedule(home: OpenClawHome) -> None:
    """Data is read 1/N at a time, the next part only once the interval has passed."""
    env = repo_env(home, home.root / "offsite")
    settings = settings_for(home, env, restic_read_data_parts=3, restic_read_data_interval_days=7)
    run_backup(settings)
    assert offsite.check(settings).read_data == "1/3"
    assert offsite.check(settings).read_data == "none"
    assert offsite.check(settings, read_all=True).read_data == "all"
    now = time.time()
    mark = json.dumps({"at": now - 8 * 86400, "part": 3, "parts": 3})
    assert offsite._due_part(settings, mark, now) == 1
    assert offsite._due_part(settings, mark.replace('"part": 3', '"part": 1'), now) == 2
    assert offsite._due_part(settings, json.dumps({"at": now, "part": 1}), now) is None


def _local_snapshots(home: OpenClawHome) -> list[catalog.Snapshot]:
    return catalog.list_snapshots(home.data / "backups")


def test_unreachable_repository_keeps_the_local_snapshot(home: OpenClawHome) -> None:
    """A repository whose drive is not mounted (parent missing) is not created: exit 69
    with one line; the local snapshot is made. One that held copies and is gone is not
    re-created either."""
    env = repo_env(home, home.root / "unmounted" / "offsite")
    done = home.run("backup", extra_env=env)
    assert done.returncode == 69, done.stderr
    line = done.stderr.strip()
    assert len(line.splitlines()) == 1
    assert "made and verified locally" in line and "does not exist" in line
    assert not (home.root / "unmounted").exists()
    assert len(_local_snapshots(home)) == 1

    repo = home.root / "drive" / "offsite"
    repo.parent.mkdir()
    env = repo_env(home, repo)
    assert home.run("backup", extra_env=env).returncode == 0
    repo.rename(home.root / "drive" / "elsewhere")  # unplugged
    gone = home.run("backup", extra_env=env)
    assert gone.returncode == 69, gone.stderr
    assert "not creating a new one" in gone.stderr
    assert not repo.exists()
    assert len(_local_snapshots(home)) == 3


def test_wrong_password_exits_78_after_the_local_snapshot(home: OpenClawHome) -> None:
    repo = home.root / "offsite"
    assert home.run("backup", extra_env=repo_env(home, repo)).returncode == 0
    done = home.run("backup", extra_env=repo_env(home, repo, password="not it"))
    assert done.returncode == 78, done.stderr
    assert "wrong password" in done.stderr and "made and verified locally" in done.stderr
    assert len(_local_snapshots(home)) == 2


def test_missing_restic_warns_in_health_and_keeps_local(home: OpenClawHome) -> None:
    """No restic program: the local snapshot is made, the run exits 69 with the install
    hint, and health warns with it."""
    env = repo_env(home, home.root / "offsite")
    env["OPENCLAW_INFRA_RESTIC_BINARY"] = "restic-not-installed"
    done = home.run("backup", extra_env=env)
    assert done.returncode == 69, done.stderr
    assert "restic not found" in done.stderr and "apt-get install restic" in done.stderr
    assert len(_local_snapshots(home)) == 1
    settings = settings_for(home, env, restic_binary="restic-not-installed")
    (check,) = check_offsite(HealthContext(settings, open_readonly(settings)))
    assert check.state == WARNING and "brew install restic" in check.summary


def test_settings_errors() -> None:
    assert display("rest:https://me:hunter2@host:8000/repo") == "rest:https://me:***@host:8000/repo"
    assert display("/Volumes/Backup/restic") == "/Volumes/Backup/restic"


def test_password_sources_are_exclusive(home: OpenClawHome) -> None:
    env = repo_env(home, home.root / "offsite")
    with pytest.raises(ConfigError, match="exactly one"):
        Restic.from_settings(settings_for(home, env, restic_password_command="echo x"))
    with pytest.raises(ConfigError, match="does not exist"):
        Restic.from_settings(
            home.settings(
                restic_repository=str(home.root / "r"), restic_password_file=home.root / "nope"
            )
        )
    with pytest.raises(UnavailableError, match="restic not found"):
        Restic.from_settings(settings_for(home, env, restic_binary="no-such-restic"))


def _restic_child(parent: int) -> int | None:
    """The pid of the `restic backup` that `parent` runs, once it has started."""
    out = subprocess.run(
        ["pgrep", "-P", str(parent), "-f", "restic backup"], capture_output=True, text=True
    )
    pids = [int(p) for p in out.stdout.split()]
    return pids[0] if pids else None


def test_sigkill_mid_copy_then_a_clean_next_run(home: OpenClawHome) -> None:
    """restic killed while it writes: the run fails loudly (local snapshot kept), its lock
    stays in the repository, and the next run removes that stale lock, copies, prunes, and
    leaves a repository `restic check --read-data` finds sound."""
    repo = home.root / "offsite"
    env = repo_env(home, repo)
    (home.workspace / "memory" / "big.md").write_text(secrets.token_hex(40_000_000))
    proc = subprocess.Popen(
        [sys.executable, "-m", "openclaw_infra", "backup"],
        env={**home.env, **env},
        cwd=home.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    killed = False
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        child = _restic_child(proc.pid)
        if child is not None and any((repo / "locks").glob("*")):
            os.kill(child, signal.SIGKILL)
            killed = True
            break
        time.sleep(0.02)
    _, err = proc.communicate(timeout=120)
    assert killed, "restic backup finished before it could be killed"
    assert proc.returncode == 69, err
    assert "made and verified locally" in err
    assert any((repo / "locks").glob("*")), "the killed restic left no lock"
    assert len(_local_snapshots(home)) == 1

    again = home.run("backup", "--json", extra_env=env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["offsite"]["id"]
    assert not any((repo / "locks").glob("*"))
    check = home.run("backup", "verify", "--offsite", "--read-data", extra_env=env)
    assert check.returncode == 0, check.stderr


def test_drill_alternates_local_and_offsite(home: OpenClawHome) -> None:
    """Drills take turns: local, off-site (restic check, restore, the same checks), local;
    `--source` overrides; each is a ledger row with its source."""
    env = repo_env(home, home.root / "offsite")
    settings = settings_for(home, env)
    copy = run_backup(settings).offsite
    assert copy is not None
    first = run_drill(settings, rebuild=False)
    second = run_drill(settings, rebuild=False)
    third = run_drill(settings, rebuild=False)
    assert [first.source, second.source, third.source] == ["local", "offsite", "local"]
    assert second.offsite_id == copy.restic_id
    assert second.snapshot == copy.snapshot and second.databases
    assert set(second.databases.values()) == {"ok"}
    assert second.offsite_check is not None and second.offsite_check["ok"]
    assert run_drill(settings, rebuild=False, source="offsite").source == "offsite"
    conn = connect(settings.db_path)
    sources = [
        json.loads(r[0])["source"]
        for r in conn.execute("SELECT details FROM runs WHERE job='backup-drill' ORDER BY rowid")
    ]
    conn.close()
    assert sources == ["local", "offsite", "local", "offsite"]


def test_health_offsite_age(home: OpenClawHome) -> None:
    """No repository: OK. Then the newest copy's age against offsite_max_age_days."""
    plain = home.settings()
    (check,) = check_offsite(HealthContext(plain, None))
    assert check.state == OK and "no off-site repository" in check.summary
    env = repo_env(home, home.root / "offsite")
    settings = settings_for(home, env)
    (check,) = check_offsite(HealthContext(settings, None))
    assert check.state == OK and "not due yet" in check.summary
    run_backup(settings)
    conn = open_readonly(settings)
    now = time.time()
    states = [
        next(iter(check_offsite(HealthContext(settings, conn, now=now + d * 86400)))).state
        for d in (0, 3, 5)
    ]
    assert states == [OK, WARNING, CRITICAL]
    (fresh,) = check_offsite(HealthContext(settings, conn, now=now))
    assert fresh.perf["offsite_age_s"] < 60
