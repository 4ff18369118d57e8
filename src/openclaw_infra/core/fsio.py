"""Durable file operations: the one atomic writer, private directories, quarantine.

Every file infra writes goes through `atomic_write_bytes`/`atomic_write_text`: a unique
temp file in the target directory, write, flush, fsync (F_FULLFSYNC on macOS), `os.replace`,
then fsync the directory, so a crash leaves either the complete old or the complete new file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from openclaw_infra.core.errors import os_error_to_infra

DIR_MODE = 0o700
FILE_MODE = 0o600
TMP_PREFIX = ".infra-tmp-"


def _full_fsync(fd: int) -> None:
    """fsync that reaches the platter: macOS needs F_FULLFSYNC, plain fsync elsewhere."""
    if sys.platform == "darwin":
        import fcntl

        try:
            fcntl.fcntl(fd, fcntl.F_FULLFSYNC)  # type: ignore[attr-defined]
            return
        except OSError:
            pass  # some filesystems (SMB, exFAT) refuse F_FULLFSYNC; fsync is the best left
    os.fsync(fd)


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink inside `path` durable."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        _full_fsync(fd)
    finally:
        os.close(fd)


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and parents) and make sure it is 0700."""
    try:
        missing = []
        probe = path
        while not probe.exists() and probe != probe.parent:
            missing.append(probe)
            probe = probe.parent
        # parents we create are private too (mkdir(parents=True) would make them 0755)
        for directory in reversed(missing):
            directory.mkdir(mode=DIR_MODE, exist_ok=True)
            directory.chmod(DIR_MODE)
        if (path.stat().st_mode & 0o777) != DIR_MODE:
            path.chmod(DIR_MODE)
    except OSError as exc:
        raise os_error_to_infra(exc, path) from exc
    return path


@contextlib.contextmanager
def atomic_writer(path: Path, *, mode: int = FILE_MODE) -> Iterator[BinaryIO]:
    """Stream a file into place (archives too large for memory) with the same guarantees as
    `atomic_write_bytes`: nothing is visible under `path` until the block ends without an
    exception; then fsync, `os.replace`, fsync the directory. On failure the temp is removed
    and the old file is untouched; a SIGKILL leaves only a temp that `reap_dead_temps` removes.
    """
    path = Path(path)
    parent = path.parent
    try:
        if not parent.is_dir():
            ensure_private_dir(parent)
        reap_dead_temps(parent)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f"{TMP_PREFIX}{os.getpid()}-", suffix=".part", dir=parent
        )
    except OSError as exc:
        raise os_error_to_infra(exc, path) from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fd, mode)
            yield fh
            fh.flush()
            _full_fsync(fd)
        os.replace(tmp, path)
        fsync_dir(parent)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise os_error_to_infra(exc, path) from exc
        raise


def atomic_write_bytes(path: Path, data: bytes, *, mode: int = FILE_MODE) -> None:
    """Replace `path` with `data` durably; on any failure the old file is untouched."""
    with atomic_writer(path, mode=mode) as fh:
        fh.write(data)


def atomic_write_text(path: Path, text: str, *, mode: int = FILE_MODE) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


def write_if_changed(path: Path, text: str, *, mode: int = FILE_MODE) -> bool:
    """Atomically write `text` unless the file already holds exactly it (reruns are no-ops)."""
    data = text.encode("utf-8")
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise os_error_to_infra(exc, path) from exc
    atomic_write_bytes(path, data, mode=mode)
    return True


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_dead_temps(directory: Path) -> int:
    """Delete temp files whose writer died (SIGKILL, power loss) before its rename.

    The writer's pid is in the temp name, so a live writer's file is never touched.
    """
    removed = 0
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return 0
    for entry in entries:
        if not entry.name.startswith(TMP_PREFIX):
            continue
        pid_text = entry.name[len(TMP_PREFIX) :].split("-", 1)[0]
        if pid_text.isdigit() and _pid_alive(int(pid_text)) and int(pid_text) != 0:
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            removed += 1
    return removed


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def quarantine(src: Path, quarantine_dir: Path, reason: str) -> Path:
    """Move a bad input aside with a `.reason.txt` beside it; never deletes it."""
    ensure_private_dir(quarantine_dir)
    target = quarantine_dir / src.name
    n = 1
    while target.exists():
        target = quarantine_dir / f"{src.stem}.{n}{src.suffix}"
        n += 1
    try:
        os.replace(src, target)
        target.chmod(FILE_MODE)  # it now lives among infra's private files
    except OSError:
        # another filesystem: copy durably (0600), then remove the original
        atomic_write_bytes(target, src.read_bytes())
        src.unlink()
    atomic_write_text(target.with_name(target.name + ".reason.txt"), reason.rstrip() + "\n")
    fsync_dir(quarantine_dir)
    return target


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Files created by libraries (SQLite, FAISS) inside the block get 0600."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)
