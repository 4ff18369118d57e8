"""Locks with real concurrent processes: job locks never wait, the store lock does."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

from conftest import OpenClawHome

HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from openclaw_infra.core.locking import job_lock, wait_lock
    kind, locks, name, secs = sys.argv[1], Path(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    cm = job_lock(locks, name) if kind == "job" else wait_lock(locks, name, 30)
    with cm:
        print("held", flush=True)
        time.sleep(secs)
""")


def _hold(kind: str, locks: Path, name: str, secs: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, kind, str(locks), name, str(secs)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_second_run_of_a_job_exits_75_naming_the_holder(oc_home: OpenClawHome) -> None:
    """While one process holds the health job lock, `infra health --quiet` does not wait:
    exit 75, one line naming the holder's pid and start time."""
    holder = _hold("job", oc_home.data / "locks", "health", 30)
    try:
        start = time.monotonic()
        proc = oc_home.run("health", "--quiet")
        assert time.monotonic() - start < 20
        assert proc.returncode == 75, proc.stderr
        assert f"pid {holder.pid}" in proc.stderr and "already running since" in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
    finally:
        holder.kill()
        holder.wait()
    # a killed holder releases the lock with its process: the next run goes ahead
    assert oc_home.run("health", "--quiet").returncode in (0, 1, 2)
    assert (oc_home.data / "locks" / "health.lock").stat().st_mode & 0o777 == 0o600


def test_store_lock_waits_then_proceeds(tmp_path: Path) -> None:
    """The store-write lock waits for a short holder instead of failing."""
    from openclaw_infra.core.locking import wait_lock

    holder = _hold("wait", tmp_path, "store-write", 1.0)
    start = time.monotonic()
    with wait_lock(tmp_path, "store-write", timeout_s=20):
        waited = time.monotonic() - start
    holder.wait()
    assert waited > 0.3


def test_store_lock_times_out_with_exit_75(tmp_path: Path) -> None:
    """A store lock not freed within the timeout is a temporary failure naming the holder."""
    import pytest

    from openclaw_infra.core.errors import TempFailError
    from openclaw_infra.core.locking import wait_lock

    holder = _hold("wait", tmp_path, "store-write", 10)
    try:
        with pytest.raises(TempFailError) as info, wait_lock(tmp_path, "store-write", 0.3):
            pass
        assert info.value.exit_code == 75 and str(holder.pid) in str(info.value)
    finally:
        holder.kill()
        holder.wait()
