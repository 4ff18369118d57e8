"""Incremental reader for legacy JSONL session files (append-only, one JSON object a line).

The file is streamed line by line; a line longer than the line limit is hashed and skipped
without ever being held whole, so a multi-MB tool result costs no more memory than the limit.
A line still being written (no newline yet, not complete JSON) is left for the next read.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO

import structlog

from openclaw_infra.core import jsonsafe
from openclaw_infra.openclaw.batch import Batch, ReadStats, Source
from openclaw_infra.openclaw.cursors import Cursor
from openclaw_infra.openclaw.entries import Entry
from openclaw_infra.openclaw.lines import LineContext, interpret
from openclaw_infra.openclaw.problems import ProblemLog

READ_PIECE = 1 << 20  # bytes per readline() call
HEAD_BYTES = 4096  # kept from an oversized line to say what it was

log = structlog.get_logger("infra.reader")


@dataclass(frozen=True, slots=True)
class RawLine:
    start: int
    end: int  # offset just after the line (terminator included)
    digest: str  # sha256 hex of bytes [start, end)
    data: bytes | None  # the line without its terminator; None when oversized
    head: bytes  # the first HEAD_BYTES bytes (for logging an oversized line)
    terminated: bool

    @property
    def size(self) -> int:
        return self.end - self.start


def iter_raw_lines(f: IO[bytes], start: int, max_line_bytes: int) -> Iterator[RawLine]:
    """Lines from `start` on; reads at most READ_PIECE bytes at a time."""
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
        yield RawLine(pos, pos + size, digest.hexdigest(), data, head, terminated)
        pos += size
        if not terminated:
            return


def _hash_range(f: IO[bytes], start: int, end: int) -> str:
    digest = hashlib.sha256()
    f.seek(start)
    left = end - start
    while left > 0:
        chunk = f.read(min(READ_PIECE, left))
        if not chunk:
            break
        digest.update(chunk)
        left -= len(chunk)
    return digest.hexdigest()


def rewrite_reason(f: IO[bytes], st: os.stat_result, cursor: Cursor) -> str | None:
    """Why `cursor` no longer fits this file (it was rewritten), or None when it does."""
    if cursor.kind != "jsonl":
        return f"cursor is for {cursor.kind}"
    if cursor.inode and st.st_ino != cursor.inode:
        return "new inode"
    if st.st_size < cursor.offset:
        return "file shorter than the cursor"
    if cursor.line_len <= 0 or cursor.line_len > cursor.offset:
        return "cursor without a last line"
    if _hash_range(f, cursor.offset - cursor.line_len, cursor.offset) != cursor.line_hash:
        return "last consumed line changed"
    return None


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
        f = open(source.path, "rb")  # noqa: SIM115 - closed by the with below
    except FileNotFoundError:
        stats.gone = True
        log.info("transcript gone before it was read", file=str(source.path))
        return Batch(source, False, [], cursor or fresh, stats)
    ctx = LineContext(
        source.agent, source.session_id, source.rel_path, "jsonl", now or datetime.now(UTC)
    )
    problem = ProblemLog("transcript line skipped", "line", file=str(source.path))
    items: list[tuple[Entry, Cursor]] = []
    with f:
        st = os.fstat(f.fileno())
        start = fresh
        rewritten = False
        if cursor is not None and not cursor.at_start:
            reason = rewrite_reason(f, st, cursor)
            if reason is None:
                start = cursor
            else:
                rewritten = True
                log.info(
                    "transcript rewritten, reading it again from the start",
                    file=str(source.path),
                    reason=reason,
                )
        pos = start.offset
        if (
            pos > 0
            and os.pread(f.fileno(), 1, pos - 1) != b"\n"
            and os.pread(f.fileno(), 1, pos) == b"\n"
        ):
            # we consumed an unterminated last line; OpenClaw's next append began with "\n"
            pos += 1
        line_no = start.line
        end = start if not start.at_start else Cursor("jsonl", inode=st.st_ino)
        for raw in iter_raw_lines(f, pos, max_line_bytes):
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
