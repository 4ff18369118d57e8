"""Reader for the per-agent SQLite store of OpenClaw >= 2026.7.2 (`openclaw-agent.sqlite`).

Opened read-only (`file:…?mode=ro` URI), never written; `-wal`/`-shm` siblings are expected.
Only `transcript_events` is relied on, and its columns are detected per file:

- 2026.7.x: `session_id, seq, event_json TEXT, created_at`.
- 2026.9.x: `event_json` NULL for larger events, whose JSON is zstd-compressed in
  `event_zstd` (`event_utf8_bytes` = decoded size), plus `navigation_json`.

Session keys (to tell the user's conversations from cron/hook/sub-agent runs) come from
`session_windows` (session id → key) and `session_nodes` (key → current session, `entry_json`
= the old sessions.json row) when those tables exist.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from openclaw_infra.core import jsonsafe
from openclaw_infra.core.db import readonly_uri
from openclaw_infra.core.errors import DataError, UnavailableError
from openclaw_infra.openclaw.batch import Batch, ReadStats, Source
from openclaw_infra.openclaw.cursors import Cursor
from openclaw_infra.openclaw.entries import Entry
from openclaw_infra.openclaw.lines import LineContext, interpret, parse_timestamp
from openclaw_infra.openclaw.noise import background_kind
from openclaw_infra.openclaw.problems import ProblemLog

TABLE = "transcript_events"
BUSY_TIMEOUT_MS = 5000

log = structlog.get_logger("infra.reader")


def open_readonly(path: Path) -> sqlite3.Connection:
    """Read-only connection that never writes and creates nothing beside the store.

    `mode=ro` on a WAL database creates `-wal` and `-shm` files next to it (and leaves them)
    when OpenClaw is not running. Without a `-wal` file no writer is active, and OpenClaw's
    next writes go to a new `-wal` rather than the main file until a checkpoint, so the file
    is opened `immutable` (no locks, no side files); with one, OpenClaw is live and the
    ordinary read-only open shares its WAL index.
    """
    live = path.with_name(path.name + "-wal").exists()
    uri = readonly_uri(path, immutable=not live)
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA query_only=ON")
    except sqlite3.Error as exc:
        raise UnavailableError(
            f"cannot open OpenClaw store {path} read-only: {exc}",
            hint="check its permissions; infra never writes it",
        ) from exc
    return conn


@dataclass(frozen=True, slots=True)
class EventsSchema:
    """What this file's `transcript_events` looks like (None when it has no such table)."""

    columns: frozenset[str]

    def col(self, name: str) -> str:
        return name if name in self.columns else "NULL"


def table_names(conn: sqlite3.Connection) -> set[str]:
    return {str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def detect_schema(conn: sqlite3.Connection) -> EventsSchema | None:
    if TABLE not in table_names(conn):
        return None
    cols = frozenset(str(r[1]) for r in conn.execute(f"PRAGMA table_info({TABLE})"))
    if not {"session_id", "seq"} <= cols or not ({"event_json", "event_zstd"} & cols):
        return None
    return EventsSchema(cols)


@dataclass(frozen=True, slots=True)
class SessionInfo:
    session_id: str
    session_key: str | None
    is_user_conversation: bool
    raw_id: bytes | None = None  # the stored bytes when the id is not UTF-8


def id_param(session_id: str, raw_id: bytes | None) -> str | bytes:
    """What `session_id=CAST(? AS TEXT)` is bound to: the stored bytes of an id that is
    not UTF-8 (its `session_id` only displays it), else the id."""
    return session_id if raw_id is None else raw_id


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})")}


@contextlib.contextmanager
def _raw_text(conn: sqlite3.Connection) -> Iterator[None]:
    """TEXT columns as bytes: one value that is not UTF-8 must not fail the whole query."""
    factory = conn.text_factory
    conn.text_factory = bytes
    try:
        yield
    finally:
        conn.text_factory = factory


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return None if value is None else str(value)


def session_keys(conn: sqlite3.Connection) -> dict[str, tuple[str | None, bool]]:
    """session id → (session key, spawned by another session) from the metadata tables."""
    out: dict[str, tuple[str | None, bool]] = {}
    tables = table_names(conn)
    if "session_nodes" in tables:
        cols = _columns(conn, "session_nodes")
        if "session_key" in cols:
            select = ", ".join(
                c if c in cols else "NULL"
                for c in ("session_key", "current_session_id", "entry_json")
            )
            # column names come from the fixed tuple above, never from data
            with _raw_text(conn):
                nodes = conn.execute(f"SELECT {select} FROM session_nodes").fetchall()  # noqa: S608
            for key, current, entry_json in nodes:
                entry = _json_object(entry_json)
                sid = _text(current) or entry.get("sessionId")
                spawned = bool(entry.get("spawnedBy") or entry.get("parentSessionKey"))
                if isinstance(sid, str) and sid:
                    out[sid] = (_text(key), spawned)
    if "session_windows" in tables:
        cols = _columns(conn, "session_windows")
        if {"session_id", "session_key"} <= cols:
            spawned_col = "spawned_by" if "spawned_by" in cols else "NULL"
            with _raw_text(conn):
                windows = conn.execute(
                    f"SELECT session_id, session_key, {spawned_col} FROM session_windows"  # noqa: S608
                ).fetchall()
            for raw_sid, key, spawned_by in windows:
                sid = _text(raw_sid)
                if sid is None:
                    continue
                old = out.get(sid, (None, False))
                out[sid] = (_text(key) or old[0], bool(spawned_by) or old[1])
    return out


def _json_object(text: Any) -> dict[str, Any]:
    if not isinstance(text, str | bytes) or not text:
        return {}
    try:
        value = jsonsafe.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def list_sessions(conn: sqlite3.Connection) -> list[SessionInfo]:
    """Sessions with at least one transcript event, in id order."""
    if detect_schema(conn) is None:
        return []
    keys = session_keys(conn)
    out = []
    with _raw_text(conn):
        rows = conn.execute(
            f"SELECT DISTINCT session_id FROM {TABLE} ORDER BY session_id"  # noqa: S608
        ).fetchall()
    for (value,) in rows:
        if value is None:
            continue
        raw: bytes | None = None
        if isinstance(value, bytes):
            try:
                sid = value.decode("utf-8")
            except UnicodeDecodeError:
                # shown escaped (no lone surrogates reach a file or the store); read by bytes
                sid, raw = value.decode("utf-8", "backslashreplace"), value
                log.warning("session_id_not_utf8", session=sid[:80])
        else:
            sid = str(value)
        key, spawned = keys.get(sid, (None, False))
        kind = background_kind(key, sid, "spawned" if spawned else None)
        out.append(SessionInfo(sid, key, kind is None, raw))
    return out


class _Decoder:
    """zstd frames → bytes, capped; `zstandard` is imported only when a frame shows up."""

    def __init__(self) -> None:
        self._dctx: Any = None

    def decompress(self, blob: bytes, limit: int) -> bytes | None:
        """The decoded bytes, or None when they exceed `limit`."""
        if self._dctx is None:
            try:
                import zstandard
            except ImportError as exc:  # a declared dependency; missing means a broken install
                raise UnavailableError(
                    "the zstandard package is needed to read compressed OpenClaw events",
                    hint="reinstall openclaw-infra (pip install zstandard)",
                ) from exc
            self._dctx = zstandard.ZstdDecompressor()
        with self._dctx.stream_reader(io.BytesIO(blob)) as reader:
            data = reader.read(limit + 1)
            if len(data) > limit:
                return None
            # stream_reader may return short reads; keep reading up to the limit
            chunks = [data]
            total = len(data)
            while True:
                more = reader.read(limit + 1 - total)
                if not more:
                    break
                chunks.append(more)
                total += len(more)
                if total > limit:
                    return None
        return b"".join(chunks)


def _payload_hash(event_json: Any, event_zstd: Any) -> str:
    """sha256 of what is stored for one event (text or compressed frame): cheap to verify."""
    digest = hashlib.sha256()
    if isinstance(event_json, str):
        digest.update(b"j")
        digest.update(event_json.encode("utf-8", "surrogatepass"))
    elif isinstance(event_json, bytes):
        digest.update(b"j")
        digest.update(event_json)
    elif isinstance(event_zstd, bytes):
        digest.update(b"z")
        digest.update(event_zstd)
    return digest.hexdigest()


def _rewrite_reason(
    conn: sqlite3.Connection, schema: EventsSchema, session_id: str | bytes, cursor: Cursor
) -> str | None:
    if cursor.kind != "sqlite":
        return f"cursor is for {cursor.kind}"
    if cursor.seq is None:
        return "cursor without a seq"
    row = conn.execute(
        f"SELECT {schema.col('event_json')}, {schema.col('event_zstd')} FROM {TABLE} "  # noqa: S608
        "WHERE session_id=CAST(? AS TEXT) AND seq=?",
        (session_id, cursor.seq),
    ).fetchone()
    if row is None:
        return "last consumed event is gone"
    if _payload_hash(row[0], row[1]) != cursor.line_hash:
        return "last consumed event changed"
    count = conn.execute(
        f"SELECT count(*) FROM {TABLE} WHERE session_id=CAST(? AS TEXT) AND seq<=?",  # noqa: S608
        (session_id, cursor.seq),
    ).fetchone()[0]
    if int(count) != cursor.line:
        return "events before the cursor changed"
    return None


@dataclass(slots=True)
class _Payloads:
    """Turns a row's stored payload into the event's JSON text, counting what goes wrong."""

    limit: int
    stats: ReadStats
    problem: ProblemLog
    decoder: _Decoder

    def text(self, seq: int, event_json: Any, event_zstd: Any, utf8_bytes: Any) -> str | None:
        """The event's JSON text, or None (counted and logged) when it cannot be had."""
        raw: bytes | None
        if isinstance(event_json, str):
            raw = event_json.encode("utf-8", "surrogatepass")
        elif isinstance(event_json, bytes):
            raw = event_json
        elif isinstance(event_zstd, bytes):
            if isinstance(utf8_bytes, int) and utf8_bytes > self.limit:
                self._oversized(seq, utf8_bytes)
                return None
            try:
                raw = self.decoder.decompress(event_zstd, self.limit)
            except UnavailableError:
                raise
            except Exception as exc:  # zstandard.ZstdError and friends: a corrupt frame
                self.stats.malformed += 1
                self.problem(
                    "zstd frame unreadable", seq, error=f"{type(exc).__name__}: {exc}"[:200]
                )
                return None
            if raw is None:
                self._oversized(seq, f">{self.limit}")
                return None
        else:
            self.stats.malformed += 1
            self.problem("event has neither event_json nor event_zstd", seq)
            return None
        if len(raw) > self.limit:
            self._oversized(seq, len(raw))
            return None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.stats.invalid_utf8 += 1
            self.problem("invalid UTF-8 replaced", seq, at_byte=exc.start)
            return raw.decode("utf-8", "replace")

    def _oversized(self, seq: int, size: object) -> None:
        self.stats.oversized += 1
        self.problem("oversized", seq, bytes=size)


def read_sqlite(
    source: Source, cursor: Cursor | None, *, max_line_bytes: int, now: datetime | None = None
) -> Batch:
    stats = ReadStats()
    fresh = Cursor.start("sqlite")
    if not source.path.exists():
        stats.gone = True
        return Batch(source, False, [], cursor or fresh, stats)
    conn = open_readonly(source.path)
    sid = id_param(source.session_id, source.raw_id)
    items: list[tuple[Entry, Cursor]] = []
    problem = ProblemLog(
        "transcript event problem", "seq", file=str(source.path), session=source.session_id
    )
    try:
        conn.execute("BEGIN")  # one snapshot for the cursor check and the read
        schema = detect_schema(conn)
        if schema is None:
            stats.gone = True
            return Batch(source, False, [], cursor or fresh, stats)
        # event text as bytes from here on: invalid UTF-8 in one row must not fail the query
        conn.text_factory = bytes
        start = fresh
        rewritten = False
        if cursor is not None and not cursor.at_start:
            reason = _rewrite_reason(conn, schema, sid, cursor)
            if reason is None:
                start = cursor
            else:
                rewritten = True
                log.info(
                    "transcript rewritten, reading it again from the start",
                    file=str(source.path),
                    session=source.session_id,
                    reason=reason,
                )
        ctx = LineContext(
            source.agent, source.session_id, source.rel_path, "sqlite", now or datetime.now(UTC)
        )
        payloads = _Payloads(max_line_bytes, stats, problem, _Decoder())
        end = start
        count = start.line
        after = start.seq
        # only detected column names (or NULL) are formatted in; values are parameters
        sql = (
            f"SELECT seq, {schema.col('event_json')}, {schema.col('event_zstd')}, "  # noqa: S608
            f"{schema.col('event_utf8_bytes')}, {schema.col('created_at')} FROM {TABLE} "
            "WHERE session_id=CAST(? AS TEXT)"
            + ("" if after is None else " AND seq>?")
            + " ORDER BY seq"
        )
        params: tuple[Any, ...] = (sid,) if after is None else (sid, after)
        for row_seq, event_json, event_zstd, utf8_bytes, created_at in conn.execute(sql, params):
            count += 1
            stats.lines += 1
            try:
                seq = int(row_seq)
            except (TypeError, ValueError):  # a seq that is not a number: skip, count, go on
                stats.malformed += 1
                problem("seq is not an integer", count, value=str(row_seq)[:40])
                continue
            end = Cursor(
                "sqlite", line=count, seq=seq, line_hash=_payload_hash(event_json, event_zstd)
            )
            text = payloads.text(seq, event_json, event_zstd, utf8_bytes)
            if text is None:
                continue
            try:
                obj = jsonsafe.loads(text)
            except ValueError as exc:
                stats.malformed += 1
                problem("not JSON", seq, error=str(exc)[:200])
                continue
            if not isinstance(obj, dict):
                stats.malformed += 1
                problem("not a JSON object", seq)
                continue
            result = interpret(obj, seq, ctx, parse_timestamp(created_at))
            if result.entry is None:
                stats.add_noise(result.noise or "unknown")
                continue
            stats.kept += 1
            stats.truncated += result.truncated
            stats.future_timestamps += result.future
            items.append((result.entry, end))
    except sqlite3.DatabaseError as exc:
        if "malformed" in str(exc) or "not a database" in str(exc):
            raise DataError(f"{source.path}: OpenClaw store unreadable ({exc})") from exc
        raise UnavailableError(
            f"cannot read {source.path}: {exc}", hint="OpenClaw may hold it exclusively; try again"
        ) from exc
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.close()
    problem.close("more transcript events skipped")
    return Batch(source, rewritten, items, end, stats)
