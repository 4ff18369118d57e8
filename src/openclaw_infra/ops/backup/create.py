"""`infra backup`: check space, copy, archive, verify, and only then prune.

Order matters: free space is checked before anything is written (exit 73, nothing created);
databases are copied with the backup API into temp files beside the snapshots; the archive
is written through `atomic_writer`; the new snapshot is read back in full (`verify`); and
retention runs only with that passed verification in hand. With an off-site repository
configured, the verified snapshot is then copied there (`offsite.py`); when that fails the
local snapshot stays, and the run exits with the off-site error's code.
"""

from __future__ import annotations

import contextlib
import platform
import shutil
import socket
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from openclaw_infra import __version__
from openclaw_infra.core.config import Settings
from openclaw_infra.core.errors import (
    CantCreateError,
    DataError,
    InfraError,
    InternalError,
    os_error_to_infra,
)
from openclaw_infra.core.fsio import ensure_private_dir, fsync_dir, reap_dead_temps
from openclaw_infra.core.jobs import run_job
from openclaw_infra.ops import retention
from openclaw_infra.ops.backup import archive, catalog, offsite
from openclaw_infra.ops.backup.offsite import CopyResult
from openclaw_infra.ops.backup.sources import (
    FAISS_ARCNAME,
    Selection,
    copy_sqlite,
    db_facts,
    estimated_bytes,
    root_paths,
    select_sources,
)
from openclaw_infra.ops.backup.verify import VerifyResult, scratch_file, verify_snapshot

MIB = 1024 * 1024


@dataclass
class CreateResult:
    snapshot: catalog.Snapshot
    manifest: dict[str, Any]
    verified: VerifyResult
    source_bytes: int
    took_s: float
    pruned: list[str] = field(default_factory=list)
    offsite: CopyResult | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.snapshot.id,
            "path": str(self.snapshot.path),
            "files": len(self.manifest["files"]),
            "bytes": self.snapshot.size,
            "source_bytes": self.source_bytes,
            "took_s": self.took_s,
            "verified": self.verified.ok,
            "databases": self.verified.databases,
            "skipped": self.manifest["skipped"],
            "pruned": self.pruned,
            "offsite": self.offsite.as_json() if self.offsite else None,
        }


def _existing_ancestor(path: Path) -> Path:
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return probe


def check_free_space(settings: Settings, needed: int) -> None:
    """Refuse (exit 73) before writing anything when the snapshot would leave less than
    `disk_crit_free_mb` free on the backup drive: a backup must not be what pushes the disk
    into the state `infra health` calls CRITICAL."""
    where = _existing_ancestor(settings.backups)
    free = shutil.disk_usage(where).free
    reserve = settings.disk_crit_free_mb * MIB
    if free - needed < reserve:
        raise CantCreateError(
            f"not enough free space on {where} for a snapshot: about {needed / MIB:.0f} MiB "
            f"needed plus a {settings.disk_crit_free_mb} MiB reserve, "
            f"{free / MIB:.0f} MiB free; nothing was written",
            hint="free space, or point OPENCLAW_INFRA_BACKUP_DIR at a larger drive",
        )


def _manifest(
    settings: Settings, snapshot_id: str, now: datetime, reason: str, sel: Selection
) -> dict[str, Any]:
    return {
        "format": archive.FORMAT,
        "id": snapshot_id,
        "reason": reason,
        "created_at": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "created_ts": now.timestamp(),
        "host": socket.gethostname(),
        "infra_version": __version__,
        "python": platform.python_version(),
        "sqlite_version": sqlite3.sqlite_version,
        "roots": {k: str(v) for k, v in root_paths(settings).items()},
        "include": {
            "workspace": settings.backup_include_workspace,
            "openclaw": settings.backup_include_openclaw,
        },
        "derived_not_included": [FAISS_ARCNAME],
        "skipped": sel.skipped,
        "secrets": sel.secrets,  # which secrets were left out or sealed (secrets.py)
        "files": [],
    }


def _stat_entry(arcname: str, kind: str, path: Path) -> dict[str, Any]:
    st = path.stat()
    return {"path": arcname, "kind": kind, "size": st.st_size, "mtime": st.st_mtime}


def create_snapshot(settings: Settings, *, reason: str = "backup") -> CreateResult:
    """Write and verify one snapshot (the caller holds the `backup` job lock)."""
    start = time.monotonic()
    with select_sources(settings) as sel:  # removes its staged redacted files at the end
        return _create(settings, sel, reason, start)


def _create(settings: Settings, sel: Selection, reason: str, start: float) -> CreateResult:
    backups = settings.backups
    check_free_space(settings, estimated_bytes(sel.sources))
    ensure_private_dir(backups)
    reap_dead_temps(backups)
    now = datetime.now(UTC).replace(microsecond=0)
    snapshot_id = catalog.new_id(backups, now)
    manifest = _manifest(settings, snapshot_id, now, reason, sel)
    staged: list[Path] = []
    pairs: list[tuple[dict[str, Any], Path]] = []
    source_bytes = 0
    try:
        for src in sel.sources:
            try:
                if src.kind == "sqlite":
                    copy = scratch_file(backups, ".sqlite")
                    staged.append(copy)
                    copy_sqlite(src.path, copy)
                    entry = _stat_entry(src.arcname, "sqlite", copy)
                    entry["mtime"] = src.path.stat().st_mtime
                    entry.update(db_facts(copy))
                    read_from = copy
                else:
                    entry = _stat_entry(src.arcname, "file", src.path)
                    read_from = src.path
                entry["sha256"] = archive.hash_prefix(read_from, entry["size"])
            except FileNotFoundError:
                continue  # deleted between listing and copying: not part of this snapshot
            except OSError as exc:
                raise os_error_to_infra(exc, src.path) from exc
            manifest["files"].append(entry)
            pairs.append((entry, read_from))
            source_bytes += entry["size"]
        target = backups / catalog.archive_name(snapshot_id)
        archive.write_archive(target, manifest, pairs)
    finally:
        for path in staged:
            with contextlib.suppress(OSError):
                path.unlink()
    snapshot = next(s for s in catalog.list_snapshots(backups) if s.id == snapshot_id)
    verified = verify_snapshot(snapshot, backups)
    if not verified.ok:
        # a snapshot that does not read back is worse than none: it would be trusted
        _remove(snapshot.path)
        raise DataError(
            f"snapshot {snapshot_id} failed verification and was removed: {verified.problems[0]}"
        )
    return CreateResult(
        snapshot, manifest, verified, source_bytes, round(time.monotonic() - start, 3)
    )


def _remove(path: Path) -> None:
    try:
        path.unlink()
        fsync_dir(path.parent)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise os_error_to_infra(exc, path) from exc


def prune(settings: Settings, verified: VerifyResult) -> list[str]:
    """Delete the snapshots retention does not keep. Takes the new snapshot's passed
    verification, so nothing is pruned on the strength of an unverified snapshot."""
    if not verified.ok:
        raise InternalError("prune needs a verified snapshot")
    policy = retention.Policy(
        settings.backup_keep_last,
        settings.backup_keep_daily,
        settings.backup_keep_weekly,
        settings.backup_keep_monthly,
    )
    snapshots = catalog.list_snapshots(settings.backups)
    keep = retention.kept(((s.id, s.created) for s in snapshots), policy, settings.tz)
    keep.add(verified.snapshot.id)
    pruned = []
    for snap in snapshots:
        if snap.id not in keep:
            _remove(snap.path)
            pruned.append(snap.id)
    return pruned


def run_backup(settings: Settings, *, offsite_copy: bool = True) -> CreateResult:
    """`infra backup` as a job: lock, ledger record, snapshot, verification, retention, and
    the off-site copy when a repository is configured (and `offsite_copy`)."""
    with run_job(settings, "backup") as job:
        result = create_snapshot(settings)
        result.pruned = prune(settings, result.verified)
        job.run.items = len(result.manifest["files"])
        job.run.details = {
            "snapshot": result.snapshot.id,
            "bytes": result.snapshot.size,
            "source_bytes": result.source_bytes,
            "pruned": result.pruned,
            "skipped": len(result.manifest["skipped"]),
        }
        if offsite_copy and offsite.configured(settings):
            result.offsite = _copy_offsite(settings, result, job.conn)
            job.run.details["offsite"] = result.offsite.as_json()
    return result


def _copy_offsite(settings: Settings, result: CreateResult, conn: sqlite3.Connection) -> CopyResult:
    """The off-site copy; its failure keeps the error's exit code and says, in its one
    line, that the local snapshot was made."""
    try:
        return offsite.replicate(settings, result.snapshot, conn)
    except InfraError as exc:
        raise type(exc)(
            f"snapshot {result.snapshot.id} was made and verified locally, "
            f"but its off-site copy failed: {exc.message}",
            hint=exc.hint,
        ) from exc
