"""`infra backup restore`: into a fresh directory, or over live data with a safety snapshot.

Every file is checked against its SHA-256 as it is written (a mismatch is never put in
place), written through `atomic_writer`, and given back its recorded mtime.

- `--target DIR` lays the roots out as `DIR/data`, `DIR/workspace`, `DIR/state`; a failure
  removes what was restored, so the directory is complete or absent.
- `--in-place` verifies the snapshot first, takes a snapshot of the current state, then maps
  each root back to this machine's paths. Databases are restored *into* the live file with the
  backup API, so open connections (infra's readers, OpenClaw) see one consistent switch
  instead of a file swapped under them and a stale WAL replayed onto it. A corrupt
  infra.sqlite cannot be written into: once the snapshot verified, it is moved aside (kept)
  and the restore fills a fresh file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from openclaw_infra.core import db, ledger
from openclaw_infra.core.config import Settings
from openclaw_infra.core.db import migrate
from openclaw_infra.core.errors import DataError, TempFailError, UsageError, os_error_to_infra
from openclaw_infra.core.fsio import atomic_writer, ensure_private_dir, private_umask
from openclaw_infra.core.jobs import run_job
from openclaw_infra.core.locking import store_write_lock
from openclaw_infra.ops.backup import catalog
from openclaw_infra.ops.backup.archive import (
    copy_checked,
    manifest_files,
    member_problem,
    open_archive,
)
from openclaw_infra.ops.backup.create import create_snapshot
from openclaw_infra.ops.backup.sources import (
    BUSY_TIMEOUT_MS,
    DB_ARCNAME,
    ROOTS,
    open_copy,
    root_paths,
)
from openclaw_infra.ops.backup.verify import scratch_dir, scratch_file, verify_snapshot


@dataclass
class RestoreResult:
    snapshot: catalog.Snapshot
    files: int
    bytes: int
    databases: list[str]
    target: Path | None = None
    pre_restore: str | None = None
    set_aside: Path | None = None  # the corrupt infra.sqlite, moved aside and kept

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.snapshot.id,
            "target": str(self.target) if self.target else None,
            "files": self.files,
            "bytes": self.bytes,
            "databases": self.databases,
            "pre_restore_snapshot": self.pre_restore,
            "corrupt_store_set_aside": str(self.set_aside) if self.set_aside else None,
        }


def _write_file(entry: dict[str, Any], stream: IO[bytes], dest: Path) -> None:
    with atomic_writer(dest) as out:
        copy_checked(entry, stream, out)
    mtime = float(entry.get("mtime", 0) or 0)
    if mtime:
        with contextlib.suppress(OSError):
            os.utime(dest, (mtime, mtime))


def _restore_database(copy: Path, live: Path) -> None:
    """Overwrite the live database's content with `copy` through the backup API."""
    if not live.parent.is_dir():
        ensure_private_dir(live.parent)
    source = open_copy(copy)
    try:
        with private_umask():
            target = sqlite3.connect(live, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            source.backup(target, pages=-1)
        finally:
            target.close()
    except sqlite3.OperationalError as exc:
        raise TempFailError(
            f"cannot restore into {live}: {exc}",
            hint="stop what uses it (OpenClaw's gateway, infra's cron) and retry",
        ) from exc
    except sqlite3.DatabaseError as exc:
        raise DataError(f"cannot restore into {live}: {exc}") from exc
    finally:
        source.close()


def _extract(
    snapshot: catalog.Snapshot,
    destination_of: dict[str, Path],
    scratch: Path,
    *,
    live_databases: bool,
) -> RestoreResult:
    """Write every member to `destination_of[root] / rest`; databases as files, or into the
    live database when `live_databases`."""
    result = RestoreResult(snapshot, 0, 0, [])
    label = f"snapshot {snapshot.id}"
    seen: set[str] = set()
    with open_archive(snapshot.path, label) as reader:
        expected = manifest_files(reader.manifest, label)
        for info, stream in reader.members():
            name = info.name
            why = member_problem(name, ROOTS)
            entry = expected.get(name)
            if why is not None or entry is None or stream is None or name in seen:
                raise DataError(f"{label}: {why or name + ': not a manifest file'}")
            seen.add(name)
            root, rest = name.split("/", 1)
            dest = destination_of[root] / rest
            if entry["kind"] == "sqlite" and live_databases:
                copy = scratch_file(scratch, ".sqlite")
                try:
                    with copy.open("wb") as out:
                        copy_checked(entry, stream, out)
                    _restore_database(copy, dest)
                except OSError as exc:
                    raise os_error_to_infra(exc, copy) from exc
                finally:
                    with contextlib.suppress(OSError):
                        copy.unlink()
            else:
                _write_file(entry, stream, dest)
            if entry["kind"] == "sqlite":
                result.databases.append(name)
            result.files += 1
            result.bytes += int(entry["size"])
        reader.drain()
    missing = sorted(set(expected) - seen)
    if missing:
        raise DataError(f"{label}: {len(missing)} file(s) missing from the archive: {missing[0]}")
    return result


def _check_fresh(target: Path) -> bool:
    """True when `target` must be created; refuses a non-empty directory or a file."""
    if not target.exists():
        return True
    if not target.is_dir():
        raise UsageError(f"--target {target} exists and is not a directory")
    if any(target.iterdir()):
        raise UsageError(
            f"--target {target} is not empty",
            hint="restore into a new directory, or use --in-place --yes",
        )
    return False


def restore_to_target(snapshot: catalog.Snapshot, target: Path) -> RestoreResult:
    """Restore into a fresh directory: all of it, or nothing."""
    target = target.expanduser().absolute()
    created = _check_fresh(target)
    ensure_private_dir(target)
    destination_of = {root: target / root for root in ROOTS}
    try:
        result = _extract(snapshot, destination_of, scratch_dir(target), live_databases=False)
    except BaseException:
        if created:
            shutil.rmtree(target, ignore_errors=True)
        else:
            for child in target.iterdir():
                shutil.rmtree(child, ignore_errors=True)
        raise
    result.target = target
    return result


def _verify(snapshot: catalog.Snapshot, scratch: Path) -> None:
    check = verify_snapshot(snapshot, scratch)
    if not check.ok:
        raise DataError(
            f"snapshot {snapshot.id} failed verification; nothing was restored: {check.problems[0]}"
        )


def restore_in_place(settings: Settings, snapshot: catalog.Snapshot) -> RestoreResult:
    """Restore over this machine's live data (the command asked for --in-place --yes).

    Holds the `backup` job lock (no snapshot is taken meanwhile) and the store-write lock
    (infra's writers wait), verifies the snapshot, snapshots the current state, restores.
    A corrupt infra.sqlite (the ledger this run records in) is moved aside first, once the
    snapshot verified, so a damaged snapshot leaves everything as it was.
    """
    scratch = scratch_dir(settings.backups)
    set_aside = None
    if db.probe(settings.db_path, thorough=True) is not None:
        _verify(snapshot, scratch)
        set_aside = db.set_aside(
            settings.db_path, settings.locks_dir, derived=[settings.faiss_path]
        )
    with run_job(settings, "backup") as job:
        if set_aside is None:
            _verify(snapshot, scratch)
        before = create_snapshot(settings, reason=f"pre-restore of {snapshot.id}")
        with store_write_lock(settings.locks_dir):
            result = _extract(snapshot, root_paths(settings), scratch, live_databases=True)
            if DB_ARCNAME in result.databases:
                # derived from the store just replaced: its chunk ids now name other rows,
                # so it is dropped and the next open rebuilds it from SQLite
                settings.faiss_path.unlink(missing_ok=True)
        if DB_ARCNAME in result.databases:
            # the ledger itself was just restored, without this run's row: put it back so
            # the restore is recorded in the ledger it produced (in the schema of this
            # version: an older snapshot owes migrations)
            migrate(job.conn)
            ledger.record_start(job.conn, job.run)
        result.pre_restore = before.snapshot.id
        result.set_aside = set_aside
        job.run.items = result.files
        job.run.details = {
            "snapshot": before.snapshot.id,
            "bytes": before.snapshot.size,
            "restored": snapshot.id,
            "restored_files": result.files,
            "corrupt_store_set_aside": str(set_aside) if set_aside else None,
        }
    return result
