"""The one safe way to read a file found under a watched folder (`memory/`, `sessions/`,
the voice inbox): folders the agent, OpenClaw or the user can write anything into.

A file is read only when it is a regular file whose real path lies inside one of the given
roots (a symlink within the tree is fine, one leading out is refused) and, when a cap is
given, no larger than the cap. It is opened non-blocking and without following a final
symlink, then checked again through the descriptor, so a FIFO, device or socket never blocks
the reader and a swap between the check and the open cannot slip another file in. A refusal
is a `RefusedFile` carrying the reason, for the caller to count and report; a file that is
simply gone still raises `FileNotFoundError`.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from openclaw_infra.core.errors import NoInputError

_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
)


class RefusedFile(NoInputError):
    """A file infra will not read; `reason` says why (exit 66 if nobody catches it)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a directory"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _inside(real: str, roots: Sequence[str]) -> bool:
    return any(real == r or real.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def _real_roots(roots: Sequence[Path]) -> list[str]:
    return [os.path.realpath(r) for r in roots]


def _opened_path(fd: int) -> str | None:
    """Where the descriptor really points (Linux /proc, macOS F_GETPATH); None elsewhere."""
    if sys.platform == "darwin":
        import fcntl

        try:
            raw = fcntl.fcntl(fd, fcntl.F_GETPATH, bytes(1024))  # type: ignore[attr-defined]
        except OSError:
            return None
        return os.fsdecode(raw.split(b"\0", 1)[0])
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None


def _too_big(size: int, max_bytes: int) -> str:
    return f"{size:,} bytes, over the {max_bytes:,}-byte limit"


def _os_reason(exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return "dangling symlink"
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    if exc.errno == errno.ENXIO:
        return "a socket"
    return f"cannot open: {exc.strerror or exc}"


def _gone(path: Path, exc: OSError) -> bool:
    """Vanished since it was listed (not a link left dangling): the caller's "gone" case."""
    return exc.errno == errno.ENOENT and not os.path.islink(path)


def _checked(path: Path, roots: Sequence[Path] | None) -> tuple[str, os.stat_result]:
    """The real path and its lstat, or `RefusedFile`: inside the roots and a regular file."""
    try:
        real = os.path.realpath(path, strict=True)
        st = os.stat(real, follow_symlinks=False)
    except OSError as exc:
        if _gone(path, exc):
            raise FileNotFoundError(exc.errno, exc.strerror, str(path)) from None
        raise RefusedFile(path, _os_reason(exc)) from None
    if roots is not None and not _inside(real, _real_roots(roots)):
        where = " or ".join(str(r) for r in roots)
        raise RefusedFile(path, f"leads to {real}, outside {where}")
    if not stat.S_ISREG(st.st_mode):
        raise RefusedFile(path, _kind(st.st_mode))
    return real, st


def refusal(path: Path, roots: Sequence[Path] | None) -> str | None:
    """Why `path` must not be read, without opening it (None: it may be, or it is gone):
    for discovery, which lists what a reader later opens with `open_watched`."""
    try:
        _checked(path, roots)
    except RefusedFile as refused:
        return refused.reason
    except FileNotFoundError:
        return None  # gone: the reader's "gone" case, not a refusal
    return None


def open_watched(
    path: Path, roots: Sequence[Path] | None, *, max_bytes: int | None = None
) -> BinaryIO:
    """Open `path` for reading binary, or raise `RefusedFile` saying why not
    (`FileNotFoundError` when it is gone).

    `roots` None: any location (a file the user named on the command line). `max_bytes`
    refuses a larger file by its size when opened (`read_watched` also bounds the read)."""
    path = Path(path)
    # a non-regular file is refused before it is opened: opening a device may act on it
    real, before = _checked(path, roots)
    try:
        fd = os.open(real, _OPEN_FLAGS)
    except OSError as exc:
        if _gone(path, exc):
            raise
        raise RefusedFile(path, _os_reason(exc)) from None  # ELOOP: became a link
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise RefusedFile(path, _kind(st.st_mode))
        if (st.st_dev, st.st_ino) != (before.st_dev, before.st_ino):
            raise RefusedFile(path, "replaced while it was being opened")
        opened = _opened_path(fd)
        if roots is not None and opened is not None and not _inside(opened, _real_roots(roots)):
            raise RefusedFile(path, f"opened {opened}, outside the watched folder")
        if max_bytes is not None and st.st_size > max_bytes:
            raise RefusedFile(path, _too_big(st.st_size, max_bytes))
        # O_NONBLOCK means nothing for a regular file's reads: the open is what it guarded
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_watched(path: Path, roots: Sequence[Path] | None, *, max_bytes: int) -> bytes:
    """The bytes of `path` under `open_watched`'s rules; a file that grows past `max_bytes`
    while it is read is refused too, so memory stays bounded by the cap."""
    with open_watched(path, roots, max_bytes=max_bytes) as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise RefusedFile(path, _too_big(len(data), max_bytes))
    return data
