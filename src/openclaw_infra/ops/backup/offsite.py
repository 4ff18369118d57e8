"""Off-site copies: each verified local snapshot, also in a restic repository.

What goes off-site is the snapshot's content as files: its members, checked against their
SHA-256 as they are unpacked into a private temp directory, plus its `manifest.json`, backed
up with `restic backup .` from there. Files, not the `.tar.zst`: one changed byte early in a
compressed tar changes every byte after it, so restic would store the whole archive anew
each night; unpacked, only changed chunks are new (benchmarks/offsite.py measures both).
The content is exactly the local snapshot's, so it holds no secret in plain text either
(config.env without its secret values; `data/secrets.age` when age is configured).

Restoring reverses it: `restic restore` into a temp directory, every file checked against
the manifest, packed again into a snapshot archive in that directory, and that archive goes
through the local restore and drill code, so an off-site restore gets the same checks.

Each snapshot is tagged `openclaw-infra`, `snapshot:<local id>`, `infra:<version>` and
`host:<host>`, and dated with the local snapshot's time; retention (`restic forget --prune`)
considers only snapshots with that tag, with the local snapshots' policy.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from openclaw_infra import __version__
from openclaw_infra.core import ledger
from openclaw_infra.core.config import Settings, env_name
from openclaw_infra.core.db import connect, transaction
from openclaw_infra.core.errors import (
    ConfigError,
    DataError,
    NoInputError,
    TempFailError,
    os_error_to_infra,
)
from openclaw_infra.core.fsio import FILE_MODE, ensure_private_dir, sha256_file
from openclaw_infra.ops.backup import archive, catalog
from openclaw_infra.ops.backup.restic import (
    Completed,
    RepositoryMissing,
    Restic,
    terminal_progress,
)
from openclaw_infra.ops.backup.sources import ROOTS

log = structlog.get_logger("infra.backup")
_NO_DETAIL = "restic check: the repository contains errors"
_BACKEND = re.compile(r"^[a-z0-9]+:")  # sftp:, s3:, rest:, ... (a local path has none)


def configured(settings: Settings) -> bool:
    return bool(settings.restic_repository.strip())


def _local_path(repository: str) -> Path | None:
    if repository.startswith("local:"):
        return Path(repository.removeprefix("local:"))
    return None if _BACKEND.match(repository) else Path(repository)


def _tags(snapshot: catalog.Snapshot, host: str) -> list[str]:
    tags = [catalog.OFFSITE_TAG, f"snapshot:{snapshot.id}", f"infra:{__version__}", f"host:{host}"]
    return [arg for tag in tags for arg in ("--tag", tag.replace(",", "_"))]


@dataclass
class CopyResult:
    restic_id: str
    snapshot: str  # the local snapshot's id
    repository: str  # as printable (no password)
    files: int
    bytes_added: int
    bytes_processed: int
    took_s: float
    initialised: bool = False
    forgotten: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.restic_id,
            "snapshot": self.snapshot,
            "repository": self.repository,
            "files": self.files,
            "bytes_added": self.bytes_added,
            "bytes_processed": self.bytes_processed,
            "took_s": self.took_s,
            "initialised": self.initialised,
            "forgotten": self.forgotten,
        }


def _open_or_init(restic: Restic, conn: Any) -> bool:
    """Open the repository, creating it on first use; True when it was created.

    Never re-created once a copy went there: a repository that was used and is now missing
    is a drive that is not mounted, or a server that is down, and `restic init` would put a
    fresh empty one in its place (on the Mac's own disk, under /Volumes). For a local path
    the parent directory must exist, for the same reason."""
    try:
        restic.run(["cat", "config"])
        return False
    except RepositoryMissing as exc:
        used = ledger.get_watermark(
            conn, catalog.OFFSITE_JOB, catalog.offsite_copy_key(restic.repository)
        )
        if used is not None:
            raise RepositoryMissing(
                f"the off-site repository {restic.where} held copies and is not there now; "
                "not creating a new one",
                hint="mount the drive or check the server, then run `infra backup` again",
            ) from exc
        local = _local_path(restic.repository)
        if local is not None and not local.parent.is_dir():
            raise RepositoryMissing(
                f"no restic repository at {restic.where}, and its parent directory "
                f"{local.parent} does not exist",
                hint="is the drive mounted? infra creates the repository, not its parents",
            ) from exc
    restic.run(["init"])
    return True


def stage_snapshot(snapshot: catalog.Snapshot, stage: Path) -> dict[str, Any]:
    """Unpack the snapshot's members verbatim (each checked against the manifest) and its
    manifest into `stage` (0700 directories, 0600 files, recorded mtimes)."""
    label = f"snapshot {snapshot.id}"
    ensure_private_dir(stage)
    seen: set[str] = set()
    with archive.open_archive(snapshot.path, label) as reader:
        manifest = reader.manifest
        expected = archive.manifest_files(manifest, label)
        for info, stream in reader.members():
            entry = expected.get(info.name)
            why = archive.member_problem(info.name, ROOTS)
            if why is not None or entry is None or stream is None or info.name in seen:
                raise DataError(f"{label}: {why or info.name + ': not a manifest file'}")
            seen.add(info.name)
            dest = stage / info.name
            ensure_private_dir(dest.parent)
            try:
                fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
                with os.fdopen(fd, "wb") as out:
                    archive.copy_checked(entry, stream, out)
                mtime = float(entry.get("mtime") or 0)
                if mtime:
                    os.utime(dest, (mtime, mtime))
            except OSError as exc:
                raise os_error_to_infra(exc, dest) from exc
        reader.drain()
    missing = sorted(set(expected) - seen)
    if missing:
        raise DataError(f"{label}: {len(missing)} file(s) missing from the archive: {missing[0]}")
    body = json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8")
    fd = os.open(stage / archive.MANIFEST_NAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "wb") as out:
        out.write(body)
    return manifest


def _summary(lines: list[str]) -> dict[str, Any]:
    for line in reversed(lines):
        if line.startswith('{"message_type":"summary"'):
            with contextlib.suppress(ValueError):
                value = json.loads(line)
                if isinstance(value, dict):
                    return value
    raise TempFailError("restic backup printed no summary; run `infra backup` again")


def _first_json(lines: list[str]) -> Any:
    for line in lines:
        if line.startswith(("[", "{")):
            with contextlib.suppress(ValueError):
                return json.loads(line)
    return None


def forget(restic: Restic, settings: Settings) -> list[str]:
    """`restic forget --prune` with the local snapshots' policy, over infra's snapshots
    only (the tag), per host; the local ids of the snapshots it removed."""
    keep = {
        "--keep-last": settings.backup_keep_last,
        "--keep-daily": settings.backup_keep_daily,
        "--keep-weekly": settings.backup_keep_weekly,
        "--keep-monthly": settings.backup_keep_monthly,
    }
    args = ["forget", "--prune", "--json", "--tag", catalog.OFFSITE_TAG, "--group-by", "host"]
    args += [arg for flag, n in keep.items() if n > 0 for arg in (flag, str(n))]
    groups = _first_json(restic.run(args).stdout) or []
    removed: list[str] = []
    for group in groups if isinstance(groups, list) else []:
        for snap in (group.get("remove") or []) if isinstance(group, dict) else []:
            removed.append(_row(snap)["snapshot"] or str(snap.get("short_id", "?")))
    return removed


def replicate(settings: Settings, snapshot: catalog.Snapshot, conn: Any) -> CopyResult:
    """Copy one verified local snapshot off-site, then apply retention there; records the
    copy in the `backup` job's watermarks (what `infra health` reads)."""
    start = time.monotonic()
    restic = Restic.from_settings(settings)
    initialised = _open_or_init(restic, conn)
    host = socket.gethostname()
    when = snapshot.created.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M:%S")
    progress = terminal_progress(f"off-site copy of {snapshot.id}")
    with tempfile.TemporaryDirectory(prefix="infra-offsite-") as tmp:
        stage = Path(tmp) / "snapshot"
        manifest = stage_snapshot(snapshot, stage)
        args = ["backup", ".", "--json", "--host", host, "--time", when, *_tags(snapshot, host)]
        try:
            done = restic.run(args, cwd=stage, on_status=progress)
        finally:
            if progress is not None:
                sys.stderr.write("\n")
    summary = _summary(done.stdout)
    forgotten = forget(restic, settings)
    result = CopyResult(
        restic_id=str(summary.get("snapshot_id", "")),
        snapshot=snapshot.id,
        repository=restic.where,
        files=len(manifest["files"]) + 1,
        bytes_added=int(summary.get("data_added", 0)),
        bytes_processed=int(summary.get("total_bytes_processed", 0)),
        took_s=round(time.monotonic() - start, 3),
        initialised=initialised,
        forgotten=forgotten,
    )
    mark = {"at": time.time(), "id": result.restic_id, "snapshot": snapshot.id}
    with transaction(conn):
        ledger.set_watermark(
            conn,
            catalog.OFFSITE_JOB,
            catalog.offsite_copy_key(restic.repository),
            json.dumps(mark),
        )
    log.info(
        "backup.offsite",
        repository=result.repository,
        snapshot=snapshot.id,
        restic_id=result.restic_id,
        bytes_added=result.bytes_added,
        took_s=result.took_s,
        forgotten=len(forgotten),
    )
    return result


# --- list, find, verify, fetch -----------------------------------------------------------


def _row(snap: dict[str, Any]) -> dict[str, Any]:
    tags = [str(t) for t in snap.get("tags") or []]

    def tag(prefix: str) -> str | None:
        return next((t[len(prefix) :] for t in tags if t.startswith(prefix)), None)

    return {
        "id": str(snap.get("short_id") or str(snap.get("id", ""))[:8]),
        "restic_id": str(snap.get("id", "")),
        "created_at": str(snap.get("time", "")),
        "host": snap.get("hostname"),
        "snapshot": tag("snapshot:"),
        "infra_version": tag("infra:"),
    }


def list_offsite(settings: Settings) -> list[dict[str, Any]]:
    """infra's snapshots in the repository, oldest first; each with its restic `id`."""
    restic = Restic.from_settings(settings)
    snaps = restic.json(["snapshots", "--tag", catalog.OFFSITE_TAG])
    rows = [_row(s) for s in snaps if isinstance(s, dict)] if isinstance(snaps, list) else []
    return sorted(rows, key=lambda r: r["created_at"])


def find_offsite(settings: Settings, wanted: str) -> dict[str, Any]:
    """An off-site snapshot by restic id (or a prefix of 8+), local snapshot id, or
    `latest`; exit 66 when absent or ambiguous."""
    rows = list_offsite(settings)
    where = f"the off-site repository {Restic.from_settings(settings).where}"
    if wanted == catalog.LATEST:
        if not rows:
            raise NoInputError(f"no snapshot in {where}", hint="run `infra backup` first")
        return rows[-1]
    found = [r for r in rows if r["snapshot"] == wanted]
    if not found and len(wanted) >= 8:
        found = [r for r in rows if r["restic_id"].startswith(wanted)]
    if not found:
        raise NoInputError(
            f"no snapshot {wanted!r} in {where}", hint="`infra backup list --offsite` shows the ids"
        )
    return found[-1]


@dataclass
class CheckResult:
    repository: str
    read_data: str  # "none", "N/M" (a subset), or "all"
    problems: list[str]
    took_s: float

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "ok": self.ok,
            "read_data": self.read_data,
            "problems": self.problems,
            "took_s": self.took_s,
        }


def _due_part(settings: Settings, mark: str | None, now: float) -> int | None:
    """The next data part to read (1-based) when a read is due, else None."""
    parts = settings.restic_read_data_parts
    try:
        last = json.loads(mark) if mark else None
    except ValueError:
        last = None
    if not isinstance(last, dict):
        return 1
    if now - float(last.get("at", 0)) < settings.restic_read_data_interval_days * 86400:
        return None
    return int(last.get("part", 0)) % parts + 1


def check(settings: Settings, *, read_all: bool = False) -> CheckResult:
    """`restic check`: the repository's structure always, and its data on a schedule, a
    different 1/N each time (`--read-data-subset`), or all of it with `read_all`."""
    start = time.monotonic()
    restic = Restic.from_settings(settings)
    key = catalog.offsite_read_key(restic.repository)
    conn = connect(settings.db_path)
    try:
        parts = settings.restic_read_data_parts
        part = (
            parts
            if read_all
            else _due_part(
                settings, ledger.get_watermark(conn, catalog.OFFSITE_JOB, key), time.time()
            )
        )
        args = ["check"]
        if read_all or (parts == 1 and part is not None):
            args.append("--read-data")
            read = "all"
        elif part is not None:
            args.append(f"--read-data-subset={part}/{parts}")
            read = f"{part}/{parts}"
        else:
            read = "none"
        done = restic.run(args, ok_codes=(0, 1))
        problems = _check_problems(restic, done)
        if part is not None and not problems:
            with transaction(conn):
                mark = json.dumps({"at": time.time(), "part": part, "parts": parts})
                ledger.set_watermark(conn, catalog.OFFSITE_JOB, key, mark)
    finally:
        conn.close()
    return CheckResult(restic.where, read, problems, round(time.monotonic() - start, 3))


def _check_problems(restic: Restic, done: Completed) -> list[str]:
    """What `restic check` found; errors that are not findings (no repository, wrong
    password, a live lock) are raised as such."""
    if done.returncode == 0:
        return []
    if "contains errors" not in done.stderr:
        raise restic.error("check", done)
    # what it found is on stderr; progress and the steps it took are on stdout
    found = [s.strip() for s in done.stderr.splitlines() if s.strip()]
    return [s for s in found if not s.startswith("Fatal:")][:20] or [_NO_DETAIL]


@contextlib.contextmanager
def fetched(settings: Settings, wanted: str) -> Iterator[tuple[catalog.Snapshot, dict[str, Any]]]:
    """An off-site snapshot, restored by restic into a temp directory, every file checked
    against its manifest and packed into a snapshot archive there: the local restore and
    drill then run on it unchanged. Removed when the block ends."""
    row = find_offsite(settings, wanted)
    restic = Restic.from_settings(settings)
    label = f"off-site snapshot {row['id']}"
    try:
        scratch = tempfile.TemporaryDirectory(prefix="infra-offsite-")
    except OSError as exc:
        raise os_error_to_infra(exc, tempfile.gettempdir()) from exc
    with scratch as tmp:
        tree = Path(tmp) / "tree"
        restic.run(["restore", row["restic_id"], "--target", str(tree)])
        manifest = _restored_manifest(tree, label)
        pairs = _checked_files(tree, manifest, label)
        packed = ensure_private_dir(Path(tmp) / "archive")
        name = catalog.archive_name(str(manifest.get("id")))
        if catalog.parse_name(name, packed / name, 0) is None:
            raise DataError(f"{label}: its manifest has no valid snapshot id")
        try:
            archive.write_archive(packed / name, manifest, pairs)
        except TempFailError as exc:  # a file that changed under us: in a private temp dir
            raise DataError(f"{label}: {exc.message}") from exc
        snap = catalog.parse_name(name, packed / name, (packed / name).stat().st_size)
        assert snap is not None
        yield snap, row


def _restored_manifest(tree: Path, label: str) -> dict[str, Any]:
    try:
        manifest = json.loads((tree / archive.MANIFEST_NAME).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DataError(f"{label}: no {archive.MANIFEST_NAME}: not an infra snapshot") from exc
    except (OSError, ValueError) as exc:
        raise DataError(f"{label}: unreadable {archive.MANIFEST_NAME}: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != archive.FORMAT:
        raise DataError(f"{label}: not an {archive.FORMAT} snapshot")
    return manifest


def _checked_files(
    tree: Path, manifest: dict[str, Any], label: str
) -> list[tuple[dict[str, Any], Path]]:
    """Each manifest file in the restored tree, with its size and SHA-256 checked; a file
    the manifest does not list is damage too."""
    entries = archive.manifest_files(manifest, label)
    pairs = []
    for name, entry in entries.items():
        why = archive.member_problem(name, ROOTS)
        path = tree / name
        if why is not None:
            raise DataError(f"{label}: {why}")
        if not path.is_file() or path.is_symlink():
            raise DataError(f"{label}: {name} is missing")
        if path.stat().st_size != entry["size"] or sha256_file(path) != entry["sha256"]:
            raise DataError(f"{label}: {name} does not match its SHA-256 in the manifest")
        pairs.append((entry, path))
    listed = set(entries) | {archive.MANIFEST_NAME}
    for path in sorted(tree.rglob("*")):
        rel = path.relative_to(tree).as_posix()
        if not path.is_dir() and rel not in listed:
            raise DataError(f"{label}: {rel} is not in its manifest")
    return pairs


def require(settings: Settings) -> None:
    """ConfigError (78) for an off-site command when no repository is configured."""
    if not configured(settings):
        raise ConfigError(
            f"no off-site repository is configured ({env_name('restic_repository')})",
            hint="docs/backup.md, 'Off-site copies (restic)'",
        )
