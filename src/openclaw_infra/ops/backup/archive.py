"""The snapshot format: one zstd-compressed tar, `manifest.json` first, then the files.

Why this shape:
- one file per snapshot, written through `atomic_writer`, so a snapshot is either complete
  under its final name or absent (a killed writer leaves only a reaped `.infra-tmp-` file);
- the manifest first, so `infra backup list` reads a few KB, not the whole archive;
- zstd with its frame checksum catches damage to any byte of the compressed stream, and the
  manifest's per-file SHA-256 catches a wrong file inside a well-formed stream;
- plain tar + zstd, so the archive opens without infra: `zstd -dc F | tar -x`.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, BinaryIO

import zstandard

from openclaw_infra.core.errors import DataError, InfraError, TempFailError
from openclaw_infra.core.fsio import atomic_writer

FORMAT = "openclaw-infra-backup/1"
MANIFEST_NAME = "manifest.json"
ZSTD_LEVEL = 3  # zstd's default: faster than gzip -6 and smaller (benchmarks/backup.py)
CHUNK = 1 << 20
MANIFEST_MAX_BYTES = 64 << 20


class _HashingReader:
    """Reads exactly `size` bytes of `fh` for tarfile, hashing them on the way.

    A file that grows while it is read (an append-only transcript) is cut at the size the
    manifest recorded; one that shrank was rewritten mid-backup and fails the run.
    """

    def __init__(self, fh: IO[bytes], size: int, name: str) -> None:
        self._fh, self._left, self._name = fh, size, name
        self.sha256 = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        want = self._left if n is None or n < 0 else min(n, self._left)
        data = self._fh.read(want)
        if len(data) < want:
            raise TempFailError(
                f"{self._name} shrank while it was being backed up", hint="run `infra backup` again"
            )
        self._left -= len(data)
        self.sha256.update(data)
        return data


def _info(name: str, size: int, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(mtime), 0o600
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def write_archive(
    target: Path, manifest: dict[str, Any], files: list[tuple[dict[str, Any], Path]]
) -> None:
    """Write the snapshot atomically: `files` pairs each manifest entry with the file that
    holds its bytes (the live file, or the staged copy of a database).

    Each file is hashed again as it is archived; bytes that differ from the manifest mean
    the file was rewritten between the two reads, and the run fails without a snapshot.
    """
    body = json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8")
    compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_checksum=True)
    with (
        atomic_writer(target) as out,
        compressor.stream_writer(out, closefd=False) as zout,
        tarfile.open(fileobj=zout, mode="w|", format=tarfile.PAX_FORMAT) as tar,
    ):
        tar.addfile(_info(MANIFEST_NAME, len(body), manifest["created_ts"]), io.BytesIO(body))
        for entry, path in files:
            try:
                fh = path.open("rb")
            except OSError as exc:
                raise TempFailError(
                    f"{path} vanished during the backup: {exc.strerror}",
                    hint="run `infra backup` again",
                ) from exc
            with fh:
                reader = _HashingReader(fh, entry["size"], str(path))
                tar.addfile(_info(entry["path"], entry["size"], entry["mtime"]), reader)
            if reader.sha256.hexdigest() != entry["sha256"]:
                raise TempFailError(
                    f"{path} changed while it was being backed up", hint="run `infra backup` again"
                )


def hash_prefix(path: Path, size: int) -> str:
    """SHA-256 of the first `size` bytes (what the archive will hold of a growing file)."""
    with path.open("rb") as fh:
        reader = _HashingReader(fh, size, str(path))
        while reader.read(CHUNK):
            pass
    return reader.sha256.hexdigest()


class ArchiveReader:
    """Sequential reader: `manifest`, then `members()` yields (entry name, tar info, stream)."""

    def __init__(self, tar: tarfile.TarFile, stream: BinaryIO, label: str) -> None:
        self._tar, self._stream, self.label = tar, stream, label
        first = tar.next()
        if first is None or first.name != MANIFEST_NAME or not first.isfile():
            raise DataError(f"{label}: the archive does not start with {MANIFEST_NAME}")
        if first.size > MANIFEST_MAX_BYTES:
            raise DataError(f"{label}: {MANIFEST_NAME} is implausibly large")
        raw = tar.extractfile(first)
        assert raw is not None  # a regular file always has a stream
        try:
            manifest = json.loads(raw.read().decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise DataError(f"{label}: unreadable {MANIFEST_NAME}: {exc}") from exc
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise DataError(f"{label}: not an {FORMAT} archive")
        self.manifest: dict[str, Any] = manifest

    def members(self) -> Iterator[tuple[tarfile.TarInfo, IO[bytes] | None]]:
        while (info := self._tar.next()) is not None:
            yield info, self._tar.extractfile(info) if info.isfile() else None

    def drain(self) -> None:
        """Read to the end of the zstd frame, where its checksum is checked."""
        while self._stream.read(CHUNK):
            pass


@contextmanager
def open_archive(path: Path, label: str | None = None) -> Iterator[ArchiveReader]:
    """Open a snapshot for sequential reading; every kind of damage becomes DataError (65)."""
    label = label or path.name
    try:
        with (
            path.open("rb") as raw,
            zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=False) as zin,
            tarfile.open(fileobj=zin, mode="r|") as tar,
        ):
            yield ArchiveReader(tar, zin, label)
    except InfraError:
        raise
    except (zstandard.ZstdError, tarfile.TarError, EOFError) as exc:
        raise DataError(f"{label}: damaged archive: {exc}") from exc
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise DataError(f"{label}: the archive vanished: {exc}") from exc
        raise DataError(f"{label}: cannot read the archive: {exc}") from exc


def read_manifest(path: Path) -> dict[str, Any]:
    """Only the manifest (the first few KB): what `infra backup list` shows."""
    with open_archive(path) as reader:
        return reader.manifest


def member_problem(name: str, roots: tuple[str, ...]) -> str | None:
    """Why an archive member name is unsafe to restore (absolute, `..`, unknown root)."""
    parts = name.split("/")
    if name.startswith("/") or "\\" in name or any(p in ("", ".", "..") for p in parts):
        return f"{name!r}: unsafe path in the archive"
    if len(parts) < 2 or parts[0] not in roots:
        return f"{name!r}: outside the snapshot's roots"
    return None


def copy_checked(entry: dict[str, Any], stream: IO[bytes], out: IO[bytes] | None) -> None:
    """Copy one member's bytes to `out` (or only read them), raising DataError when they are
    not the bytes the manifest recorded: the check that catches a flipped byte."""
    digest, size = hashlib.sha256(), 0
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
        if out is not None:
            out.write(chunk)
    if size != entry["size"] or digest.hexdigest() != entry["sha256"]:
        raise DataError(f"{entry['path']}: content does not match its SHA-256 in the manifest")


def manifest_files(manifest: dict[str, Any], label: str) -> dict[str, dict[str, Any]]:
    """The manifest's file entries by archive path, their shape checked."""
    files = manifest.get("files")
    if not isinstance(files, list):
        raise DataError(f"{label}: the manifest has no file list")
    out: dict[str, dict[str, Any]] = {}
    for entry in files:
        ok = (
            isinstance(entry, dict)
            and isinstance(entry.get("path"), str)
            and isinstance(entry.get("size"), int)
            and isinstance(entry.get("sha256"), str)
            and entry.get("kind") in ("file", "sqlite")
        )
        if not ok or entry["path"] in out:
            raise DataError(f"{label}: malformed manifest entry {entry!r:.120}")
        out[entry["path"]] = entry
    return out
