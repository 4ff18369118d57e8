"""The one lock helper: job locks that never wait, and a store-write lock that does.

Locks are `filelock` (flock) files in `<data>/locks/`, so a crashed holder releases its lock
with its process. A `.holder` sidecar names the pid and start time for the error message and
for `infra health`'s stale-holder check.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from openclaw_infra.core.errors import LockHeldError, TempFailError
from openclaw_infra.core.fsio import FILE_MODE, atomic_write_text, ensure_private_dir


def _holder_path(lock_path: Path) -> Path:
    return lock_path.with_suffix(".holder")


def read_holder(lock_path: Path) -> dict[str, object] | None:
    try:
        data = json.loads(_holder_path(lock_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_locked(lock_path: Path) -> bool:
    """True when some live process holds `lock_path` (probes without waiting)."""
    probe = FileLock(str(lock_path), timeout=0, mode=FILE_MODE)
    try:
        probe.acquire(timeout=0)
    except Timeout:
        return True
    probe.release()
    return False


@contextlib.contextmanager
def _held(lock: FileLock, lock_path: Path, what: str) -> Iterator[None]:
    holder = {
        "pid": os.getpid(),
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
        "what": what,
    }
    atomic_write_text(_holder_path(lock_path), json.dumps(holder))
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            _holder_path(lock_path).unlink()
        lock.release()


@contextlib.contextmanager
def job_lock(locks_dir: Path, name: str) -> Iterator[None]:
    """Hold the lock of job `name`; if another run holds it, fail at once (exit 75)."""
    ensure_private_dir(locks_dir)
    path = locks_dir / f"{name}.lock"
    lock = FileLock(str(path), timeout=0, mode=FILE_MODE)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        holder = read_holder(path) or {}
        raise LockHeldError(
            f"{name} is already running since {holder.get('since', '?')}, "
            f"pid {holder.get('pid', '?')}",
            hint="this run was skipped; the work stays owed for the next run",
        ) from None
    with _held(lock, path, name):
        yield


@contextlib.contextmanager
def wait_lock(locks_dir: Path, name: str, timeout_s: float) -> Iterator[None]:
    """Hold lock `name`, waiting up to `timeout_s` (store writes, the transcription slot)."""
    ensure_private_dir(locks_dir)
    path = locks_dir / f"{name}.lock"
    lock = FileLock(str(path), timeout=timeout_s, mode=FILE_MODE)
    start = time.monotonic()
    try:
        lock.acquire(timeout=timeout_s, poll_interval=0.05)
    except Timeout:
        holder = read_holder(path) or {}
        raise TempFailError(
            f"waited {time.monotonic() - start:.0f}s for the {name} lock held by pid "
            f"{holder.get('pid', '?')} ({holder.get('what', '?')})"
        ) from None
    with _held(lock, path, name):
        yield


STORE_LOCK = "store-write"


def store_write_lock(
    locks_dir: Path, timeout_s: float = 300.0
) -> contextlib.AbstractContextManager[None]:
    """Writers of the memory store serialise here; readers never take it."""
    return wait_lock(locks_dir, STORE_LOCK, timeout_s)
