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

Secrets (`secrets.py`): `data/secrets.age` is decrypted, before anything is written, when an
age identity is given, and its `config.env` and secret files are restored; otherwise the
snapshot's `config.env` has its secret lines commented out, and the result names them for
the user to re-enter. In place, this machine's current values fill those lines instead, so a
restore never wipes a key the snapshot did not hold.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from openclaw_infra.core import db, ledger
from openclaw_infra.core.config import Settings
from openclaw_infra.core.db import migrate
from openclaw_infra.core.errors import DataError, TempFailError, UsageError, os_error_to_infra
from openclaw_infra.core.fsio import atomic_writer, ensure_private_dir, private_umask
from openclaw_infra.core.jobs import run_job
from openclaw_infra.core.locking import store_write_lock
from openclaw_infra.ops.backup import catalog, secrets
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

Sealed = dict[str, tuple[bytes, float]]  # data/secrets.age, decrypted: path -> (bytes, mtime)


@dataclass
class SecretsOutcome:
    """What a restore did with the snapshot's secrets, for the user."""

    config: Path | None = None  # the restored config.env
    sealed: bool = False  # the snapshot has data/secrets.age
    restored: list[str] = field(default_factory=list)  # from data/secrets.age
    kept: list[str] = field(default_factory=list)  # in place: this machine's values kept
    reenter: list[str] = field(default_factory=list)  # settings to re-enter in config.env
    missing_files: list[str] = field(default_factory=list)  # secret files not restored

    def as_json(self) -> dict[str, Any]:
        return {
            "sealed": self.sealed,
            "restored": self.restored,
            "kept": self.kept,
            "reenter": self.reenter,
            "missing_files": self.missing_files,
        }

    def lines(self) -> list[str]:
        """What the user must know, one line each; [] when there is nothing to say."""
        out = []
        if self.restored:
            names = ", ".join(self.restored)
            out.append(f"secrets restored from {secrets.SECRETS_ARCNAME}: {names}")
        if self.kept:
            out.append(f"kept this machine's current values of: {', '.join(self.kept)}")
        if self.sealed and (self.reenter or self.missing_files):
            out.append(
                f"the snapshot's secrets are in {secrets.SECRETS_ARCNAME}, encrypted with age: "
                f"restore again with its identity (--age-identity FILE, or "
                f"{secrets.IDENTITY_SETTING}) to get them back"
            )
        if self.reenter:
            out.append(f"re-enter in {self.config}: {', '.join(self.reenter)}")
        if self.missing_files:
            out.append(f"not restored (secret files): {', '.join(self.missing_files)}")
        return out


@dataclass
class RestoreResult:
    snapshot: catalog.Snapshot
    files: int
    bytes: int
    databases: list[str]
    target: Path | None = None
    pre_restore: str | None = None
    set_aside: Path | None = None  # the corrupt infra.sqlite, moved aside and kept
    secrets: SecretsOutcome = field(default_factory=SecretsOutcome)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.snapshot.id,
            "target": str(self.target) if self.target else None,
            "files": self.files,
            "bytes": self.bytes,
            "databases": self.databases,
            "pre_restore_snapshot": self.pre_restore,
            "corrupt_store_set_aside": str(self.set_aside) if self.set_aside else None,
            "secrets": self.secrets.as_json(),
        }


def _set_mtime(dest: Path, mtime: float) -> None:
    if mtime:
        with contextlib.suppress(OSError):
            os.utime(dest, (mtime, mtime))


def _write_file(entry: dict[str, Any], stream: IO[bytes], dest: Path) -> None:
    with atomic_writer(dest) as out:
        copy_checked(entry, stream, out)
    _set_mtime(dest, float(entry.get("mtime", 0) or 0))


def _write_bytes(dest: Path, data: bytes, mtime: float) -> None:
    with atomic_writer(dest) as out:
        out.write(data)
    _set_mtime(dest, mtime)


def open_sealed(snapshot: catalog.Snapshot, identity: Path | None) -> Sealed | None:
    """The snapshot's `data/secrets.age`, decrypted with `identity`; None without one or
    without the member. Runs before anything is written, so a wrong identity changes nothing."""
    if identity is None:
        return None
    label = f"snapshot {snapshot.id}"
    with open_archive(snapshot.path, label) as reader:
        expected = manifest_files(reader.manifest, label)
        entry = expected.get(secrets.SECRETS_ARCNAME)
        if entry is None:
            return None
        identities = secrets.load_identities(identity)
        for info, stream in reader.members():
            if info.name == secrets.SECRETS_ARCNAME and stream is not None:
                buf = io.BytesIO()
                copy_checked(entry, stream, buf)
                return secrets.unseal(buf.getvalue(), identities, label)
    raise DataError(f"{label}: {secrets.SECRETS_ARCNAME} is listed but missing from the archive")


def _restore_config(
    entry: dict[str, Any],
    stream: IO[bytes],
    dest: Path,
    *,
    sealed: Sealed | None,
    live: str | None,
    outcome: SecretsOutcome,
) -> None:
    """config.env: the original from secrets.age when it was opened; else the snapshot's,
    with this machine's values filled into its left-out lines (in place, `live`)."""
    buf = io.BytesIO()
    copy_checked(entry, stream, buf)
    text = buf.getvalue().decode("utf-8", errors="surrogateescape")
    outcome.config = dest
    names = secrets.left_out_names(text)
    if sealed is not None and secrets.CONFIG_ARCNAME in sealed:
        data, mtime = sealed[secrets.CONFIG_ARCNAME]
        outcome.restored.extend(names)
    else:
        if live is not None:
            text, outcome.kept, outcome.reenter = secrets.fill_left_out(text, live)
        else:
            outcome.reenter = names
        data = text.encode("utf-8", errors="surrogateescape")
        mtime = float(entry.get("mtime", 0) or 0)
    _write_bytes(dest, data, mtime)


def _restore_secret_files(
    manifest: dict[str, Any],
    destination_of: dict[str, Path],
    sealed: Sealed | None,
    outcome: SecretsOutcome,
) -> None:
    """The secret files the snapshot names: from secrets.age, or reported as not restored
    (in place, a file this machine still has is left as it is)."""
    section = manifest.get("secrets")
    listed = section.get("files", []) if isinstance(section, dict) else []
    names = {n for n in listed if isinstance(n, str)} | set(sealed or {})
    for name in sorted(names - {secrets.CONFIG_ARCNAME}):
        if member_problem(name, ROOTS) is not None or not name.startswith("data/"):
            raise DataError(f"the manifest names an unsafe secret file {name!r}")
        dest = destination_of["data"] / name.split("/", 1)[1]
        if sealed is not None and name in sealed:
            data, mtime = sealed[name]
            _write_bytes(dest, data, mtime)
            outcome.restored.append(name)
        elif dest.exists():
            outcome.kept.append(name)
        else:
            outcome.missing_files.append(name)


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
    sealed: Sealed | None = None,
    live_config: str | None = None,
) -> RestoreResult:
    """Write every member to `destination_of[root] / rest`; databases as files, or into the
    live database when `live_databases`; secrets as the module docstring says."""
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
            if name == secrets.SECRETS_ARCNAME:
                copy_checked(entry, stream, None)  # checked; its content goes where it belongs
                result.secrets.sealed = True
            elif name == secrets.CONFIG_ARCNAME:
                _restore_config(
                    entry, stream, dest, sealed=sealed, live=live_config, outcome=result.secrets
                )
            elif entry["kind"] == "sqlite" and live_databases:
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
        manifest = reader.manifest
    missing = sorted(set(expected) - seen)
    if missing:
        raise DataError(f"{label}: {len(missing)} file(s) missing from the archive: {missing[0]}")
    _restore_secret_files(manifest, destination_of, sealed, result.secrets)
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


def restore_to_target(
    snapshot: catalog.Snapshot, target: Path, *, identity: Path | None = None
) -> RestoreResult:
    """Restore into a fresh directory: all of it, or nothing. With an age `identity`, the
    snapshot's secrets too."""
    target = target.expanduser().absolute()
    created = _check_fresh(target)
    sealed = open_sealed(snapshot, identity)
    ensure_private_dir(target)
    destination_of = {root: target / root for root in ROOTS}
    try:
        result = _extract(
            snapshot, destination_of, scratch_dir(target), live_databases=False, sealed=sealed
        )
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


def _read_live_config(settings: Settings) -> str:
    try:
        return settings.config_file.read_bytes().decode("utf-8", errors="surrogateescape")
    except FileNotFoundError:
        return ""
    except OSError as exc:
        raise os_error_to_infra(exc, settings.config_file) from exc


def restore_in_place(
    settings: Settings, snapshot: catalog.Snapshot, *, identity: Path | None = None
) -> RestoreResult:
    """Restore over this machine's live data (the command asked for --in-place --yes).

    Holds the `backup` job lock (no snapshot is taken meanwhile) and the store-write lock
    (infra's writers wait), verifies the snapshot, snapshots the current state, restores.
    A corrupt infra.sqlite (the ledger this run records in) is moved aside first, once the
    snapshot verified, so a damaged snapshot leaves everything as it was. The age identity
    is `identity`, else `backup_age_identity_file`; a wrong one stops before any change.
    """
    scratch = scratch_dir(settings.backups)
    sealed = open_sealed(snapshot, identity or settings.backup_age_identity_file)
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
            result = _extract(
                snapshot,
                root_paths(settings),
                scratch,
                live_databases=True,
                sealed=sealed,
                live_config=_read_live_config(settings),
            )
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
