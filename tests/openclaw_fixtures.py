"""Builders for OpenClaw transcripts in the documented formats (../shared/docs/OPENCLAW.md).

Tests of every consumer (reader, index, summarize, daily) import these to write real files:
JSONL session files with `sessions.json`, and a real `openclaw-agent.sqlite` with
`transcript_events` in the 2026.7.2 schema or the 2026.9.6 one (nullable `event_json`,
zstd-compressed `event_zstd`, `session_windows`, `session_nodes`, user_version 23).

A turn is one of:
- `(role, text)` or `(role, text, ts)`; `ts` a datetime, an ISO string or None (= `start`
  plus one minute per turn). Roles: "user", "assistant", "compaction" (summary text),
  "tool" (a toolResult with this text), "toolCall" (an assistant message with only a tool
  call, plus thinking), "thinking" (assistant: a thinking block, then this text), "custom"
  (a `custom` entry), "nested_tool" (2026.9.6 `role: "custom"` nested-tool record),
  "model_change", "custom_message", "branch_summary".
- a dict: written as the line object as it is;
- bytes or str: written as the raw line (malformed JSON, invalid UTF-8…), no newline needed.

    path = write_jsonl_session(state, "main", "s1", [("user", "hi"), ("assistant", "hello")])
    db = write_sqlite_sessions(state, "main", {"s2": [("user", "hi")]},
                               keys={"s2": "agent:main:telegram:dm:42"})
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BASE_TS = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SCHEMA_OLD = "2026.7.2"
SCHEMA_NEW = "2026.9.6"

Turn = tuple[Any, ...] | dict[str, Any] | bytes | str


# --- single lines --------------------------------------------------------------------------


def iso(ts: datetime) -> str:
    """OpenClaw's ISO form: UTC with milliseconds and `Z`."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def epoch_ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def entry_id(session_id: str, index: int, *, uuid_ids: bool = False) -> str:
    """Deterministic ids: 8 hex characters (up to 2026.8), or a UUID (2026.9)."""
    if uuid_ids:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"openclaw:{session_id}:{index}"))
    return hashlib.sha1(f"{session_id}:{index}".encode()).hexdigest()[:8]


def header_line(
    session_id: str,
    *,
    version: int | None = 3,
    ts: datetime = BASE_TS,
    cwd: str = "/Users/me/.openclaw/workspace",
) -> dict[str, Any]:
    """The `session` header; `version=None` writes a v1 header (no `version` key)."""
    line: dict[str, Any] = {"type": "session"}
    if version is not None:
        line["version"] = version
    line.update({"id": session_id, "timestamp": iso(ts), "cwd": cwd})
    return line


def message_line(
    role: str,
    text: str,
    ts: datetime | None = BASE_TS,
    *,
    id: str | None = None,
    parent_id: str | None = None,
    string_content: bool = False,
    line_ts: bool = True,
    msg_ts: bool = True,
) -> dict[str, Any]:
    """A `message` line. `line_ts`/`msg_ts` False drop the ISO line timestamp or the epoch-ms
    message timestamp (old files miss one of them); `string_content` writes `content` as a
    plain string instead of text blocks."""
    content: Any = text if string_content else [{"type": "text", "text": text}]
    msg: dict[str, Any] = {"role": role, "content": content}
    if role == "assistant":
        msg.update(
            {
                "api": "openai-completions",
                "provider": "custom",
                "model": "fake-1",
                "usage": {
                    "input": 120,
                    "output": 30,
                    "cacheRead": 0,
                    "cacheWrite": 0,
                    "totalTokens": 150,
                    "cost": {"total": 0.0012},
                },
                "stopReason": "stop",
            }
        )
    if msg_ts and ts is not None:
        msg["timestamp"] = epoch_ms(ts)
    line: dict[str, Any] = {"type": "message"}
    if id is not None:
        line["id"] = id
    if id is not None or parent_id is not None:
        line["parentId"] = parent_id
    if line_ts and ts is not None:
        line["timestamp"] = iso(ts)
    line["message"] = msg
    return line


def turn_line(
    role: str,
    text: str,
    ts: datetime,
    *,
    id: str | None,
    parent_id: str | None,
    string_content: bool = False,
) -> dict[str, Any]:
    """The line object for one `(role, text, ts)` turn."""
    base = (
        {"id": id, "parentId": parent_id, "timestamp": iso(ts)}
        if id is not None
        else {"timestamp": iso(ts)}
    )
    if role in ("user", "assistant"):
        return message_line(
            role, text, ts, id=id, parent_id=parent_id, string_content=string_content
        )
    if role == "thinking":
        line = message_line("assistant", text, ts, id=id, parent_id=parent_id)
        line["message"]["content"].insert(0, {"type": "thinking", "thinking": "Let me think."})
        return line
    if role == "toolCall":
        line = message_line("assistant", "", ts, id=id, parent_id=parent_id)
        line["message"]["content"] = [
            {"type": "thinking", "thinking": "I should look this up."},
            {
                "type": "toolCall",
                "id": "call_1",
                "name": "memory_search",
                "arguments": {"query": text},
            },
        ]
        line["message"]["stopReason"] = "toolUse"
        return line
    if role == "tool":
        return {
            "type": "message",
            **base,
            "message": {
                "role": "toolResult",
                "toolCallId": "call_1",
                "toolName": "memory_search",
                "content": [{"type": "text", "text": text}],
                "isError": False,
                "timestamp": epoch_ms(ts),
            },
        }
    if role == "nested_tool":
        return {
            "type": "message",
            **base,
            "message": {
                "role": "custom",
                "customType": "openclaw.nested-tool.v1",
                "content": [{"type": "text", "text": text}],
                "details": {"tool": "memory_search", "input": {"query": "q"}, "result": text},
                "display": False,
                "timestamp": epoch_ms(ts),
            },
        }
    if role == "compaction":
        return {
            "type": "compaction",
            **base,
            "summary": text,
            "firstKeptEntryId": parent_id or "",
            "tokensBefore": 48_000,
        }
    if role == "custom":
        return {
            "type": "custom",
            **base,
            "customType": "openclaw.cache-ttl",
            "data": {"note": text},
        }
    if role == "custom_message":
        return {
            "type": "custom_message",
            **base,
            "customType": "openclaw:bootstrap-context:full",
            "content": text,
            "display": False,
        }
    if role == "model_change":
        return {"type": "model_change", **base, "provider": "custom", "modelId": text}
    if role == "branch_summary":
        return {"type": "branch_summary", **base, "fromId": parent_id or "", "summary": text}
    raise ValueError(f"unknown fixture role {role!r}")


def build_lines(
    session_id: str,
    turns: Iterable[Turn],
    *,
    start: datetime = BASE_TS,
    uuid_ids: bool = False,
    string_content: bool = False,
    first_index: int = 0,
    parent_id: str | None = None,
    with_ids: bool = True,
) -> list[dict[str, Any] | bytes]:
    """Line objects (or raw bytes) for `turns`, chained by id/parentId."""
    out: list[dict[str, Any] | bytes] = []
    parent = parent_id
    for offset, turn in enumerate(turns):
        index = first_index + offset
        if isinstance(turn, bytes):
            out.append(turn)
            continue
        if isinstance(turn, str):
            out.append(turn.encode("utf-8", "surrogatepass"))
            continue
        if isinstance(turn, dict):
            out.append(turn)
            continue
        role, text = turn[0], turn[1]
        ts = turn[2] if len(turn) > 2 else None
        if ts is None:
            ts = start + timedelta(minutes=index)
        elif isinstance(ts, str):
            ts = datetime.fromisoformat(ts.replace("Z", "+00:00"))
        line_id = entry_id(session_id, index, uuid_ids=uuid_ids) if with_ids else None
        out.append(
            turn_line(role, text, ts, id=line_id, parent_id=parent, string_content=string_content)
        )
        parent = line_id
    return out


def encode_line(line: dict[str, Any] | bytes) -> bytes:
    if isinstance(line, bytes):
        return line
    return json.dumps(line, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# --- JSONL container -----------------------------------------------------------------------


def sessions_dir(state: Path, agent: str) -> Path:
    return state / "agents" / agent / "sessions"


def write_jsonl_session(
    state: Path,
    agent: str,
    session_id: str,
    turns: Sequence[Turn] = (),
    *,
    version: int | None = 3,
    header: bool = True,
    key: str | None = None,
    uuid_ids: bool = False,
    start: datetime = BASE_TS,
    string_content: bool = False,
    trailing_newline: bool = True,
    file_name: str | None = None,
    with_ids: bool | None = None,
) -> Path:
    """Write `<state>/agents/<agent>/sessions/<session_id>.jsonl` (replacing it) and, with
    `key`, register it in `sessions.json`. `version=None` writes a v1 file: header without
    `version` and lines without ids."""
    folder = sessions_dir(state, agent)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (file_name or f"{session_id}.jsonl")
    lines: list[dict[str, Any] | bytes] = []
    if header:
        lines.append(header_line(session_id, version=version, ts=start))
    lines += build_lines(
        session_id,
        turns,
        start=start,
        uuid_ids=uuid_ids,
        string_content=string_content,
        with_ids=(version is not None) if with_ids is None else with_ids,
    )
    data = b"\n".join(encode_line(line) for line in lines)
    if lines and trailing_newline:
        data += b"\n"
    path.write_bytes(data)
    if key is not None:
        write_sessions_json(state, agent, {key: session_id})
    return path


def append_jsonl(
    path: Path,
    turns: Sequence[Turn],
    *,
    start: datetime | None = None,
    uuid_ids: bool = False,
    first_index: int | None = None,
) -> None:
    """Append turns the way OpenClaw does (one line + newline each), continuing the ids."""
    existing = path.read_bytes().splitlines() if path.exists() else []
    index = len(existing) if first_index is None else first_index
    parent = None
    for raw in reversed(existing):
        try:
            parent = json.loads(raw).get("id")
        except (ValueError, AttributeError, RecursionError):
            continue
        if parent:
            break
    session_id = path.stem
    lines = build_lines(
        session_id,
        turns,
        start=start or BASE_TS + timedelta(hours=1),
        uuid_ids=uuid_ids,
        first_index=index,
        parent_id=parent,
    )
    with path.open("ab") as f:
        for line in lines:
            f.write(encode_line(line) + b"\n")


def write_sessions_json(
    state: Path, agent: str, mapping: Mapping[str, str | Mapping[str, Any]]
) -> Path:
    """Merge `{sessionKey: sessionId | entry}` into `sessions/sessions.json`."""
    folder = sessions_dir(state, agent)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "sessions.json"
    data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    for key, value in mapping.items():
        if isinstance(value, str):
            entry: dict[str, Any] = {
                "sessionId": value,
                "updatedAt": epoch_ms(BASE_TS),
                "chatType": "direct",
            }
            if ":telegram:" in key:
                entry.update({"lastChannel": "telegram", "lastTo": "telegram:42"})
        else:
            entry = dict(value)
        data[key] = entry
    path.write_text(json.dumps(data, indent=2))
    return path


# --- SQLite container ----------------------------------------------------------------------


def sqlite_path(state: Path, agent: str) -> Path:
    return state / "agents" / agent / "agent" / "openclaw-agent.sqlite"


_OLD_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT)",
    """CREATE TABLE IF NOT EXISTS transcript_events (
        session_id TEXT NOT NULL, seq INTEGER NOT NULL, event_json TEXT NOT NULL,
        created_at INTEGER NOT NULL, PRIMARY KEY (session_id, seq))""",
)
_NEW_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS schema_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS transcript_events (
        session_id TEXT NOT NULL, seq INTEGER NOT NULL, event_json TEXT,
        created_at INTEGER NOT NULL, event_zstd BLOB, event_utf8_bytes INTEGER,
        navigation_json TEXT, PRIMARY KEY (session_id, seq)) STRICT""",
    """CREATE TABLE IF NOT EXISTS transcript_event_identities (
        session_id TEXT NOT NULL, event_id TEXT NOT NULL, seq INTEGER NOT NULL,
        event_type TEXT, parent_id TEXT, created_at INTEGER NOT NULL,
        PRIMARY KEY (session_id, event_id)) STRICT""",
    """CREATE TABLE IF NOT EXISTS session_windows (
        session_id TEXT NOT NULL PRIMARY KEY, session_key TEXT NOT NULL, reason TEXT,
        chat_type TEXT, channel TEXT, model TEXT, spawned_by TEXT,
        created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL) STRICT""",
    """CREATE TABLE IF NOT EXISTS session_nodes (
        session_key TEXT NOT NULL PRIMARY KEY, current_session_id TEXT, entry_json TEXT,
        updated_at INTEGER NOT NULL) STRICT""",
)


def create_store(
    state: Path, agent: str, *, schema: str = SCHEMA_NEW, transcripts: bool = True
) -> Path:
    """An empty `openclaw-agent.sqlite` in WAL mode. `transcripts=False` makes the file as
    OpenClaw < 2026.7.2 had it: other state, no `transcript_events`."""
    path = sqlite_path(state, agent)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        if not transcripts:
            conn.execute("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT)")
            conn.execute("CREATE TABLE IF NOT EXISTS auth_profiles (id TEXT PRIMARY KEY)")
        else:
            for stmt in _NEW_SCHEMA if schema == SCHEMA_NEW else _OLD_SCHEMA:
                conn.execute(stmt)
            if schema == SCHEMA_NEW:
                conn.execute("INSERT OR REPLACE INTO schema_meta VALUES ('schema_version', '23')")
                conn.execute("PRAGMA user_version=23")
        conn.commit()
    finally:
        conn.close()
    return path


def _has_zstd(conn: sqlite3.Connection) -> bool:
    return any(r[1] == "event_zstd" for r in conn.execute("PRAGMA table_info(transcript_events)"))


def insert_events(
    conn: sqlite3.Connection,
    session_id: str,
    lines: Sequence[dict[str, Any] | bytes],
    *,
    first_seq: int,
    created: Sequence[int],
    compress_over: int | None = 1024,
    zstd_content_size: bool = True,
) -> None:
    """Insert lines as events `first_seq…`; in the new schema, lines longer than
    `compress_over` bytes go zstd-compressed into `event_zstd` with `event_json` NULL."""
    new = _has_zstd(conn)
    compressor = None
    for i, line in enumerate(lines):
        data = encode_line(line)
        seq = first_seq + i
        if new and compress_over is not None and len(data) > compress_over:
            if compressor is None:
                import zstandard

                compressor = zstandard.ZstdCompressor(write_content_size=zstd_content_size)
            conn.execute(
                "INSERT INTO transcript_events (session_id, seq, event_json, created_at, "
                "event_zstd, event_utf8_bytes) VALUES (?,?,NULL,?,?,?)",
                (session_id, seq, created[i], compressor.compress(data), len(data)),
            )
        else:
            # invalid UTF-8 goes in as a BLOB cast to TEXT: SQLite stores the bytes unchecked
            value: str | bytes
            try:
                value = data.decode("utf-8")
            except UnicodeDecodeError:
                value = data
            if new:
                conn.execute(
                    "INSERT INTO transcript_events (session_id, seq, event_json, created_at, "
                    "event_utf8_bytes) VALUES (?,?,CAST(? AS TEXT),?,?)",
                    (session_id, seq, value, created[i], len(data)),
                )
            else:
                conn.execute(
                    "INSERT INTO transcript_events VALUES (?,?,CAST(? AS TEXT),?)",
                    (session_id, seq, value, created[i]),
                )


def _created_ms(lines: Sequence[dict[str, Any] | bytes], start: datetime) -> list[int]:
    out = []
    fallback = epoch_ms(start)
    for line in lines:
        ts = None
        if isinstance(line, dict) and isinstance(line.get("timestamp"), str):
            try:
                ts = epoch_ms(datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00")))
            except ValueError:
                ts = None
        fallback = ts if ts is not None else fallback
        out.append(fallback)
    return out


def write_sqlite_sessions(
    state: Path,
    agent: str,
    sessions: Mapping[str, Sequence[Turn]],
    *,
    schema: str = SCHEMA_NEW,
    keys: Mapping[str, str] | None = None,
    compress_over: int | None = 1024,
    start: datetime = BASE_TS,
    version: int | None = None,
    uuid_ids: bool | None = None,
    header: bool = True,
    first_seq: int = 1,
    spawned_by: Mapping[str, str] | None = None,
    zstd_content_size: bool = True,
) -> Path:
    """Write sessions into the agent's store (created if missing), one header plus `turns`
    per session. New schema defaults: `"version": 4` headers, UUID ids, events over
    `compress_over` bytes zstd-compressed, `session_windows` and `session_nodes` rows for
    every session in `keys` (session id → session key)."""
    new = schema == SCHEMA_NEW
    path = sqlite_path(state, agent)
    if not path.exists():
        create_store(state, agent, schema=schema)
    version = (4 if new else 3) if version is None else version
    uuid_ids = new if uuid_ids is None else uuid_ids
    conn = sqlite3.connect(path)
    try:
        for session_id, turns in sessions.items():
            lines: list[dict[str, Any] | bytes] = []
            if header:
                lines.append(header_line(session_id, version=version, ts=start))
            lines += build_lines(session_id, turns, start=start, uuid_ids=uuid_ids)
            insert_events(
                conn,
                session_id,
                lines,
                first_seq=first_seq,
                created=_created_ms(lines, start),
                compress_over=compress_over,
                zstd_content_size=zstd_content_size,
            )
        if new:
            for session_id, key in (keys or {}).items():
                set_session_key(
                    conn, session_id, key, spawned_by=(spawned_by or {}).get(session_id)
                )
        conn.commit()
    finally:
        conn.close()
    return path


def set_session_key(
    conn: sqlite3.Connection, session_id: str, key: str, *, spawned_by: str | None = None
) -> None:
    """`session_windows` and `session_nodes` rows for one session (2026.9.6 schema)."""
    now = epoch_ms(BASE_TS)
    chat_type = "group" if ":group:" in key else "direct"
    conn.execute(
        "INSERT OR REPLACE INTO session_windows (session_id, session_key, reason, chat_type, "
        "channel, model, spawned_by, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
        (
            session_id,
            key,
            "new",
            chat_type,
            key.split(":")[2] if key.count(":") >= 2 else None,
            "custom/fake-1",
            spawned_by,
            now,
            now,
        ),
    )
    entry: dict[str, Any] = {"sessionId": session_id, "updatedAt": now, "chatType": chat_type}
    if spawned_by:
        entry["spawnedBy"] = spawned_by
    conn.execute(
        "INSERT OR REPLACE INTO session_nodes (session_key, current_session_id, entry_json, "
        "updated_at) VALUES (?,?,?,?)",
        (key, session_id, json.dumps(entry), now),
    )


def append_sqlite_events(
    state: Path,
    agent: str,
    session_id: str,
    turns: Sequence[Turn],
    *,
    start: datetime | None = None,
    compress_over: int | None = 1024,
    uuid_ids: bool | None = None,
) -> None:
    """Append turns to a session in the store, continuing its seq and ids."""
    path = sqlite_path(state, agent)
    conn = sqlite3.connect(path)
    try:
        new = _has_zstd(conn)
        row = conn.execute(
            "SELECT max(seq), count(*) FROM transcript_events WHERE session_id=?", (session_id,)
        ).fetchone()
        next_seq = (row[0] if row[0] is not None else 0) + 1
        lines = build_lines(
            session_id,
            turns,
            start=start or BASE_TS + timedelta(hours=1),
            uuid_ids=new if uuid_ids is None else uuid_ids,
            first_index=int(row[1]),
        )
        insert_events(
            conn,
            session_id,
            lines,
            first_seq=next_seq,
            created=_created_ms(lines, start or BASE_TS + timedelta(hours=1)),
            compress_over=compress_over,
        )
        conn.commit()
    finally:
        conn.close()


def state_with_both_containers(state: Path, agent: str = "main") -> dict[str, Path]:
    """A small realistic home: one JSONL session from before the upgrade, two SQLite
    sessions after it (one compressed), one cron session, noise sprinkled in."""
    jsonl = write_jsonl_session(
        state,
        agent,
        "old-session",
        [
            ("user", "Before the upgrade I planted tomatoes on the balcony."),
            ("assistant", "Noted: tomatoes on the balcony."),
            ("user", "Read HEARTBEAT.md if it exists (workspace context). Follow it strictly."),
            ("assistant", "HEARTBEAT_OK"),
        ],
        key=f"agent:{agent}:main",
    )
    db = write_sqlite_sessions(
        state,
        agent,
        {
            "new-session": [
                ("user", "After the upgrade: my sister Mia moves to Lisbon in May."),
                ("toolCall", "Mia Lisbon"),
                ("tool", "no memory found " * 200),
                ("assistant", "Got it, Mia moves to Lisbon in May."),
            ],
            "cron-session": [
                ("user", "[cron:daily-digest] Write the digest."),
                ("assistant", "Digest written."),
            ],
        },
        keys={
            "new-session": f"agent:{agent}:telegram:dm:42",
            "cron-session": f"agent:{agent}:cron:daily-digest",
        },
    )
    return {"jsonl": jsonl, "sqlite": db}
