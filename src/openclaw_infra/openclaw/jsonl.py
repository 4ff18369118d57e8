"""Incremental reader for legacy JSONL session files (append-only, one JSON object a line).

The file is streamed line by line; a line longer than the line limit is hashed and skipped
without ever being held whole, so a multi-MB tool result costs no more memory than the limit.
A line still being written (no newline yet, not complete JSON) is left for the next read.
Every cursor carries the hash of all bytes before it, so an edit anywhere in what was read
is a rewrite (see `openclaw.cursors`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING

import structlog

from openclaw_infra.core import jsonsafe
from openclaw_infra.core.watched import RefusedFile, open_watched
from openclaw_infra.openclaw.batch import Batch, ReadStats, Source
from openclaw_infra.openclaw.cursors import Cursor
from openclaw_infra.openclaw.entries import Entry
from openclaw_infra.openclaw.lines import LineContext, interpret
from openclaw_infra.openclaw.problems import ProblemLog

READ_PIECE = 1 << 20  # bytes per readline() call
HEAD_BYTES = 4096  # kept from an oversized line to say what it was

if TYPE_CHECKING:
    from hashlib import _Hash

log = structlog.get_logger("infra.reader")


@dataclass(frozen=True, slots=True)
class RawLine:
    start: int
    end: int  # offset just after the line (terminator included)
    digest: str  # sha256 hex of bytes [start, end)
    data: bytes | None  # the line without its terminator; None when oversized
    head: bytes  # the first HEAD_BYTES bytes (for logging an oversized line)
    terminated: bool
    prefix: str = ""  # sha256 hex of the file's bytes [0, end), when a prefix hash was kept

    @property
    def size(self) -> int:
        return self.end - self.start


def iter_raw_lines(
    f: IO[bytes], start: int, max_line_bytes: int, prefix: _Hash | None = None
) -> Iterator[RawLine]:
    """Lines from `start` on; reads at most READ_PIECE bytes at a time. `prefix`, the hash
    of bytes [0, start), is carried on over every line read (RawLine.prefix)."""
    f.seek(start)
    pos = start
    while True:
        digest = hashlib.sha256()
        parts: list[bytes] = []
        head = b""
        size = 0
        oversized = False
        terminated = False
        while True:
            piece = f.readline(READ_PIECE)
            if not piece:
                break
            digest.update(piece)
            if prefix is not None:
                prefix.update(piece)
            size += len(piece)
            if len(head) < HEAD_BYTES:
                head += piece[: HEAD_BYTES - len(head)]
            if not oversized:
                if size > max_line_bytes + 2:  # the terminator does not count
                    oversized = True
                    parts = []
                else:
                    parts.append(piece)
            if piece.endswith(b"\n"):
                terminated = True
                break
        if size == 0:
            return
        data = None if oversized else b"".join(parts).rstrip(b"\r\n")
        done = "" if prefix is None else prefix.hexdigest()
        yield RawLine(pos, pos + size, digest.hexdigest(), data, head, terminated, done)
        pos += size
        if not terminated:
            return


def _hash_range(f: IO[bytes], start: int, end: int, digest: _Hash | None = None) -> _Hash:
    """`digest` (a new sha256 by default) updated with the file's bytes [start, end)."""
    digest = digest or hashlib.sha256()
    f.seek(start)
    left = end - start
    while left > 0:
        chunk = f.read(min(READ_PIECE, left))
        if not chunk:
            break
        digest.update(chunk)
        left -= len(chunk)
    return digest


def rewrite_reason(f: IO[bytes], st: os.stat_result, cursor: Cursor) -> str | None:
    """Why `cursor` no longer fits this file (it was rewritten), or None when it does, by
    the checks that need no more than its last line."""
    if cursor.kind != "jsonl":
        return f"cursor is for {cursor.kind}"
    if cursor.inode and st.st_ino != cursor.inode:
        return "new inode"
    if st.st_size < cursor.offset:
        return "file shorter than the cursor"
    if cursor.prefix_hash:
        return None  # the whole consumed part is checked instead (`resume`)
    if cursor.line_len <= 0 or cursor.line_len > cursor.offset:
        return "cursor without a last line"
    if _hash_range(f, cursor.offset - cursor.line_len, cursor.offset).hexdigest() != (
        cursor.line_hash
    ):
        return "last consumed line changed"
    return None


def resume(f: IO[bytes], st: os.stat_result, cursor: Cursor) -> tuple[Cursor, _Hash | None] | str:
    """Where to read on from `cursor`: the cursor (with this file's prefix hash, size and
    mtime) and the hash of the bytes before it, or None when the file did not change since
    the cursor and holds nothing after it; or why the cursor no longer fits."""
    reason = rewrite_reason(f, st, cursor)
    if reason is not None:
        return reason
    unchanged = (st.st_size, st.st_mtime_ns) == (cursor.size, cursor.mtime_ns)
    if cursor.prefix_hash and unchanged and cursor.offset == st.st_size:
        return cursor, None
    prefix = _hash_range(f, 0, cursor.offset)
    if cursor.prefix_hash and prefix.hexdigest() != cursor.prefix_hash:
        return "consumed part changed"
    fitted = replace(
        cursor, prefix_hash=prefix.hexdigest(), size=st.st_size, mtime_ns=st.st_mtime_ns
    )
    return fitted, prefix


def _complete_json(data: bytes) -> bool:
    try:
        return isinstance(jsonsafe.loads(data), dict)
    except ValueError:
        return False


def decode_line(data: bytes, stats: ReadStats, problem: ProblemLog, line: int) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        stats.invalid_utf8 += 1
        problem.note("invalid UTF-8 replaced", line, at_byte=exc.start)
        return data.decode("utf-8", "replace")


def read_jsonl(
    source: Source, cursor: Cursor | None, *, max_line_bytes: int, now: datetime | None = None
) -> Batch:
    stats = ReadStats()
    fresh = Cursor.start("jsonl")
    try:
        # discovery's checks again at the open: a FIFO swapped in since must not block
        f = open_watched(source.path, (source.path.parent,))
    except FileNotFoundError:
        stats.gone = True
        log.info("transcript gone before it was read", file=str(source.path))
        return Batch(source, False, [], cursor or fresh, stats)
    except RefusedFile as refused:
        stats.gone = True
        log.warning("transcript file skipped", file=str(source.path), reason=refused.reason)
        return Batch(source, False, [], cursor or fresh, stats)
    ctx = LineContext(
        source.agent, source.session_id, source.rel_path, "jsonl", now or datetime.now(UTC)
    )
    problem = ProblemLog("transcript line skipped", "line", file=str(source.path))
    items: list[tuple[Entry, Cursor]] = []
    with f:
        st = os.fstat(f.fileno())
        start = fresh
        prefix: _Hash | None = hashlib.sha256()
        rewritten = False
        if cursor is not None and not cursor.at_start:
            resumed = resume(f, st, cursor)
            if isinstance(resumed, tuple):
                start, prefix = resumed
            else:
                rewritten = True
                log.info(
                    "transcript rewritten, reading it again from the start",
                    file=str(source.path),
                    reason=resumed,
                )
        pos = start.offset
        if (
            prefix is not None
            and pos > 0
            and os.pread(f.fileno(), 1, pos - 1) != b"\n"
            and os.pread(f.fileno(), 1, pos) == b"\n"
        ):
            # we consumed an unterminated last line; OpenClaw's next append began with "\n"
            pos += 1
            prefix.update(b"\n")
        line_no = start.line
        end = start if not start.at_start else Cursor("jsonl", inode=st.st_ino)
        # prefix None: nothing changed and nothing is left to read
        lines = iter_raw_lines(f, pos, max_line_bytes, prefix) if prefix is not None else ()
        for raw in lines:
            if not raw.terminated and (raw.data is None or not _complete_json(raw.data)):
                stats.partial_tail += 1
                break
            line_no += 1
            stats.lines += 1
            end = Cursor(
                "jsonl",
                inode=st.st_ino,
                offset=raw.end,
                line=line_no,
                line_len=raw.size,
                line_hash=raw.digest,
                prefix_hash=raw.prefix,
                size=st.st_size,
                mtime_ns=st.st_mtime_ns,
            )
            if raw.data is None:
                stats.oversized += 1
                problem(
                    "oversized",
                    line_no,
                    bytes=raw.size,
                    starts=raw.head[:120].decode("utf-8", "replace"),
                )
                continue
            if not raw.data.strip():
                stats.add_noise("blank")
                continue
            text = decode_line(raw.data, stats, problem, line_no)
            try:
                obj = jsonsafe.loads(text)
            except ValueError as exc:
                stats.malformed += 1
                problem("not JSON", line_no, error=str(exc)[:200])
                continue
            if not isinstance(obj, dict):
                stats.malformed += 1
                problem("not a JSON object", line_no)
                continue
            result = interpret(obj, line_no, ctx)
            if result.entry is None:
                stats.add_noise(result.noise or "unknown")
                continue
            stats.kept += 1
            stats.truncated += result.truncated
            stats.future_timestamps += result.future
            items.append((result.entry, end))
    problem.close("more transcript lines skipped")
    return Batch(source, rewritten, items, end, stats)
