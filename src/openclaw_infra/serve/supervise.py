"""Keeping `infra serve` up: is it running, start it detached, stop it, its start records.

The serve lock (flock: a dead holder holds nothing) says whether a service lives; a ping says
whether it answers. Cron runs `infra serve --ensure` every few minutes and at boot: it starts
the service in its own session, output appended to `<logs>/serve.log`, and returns once it
answers (seconds: the model loads), or at once when one runs, so runs never pile up. Each
start is a `serve` run in the ledger (ended at a clean stop; a run still open at the next
start was killed or crashed), which is how health counts restarts. Stdlib and core only:
`infra health` imports this.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from openclaw_infra.core import ledger
from openclaw_infra.core.config import Settings
from openclaw_infra.core.db import connect, transaction
from openclaw_infra.core.errors import ERROR_CLASSES, InternalError, TempFailError
from openclaw_infra.core.fsio import ensure_private_dir
from openclaw_infra.core.jobs import SERVICE_NAME
from openclaw_infra.core.locking import is_locked, read_holder
from openclaw_infra.serve.client import ping

LOCK = SERVICE_NAME  # the job lock `serve` holds while it runs
LOG_FILE = "serve.log"
START_WAIT_S = 30.0  # how long --ensure waits for a new service to answer (model load)
STOP_WAIT_S = 30.0
UNCLEAN = "ended without a clean stop (killed or crashed); seen at the next start"


@dataclass(frozen=True)
class Running:
    pid: int | None
    reply: dict[str, Any] | None  # the ping reply; None while it loads its model, or hung


def running(settings: Settings, timeout_s: float = 2.0) -> Running | None:
    """The live service, or None when no process holds the serve lock."""
    lock = settings.locks_dir / f"{LOCK}.lock"
    if not lock.exists() or not is_locked(lock):
        return None
    reply = ping(settings, timeout_s=timeout_s)
    pid = reply.get("pid") if reply else (read_holder(lock) or {}).get("pid")
    return Running(pid if isinstance(pid, int) else None, reply)


def log_path(settings: Settings) -> Any:
    return settings.logs_dir / LOG_FILE


def _open_log(settings: Settings) -> int:
    """serve.log for appending (0600), rotated once past the log size setting."""
    path = log_path(settings)
    ensure_private_dir(path.parent)
    with contextlib.suppress(OSError):
        if path.stat().st_size > settings.log_max_bytes:
            os.replace(path, path.with_name(LOG_FILE + ".1"))
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)


def _last_line(settings: Settings) -> str:
    with contextlib.suppress(OSError):
        lines = log_path(settings).read_text(encoding="utf-8", errors="replace").splitlines()
        return next((line for line in reversed(lines) if line.strip()), "")
    return ""


def ensure(settings: Settings) -> tuple[str, int | None]:
    """Start the service detached unless one runs: `("running" | "started" | "starting",
    pid)`. Waits until the new service answers (it loads its model first), at most
    START_WAIT_S ("starting"); when it ends instead, its exit code and last log line are
    raised as the same error class."""
    live = running(settings)
    if live is not None:
        return "running", live.pid
    fd = _open_log(settings)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "openclaw_infra", "serve"],
            stdin=subprocess.DEVNULL,
            stdout=fd,
            stderr=fd,
            start_new_session=True,  # not in cron's (or the shell's) process group
            close_fds=True,
        )
    finally:
        os.close(fd)
    deadline = time.monotonic() + START_WAIT_S
    while time.monotonic() < deadline:
        code = proc.poll()
        if code is not None:
            if code == 0:  # another start won the race: it is the one running
                live = running(settings)
                return "running", live.pid if live else None
            cls = next((c for c in ERROR_CLASSES if c.exit_code == code), InternalError)
            raise cls(
                f"the service exited {code} at start: {_last_line(settings)}",
                hint=f"see {log_path(settings)}",
            )
        reply = ping(settings, timeout_s=1.0)
        if reply is not None and reply.get("pid") == proc.pid:
            return "started", proc.pid
        time.sleep(0.2)
    return "starting", proc.pid


def _is_infra_serve(pid: int) -> bool:
    """The process's command line names `serve` (a lock holder file is rewritten only by a
    holder; this guards the moment between a new holder's lock and its file)."""
    try:
        out = subprocess.run(
            ["ps", "-o", "command=", "-p", str(pid)],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "serve" in out.split()


def stop(settings: Settings) -> int | None:
    """SIGTERM the running service and wait for it to let go of its lock; its pid, or None
    when none runs. TempFailError (75) when it does not stop in time."""
    live = running(settings)
    if live is None:
        return None
    if live.pid is None or not _is_infra_serve(live.pid):
        raise TempFailError(
            f"the serve lock is held by pid {live.pid}, which is not an infra serve",
            hint="run again in a moment",
        )
    with contextlib.suppress(ProcessLookupError):
        os.kill(live.pid, signal.SIGTERM)
    lock = settings.locks_dir / f"{LOCK}.lock"
    deadline = time.monotonic() + STOP_WAIT_S
    while is_locked(lock):
        if time.monotonic() > deadline:
            raise TempFailError(f"infra serve (pid {live.pid}) did not stop within 30 s")
        time.sleep(0.1)
    return live.pid


def rss_kib(pid: int) -> int | None:
    """Resident memory of `pid` in KiB: /proc on Linux, `ps` where there is none (macOS)."""
    with contextlib.suppress(OSError, ValueError):
        for line in open(f"/proc/{pid}/status", encoding="ascii", errors="replace"):  # noqa: SIM115
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    try:
        out = subprocess.run(
            ["ps", "-o", "rss=", "-p", str(pid)],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
        return int(out) if out else None
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


def record_start(settings: Settings) -> ledger.RunRecord:
    """A `serve` run in the ledger; earlier runs still open ended without a clean stop (we
    hold the lock, so none of them lives)."""
    run = ledger.RunRecord(job=SERVICE_NAME)
    conn = connect(settings.db_path)
    try:
        with transaction(conn):
            conn.execute(
                "UPDATE runs SET status='failed', ended_at=?, error=? "
                "WHERE job=? AND status='running'",
                (time.time(), UNCLEAN, SERVICE_NAME),
            )
        ledger.record_start(conn, run)
    finally:
        conn.close()
    return run


def record_stop(
    settings: Settings, run: ledger.RunRecord, exit_code: int, error: str | None
) -> None:
    """Close the run (a store deleted meanwhile gets the record in its new file, or none)."""
    with contextlib.suppress(sqlite3.Error, OSError, TempFailError):
        conn = connect(settings.db_path)
        try:
            status = "ok" if exit_code == 0 else "failed"
            ledger.record_end(conn, run, status=status, exit_code=exit_code, error=error)
        finally:
            conn.close()


@dataclass(frozen=True)
class Starts:
    restarts: int  # starts in the window after an earlier start
    unclean: int  # runs in the window that ended without a clean stop


def starts_since(conn: sqlite3.Connection, since: float) -> Starts:
    first = conn.execute("SELECT min(started_at) FROM runs WHERE job=?", (SERVICE_NAME,))
    first_at = first.fetchone()[0]
    if first_at is None:
        return Starts(0, 0)
    restarts, unclean = conn.execute(
        "SELECT count(*) FILTER (WHERE started_at > ?), "
        "count(*) FILTER (WHERE status='failed' AND error=? AND ended_at > ?) "
        "FROM runs WHERE job=?",
        (max(since, float(first_at)), UNCLEAN, since, SERVICE_NAME),
    ).fetchone()
    return Starts(int(restarts), int(unclean))
