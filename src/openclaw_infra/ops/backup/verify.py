"""`infra backup verify`: read a whole snapshot back and prove it restores.

A snapshot passes when the zstd stream decodes with its checksum, every member is in the
manifest exactly once with its size and SHA-256, nothing the manifest lists is missing, and
every database, restored to a scratch file, passes `PRAGMA integrity_check`. Only a
`VerifyResult` that passed lets retention prune older snapshots (`create.py`).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from openclaw_infra.core.errors import DataError, os_error_to_infra
from openclaw_infra.core.fsio import FILE_MODE, TMP_PREFIX
from openclaw_infra.ops.backup.archive import (
    copy_checked,
    manifest_files,
    member_problem,
    open_archive,
)
from openclaw_infra.ops.backup.catalog import Snapshot
from openclaw_infra.ops.backup.sources import ROOTS, integrity_check


@dataclass
class VerifyResult:
    snapshot: Snapshot
    manifest: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    databases: dict[str, str] = field(default_factory=dict)  # archive path -> "ok" or why not
    files: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.snapshot.id,
            "ok": self.ok,
            "files": self.files,
            "bytes": self.snapshot.size,
            "databases": self.databases,
            "problems": self.problems,
        }


def scratch_dir(backups: Path) -> Path:
    """Where databases are restored for their integrity check: beside the snapshots (space
    was checked there, and a killed run's temps are reaped there), else the system temp."""
    return backups if os.access(backups, os.W_OK) else Path(tempfile.gettempdir())


def scratch_file(directory: Path, suffix: str) -> Path:
    """A private temp file named like fsio's, so `reap_dead_temps` removes it if we die."""
    try:
        fd, name = tempfile.mkstemp(
            prefix=f"{TMP_PREFIX}{os.getpid()}-", suffix=suffix, dir=directory
        )
    except OSError as exc:
        raise os_error_to_infra(exc, directory) from exc
    os.fchmod(fd, FILE_MODE)
    os.close(fd)
    return Path(name)


def _check_database(entry: dict[str, Any], stream: IO[bytes], scratch: Path) -> str:
    temp = scratch_file(scratch, ".sqlite")
    try:
        with temp.open("wb") as out:
            copy_checked(entry, stream, out)
        return integrity_check(temp)
    except OSError as exc:
        raise os_error_to_infra(exc, temp) from exc
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()


def verify_snapshot(snapshot: Snapshot, scratch: Path) -> VerifyResult:
    """Check one snapshot end to end; damage is reported in `problems`, never raised."""
    result = VerifyResult(snapshot)
    label = f"snapshot {snapshot.id}"
    seen: set[str] = set()
    expected: dict[str, dict[str, Any]] = {}
    try:
        with open_archive(snapshot.path, label) as reader:
            result.manifest = reader.manifest
            expected = manifest_files(reader.manifest, label)
            for info, stream in reader.members():
                name = info.name
                entry = expected.get(name)
                why = member_problem(name, ROOTS)
                if why or entry is None or stream is None or name in seen:
                    result.problems.append(
                        why or f"{name}: not in the manifest, a duplicate, or not a regular file"
                    )
                    continue
                seen.add(name)
                try:
                    if entry["kind"] == "sqlite":
                        verdict = _check_database(entry, stream, scratch)
                        result.databases[name] = verdict
                        if verdict != "ok":
                            result.problems.append(f"{name}: integrity_check: {verdict}")
                    else:
                        copy_checked(entry, stream, None)
                except DataError as exc:
                    result.problems.append(exc.message)
                result.files += 1
            reader.drain()
    except DataError as exc:
        result.problems.append(exc.message)
        return result
    result.problems.extend(
        f"{name}: listed in the manifest but missing from the archive"
        for name in sorted(set(expected) - seen)
    )
    return result
