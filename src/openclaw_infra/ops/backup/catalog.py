"""Snapshot names and the listing of a backup directory.

A snapshot is one file `infra-<id>.tar.zst` where `<id>` is its UTC creation time
(`20261120T033000Z`, with `-N` appended when two land in the same second), so a listing
needs no archive to be opened: `infra health` reads only names and sizes. Temp files of a
writer in progress (`.infra-tmp-…`) never match the pattern, so they are never listed.

The off-site copies' state (`offsite.py`) is kept as watermarks of the `backup` job, named
here so `infra health` finds it without importing restic's wrapper.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from openclaw_infra.core.errors import NoInputError

ARCHIVE_PREFIX = "infra-"
ARCHIVE_SUFFIX = ".tar.zst"
LATEST = "latest"
_ID_FORMAT = "%Y%m%dT%H%M%SZ"
# watermarks (job `backup`) of one off-site repository, keyed by a hash of its location
OFFSITE_JOB = "backup"
OFFSITE_TAG = "openclaw-infra"  # every restic snapshot infra makes carries it
_NAME = re.compile(r"^infra-(?P<id>(?P<ts>\d{8}T\d{6}Z)(?:-(?P<n>\d{1,4}))?)\.tar\.zst$")


@dataclass(frozen=True)
class Snapshot:
    id: str
    path: Path
    created: datetime  # UTC, from the id
    seq: int  # the `-N` suffix, 0 when absent: orders snapshots of the same second
    size: int

    @property
    def sort_key(self) -> tuple[datetime, int]:
        return (self.created, self.seq)


def archive_name(snapshot_id: str) -> str:
    return f"{ARCHIVE_PREFIX}{snapshot_id}{ARCHIVE_SUFFIX}"


def parse_name(name: str, path: Path, size: int) -> Snapshot | None:
    match = _NAME.match(name)
    if match is None:
        return None
    try:
        created = datetime.strptime(match["ts"], _ID_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None
    return Snapshot(match["id"], path, created, int(match["n"] or 0), size)


def new_id(directory: Path, now: datetime) -> str:
    """A fresh id for a snapshot taken at `now`, unique within `directory`."""
    base = now.astimezone(UTC).strftime(_ID_FORMAT)
    same_second = [s.seq for s in list_snapshots(directory) if s.id.split("-")[0] == base]
    # one past the highest, never a gap's number: a pruned `-1` must not make a newer
    # snapshot sort before `-2`
    return base if not same_second else f"{base}-{max(same_second) + 1}"


def list_snapshots(directory: Path) -> list[Snapshot]:
    """Complete snapshots in `directory`, oldest first; [] when it does not exist."""
    found: list[Snapshot] = []
    try:
        entries = list(os.scandir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return []
    for entry in entries:
        if not entry.name.startswith(ARCHIVE_PREFIX) or not entry.is_file(follow_symlinks=False):
            continue
        snap = parse_name(entry.name, Path(entry.path), entry.stat(follow_symlinks=False).st_size)
        if snap is not None:
            found.append(snap)
    return sorted(found, key=lambda s: s.sort_key)


def find_snapshot(directory: Path, snapshot_id: str) -> Snapshot:
    """The snapshot with `snapshot_id` (or the newest for `latest`); exit 66 when absent."""
    snapshots = list_snapshots(directory)
    if snapshot_id == LATEST:
        if not snapshots:
            raise NoInputError(f"no snapshot in {directory}", hint="run `infra backup` first")
        return snapshots[-1]
    for snap in snapshots:
        if snap.id == snapshot_id:
            return snap
    raise NoInputError(
        f"no snapshot {snapshot_id!r} in {directory}", hint="`infra backup list` shows the ids"
    )


def _repository_key(repository: str) -> str:
    return hashlib.sha256(repository.strip().encode("utf-8")).hexdigest()[:16]


def offsite_copy_key(repository: str) -> str:
    """Watermark of the last successful off-site copy into `repository` (JSON: at, ids)."""
    return f"offsite-copy:{_repository_key(repository)}"


def offsite_read_key(repository: str) -> str:
    """Watermark of the last data read of `repository` (JSON: at, part, parts)."""
    return f"offsite-read:{_repository_key(repository)}"
