"""`infra prune`: delete infra's own old records by age, so a year unattended stays small.

What goes, each after its setting's age (`OPENCLAW_INFRA_PRUNE_*_DAYS`):

- run-ledger rows (`core.ledger.prunable_runs`), health verdicts sooner than other runs; the
  newest runs and the newest success of every job stay, so health reads the same afterwards;
- files in `<data>/logs` not written for a while (rotated `infra.log.N`, `serve.log.1`, logs
  of jobs that no longer exist). A log a current writer appends to (`infra.log`, `serve.log`,
  `launchd-<job>.out/err`) is never deleted: a process holding it open would write on into a
  deleted file. A live launchd log past the log size is renamed to `<name>.1` instead (the
  writer follows the rename; launchd opens the name afresh at the next start), which ages out;
- what was quarantined under `<data>/quarantine/<kind>/`, each with its `.reason.txt`.

Never touched: the memory files (the workspace: they are the memory), watermarks and reader
cursors (what each job has done), snapshots (their own retention) and a corrupt store set
aside (kept for the operator). Scheduled daily after the 03:30 backup, so the ledger rows it
deletes are in last night's snapshot.

Rows go in batches of `ledger.PRUNE_BATCH`, one short write transaction each. The file does
not shrink: infra.sqlite is created with `auto_vacuum=NONE`, and switching it would take a
full VACUUM that rewrites every page (the embeddings too) under an exclusive lock while jobs
wait; SQLite reuses the freed pages for new rows instead, so the file stops growing. Where an
operator did switch to incremental auto-vacuum, `PRAGMA incremental_vacuum` returns the pages.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from openclaw_infra.core import ledger
from openclaw_infra.core.config import Settings
from openclaw_infra.core.db import open_reader
from openclaw_infra.core.jobs import JOBS, SERVICE_NAME, run_job
from openclaw_infra.core.layout import LOG_FILE, DataPaths
from openclaw_infra.voice.checks import REASON_SUFFIX

log = structlog.get_logger("infra.prune")

DAY_S = 24 * 3600
HEALTH_JOB = "health"
AUTO_VACUUM_INCREMENTAL = 2


@dataclass
class Doomed:
    """A file or folder to delete (or a live log to rotate), with its bytes."""

    path: Path
    size: int
    kind: str  # "log" or "quarantine"


@dataclass
class PruneResult:
    dry_run: bool
    runs: dict[str, int] = field(default_factory=dict)  # job -> ledger rows
    files: list[Doomed] = field(default_factory=list)
    rotated: list[Doomed] = field(default_factory=list)  # live launchd logs past the size
    refused: list[str] = field(default_factory=list)  # paths kept by the memory guard
    vacuumed: bool = False

    @property
    def total(self) -> int:
        return sum(self.runs.values()) + len(self.files)

    def lines(self) -> list[str]:
        verb = "would remove" if self.dry_run else "removed"
        out = [f"{verb} {path_line(d)}" for d in self.files]
        turn = "would rotate" if self.dry_run else "rotated"
        out.extend(f"{turn} {path_line(d)} to {rotated_name(d.path).name}" for d in self.rotated)
        for job, n in sorted(self.runs.items()):
            out.append(f"{verb} {n} ledger run(s) of {job}")
        out.extend(
            f"kept {p}: inside the workspace (memory is never deleted)" for p in self.refused
        )
        freed = sum(d.size for d in self.files)
        out.append(
            f"{verb} {sum(self.runs.values())} ledger run(s) and {len(self.files)} file(s), "
            f"{freed / (1024 * 1024):.1f} MiB"
        )
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "runs": dict(sorted(self.runs.items())),
            "files": [{"path": str(d.path), "bytes": d.size, "kind": d.kind} for d in self.files],
            "rotated": [{"path": str(d.path), "bytes": d.size} for d in self.rotated],
            "refused": self.refused,
            "incremental_vacuum": self.vacuumed,
        }


def path_line(d: Doomed) -> str:
    return f"{d.kind} {d.path} ({d.size} bytes)"


def rotated_name(path: Path) -> Path:
    """Where a live log goes once past the size: one generation, as `infra serve` keeps
    for serve.log (it ages out with the other rotated logs)."""
    return path.with_name(path.name + ".1")


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _newest_and_size(path: Path) -> tuple[float, int]:
    """The latest mtime or ctime in `path` (a move into quarantine changes ctime, not
    mtime, so ctime stands for when it arrived) and its bytes; symlinks are not followed."""
    st = path.lstat()
    newest, size = max(st.st_mtime, st.st_ctime), st.st_size
    if stat.S_ISDIR(st.st_mode):
        for root, dirs, files in os.walk(path, followlinks=False):
            for name in dirs + files:
                try:
                    sub = (Path(root) / name).lstat()
                except FileNotFoundError:
                    continue
                newest = max(newest, sub.st_mtime, sub.st_ctime)
                size += 0 if stat.S_ISDIR(sub.st_mode) else sub.st_size
    return newest, size


def live_logs() -> set[str]:
    """The names current writers append to in the logs folder: infra's own log, and the
    log and launchd output of every job and of the service."""
    names = [spec.name for spec in JOBS] + [SERVICE_NAME]
    launchd = {f"launchd-{n}.{stream}" for n in names for stream in ("out", "err")}
    return {LOG_FILE, *(f"{n}.log" for n in names), *launchd}


def old_logs(logs_dir: Path, before: float, max_bytes: int) -> tuple[list[Doomed], list[Doomed]]:
    """`(to delete, to rotate)`: files in the logs folder last written before `before`, less
    the live ones (`live_logs`); and the live launchd logs grown past `max_bytes`."""
    doomed: list[Doomed] = []
    rotate: list[Doomed] = []
    live = live_logs()
    try:
        entries = list(os.scandir(logs_dir))
    except (FileNotFoundError, NotADirectoryError):
        return doomed, rotate
    for entry in entries:
        if not entry.is_file(follow_symlinks=False):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        if entry.name not in live:
            if st.st_mtime < before:
                doomed.append(Doomed(Path(entry.path), st.st_size, "log"))
        elif entry.name.startswith("launchd-") and st.st_size > max_bytes:
            rotate.append(Doomed(Path(entry.path), st.st_size, "log"))
    return sorted(doomed, key=lambda d: d.path), sorted(rotate, key=lambda d: d.path)


def old_quarantine(root: Path, before: float) -> list[Doomed]:
    """Entries in each `<root>/<kind>/` quarantined before `before`: a file and its
    `.reason.txt` go together, dated by the reason (written when it was quarantined)."""
    out: list[Doomed] = []
    try:
        kinds = [Path(e.path) for e in os.scandir(root) if e.is_dir(follow_symlinks=False)]
    except (FileNotFoundError, NotADirectoryError):
        return out
    for kind in sorted(kinds):
        names = {e.name for e in os.scandir(kind)}
        for name in sorted(names):
            if name.endswith(REASON_SUFFIX) and name.removesuffix(REASON_SUFFIX) in names:
                continue  # goes with its subject
            path = kind / name
            try:
                newest, size = _newest_and_size(path)
                reason = kind / (name + REASON_SUFFIX)
                if reason.name in names:
                    r = reason.lstat()
                    newest, size = r.st_mtime, size + r.st_size
            except FileNotFoundError:
                continue
            if newest < before:
                out.append(Doomed(path, size, "quarantine"))
    return out


def _remove(d: Doomed) -> None:
    if d.path.is_dir() and not d.path.is_symlink():
        shutil.rmtree(d.path)
    else:
        d.path.unlink(missing_ok=True)
    if d.kind == "quarantine":  # the reason last: a crash in between leaves it explained
        d.path.with_name(d.path.name + REASON_SUFFIX).unlink(missing_ok=True)


def _files(settings: Settings, now: float) -> tuple[list[Doomed], list[Doomed], list[str]]:
    """`(to delete, to rotate, kept)` on disk, less anything inside the workspace (never
    deleted, even when the data dir was put there)."""
    doomed, rotate = old_logs(
        DataPaths(settings.data).logs,
        now - settings.prune_logs_days * DAY_S,
        settings.log_max_bytes,
    )
    if settings.prune_quarantine_days:
        root = settings.voice_quarantine_dir.parent  # every kind of quarantine lives here
        doomed += old_quarantine(root, now - settings.prune_quarantine_days * DAY_S)
    kept = [d for d in doomed + rotate if _inside(d.path, settings.workspace)]
    return (
        [d for d in doomed if d not in kept],
        [d for d in rotate if d not in kept],
        [str(d.path) for d in kept],
    )


def _runs(conn: sqlite3.Connection, settings: Settings, now: float) -> list[tuple[str, str]]:
    return ledger.prunable_runs(
        conn,
        now - settings.prune_runs_days * DAY_S,
        before_by_job={HEALTH_JOB: now - settings.prune_health_days * DAY_S},
    )


def _vacuum(conn: sqlite3.Connection) -> bool:
    """Give freed pages back only where incremental auto-vacuum is on (see the docstring)."""
    if int(conn.execute("PRAGMA auto_vacuum").fetchone()[0]) != AUTO_VACUUM_INCREMENTAL:
        return False
    conn.execute("PRAGMA incremental_vacuum").fetchall()
    return True


def prune(settings: Settings, *, dry_run: bool = False, now: float | None = None) -> PruneResult:
    """Delete (or, with `dry_run`, list) what is past its retention. A real run is the
    scheduled job `prune` (lock, ledger record, log line); a dry run records nothing."""
    now = time.time() if now is None else now
    files, rotate, refused = _files(settings, now)
    result = PruneResult(dry_run, files=files, rotated=rotate, refused=refused)
    if dry_run:
        conn = open_reader(settings.db_path)
        if conn is not None:
            try:
                result.runs = dict(Counter(job for _, job in _runs(conn, settings, now)))
            finally:
                conn.close()
        return result
    with run_job(settings, "prune") as job:
        doomed = _runs(job.conn, settings, now)
        ledger.delete_runs(job.conn, [run_id for run_id, _ in doomed])
        result.runs = dict(Counter(name for _, name in doomed))
        result.vacuumed = _vacuum(job.conn)
        for d in list(files):
            try:
                _remove(d)
            except OSError as exc:  # one stuck file must not keep the rest
                log.warning("prune.file_failed", path=str(d.path), error=str(exc))
                result.files.remove(d)
        for d in list(rotate):
            try:
                os.replace(d.path, rotated_name(d.path))
            except OSError as exc:
                log.warning("prune.rotate_failed", path=str(d.path), error=str(exc))
                result.rotated.remove(d)
        job.run.items = result.total
        job.run.details = {
            "runs": result.runs,
            "files": len(result.files),
            "bytes": sum(d.size for d in result.files),
            "rotated": len(result.rotated),
            "refused": len(refused),
        }
    return result
