"""Hostile transcript input: one line nested thousands deep, or an event whose seq is text,
is one malformed line, skipped and counted; every good line around it is still read."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from openclaw_infra.core import jsonsafe
from openclaw_infra.openclaw.checks import probe_store
from openclaw_infra.openclaw.reader import discover_sources, read_all

from conftest import OpenClawHome
from openclaw_fixtures import (
    SCHEMA_NEW,
    SCHEMA_OLD,
    append_jsonl,
    write_jsonl_session,
    write_sqlite_sessions,
)

DEEP = 5000  # far past CPython's recursion limit


def _deep_line(depth: int) -> bytes:
    inner = b"[" * depth + b"]" * depth
    return b'{"type":"message","id":"deep","message":{"role":"user","content":' + inner + b"}}"


def test_bounded_decode_refuses_depth_not_size() -> None:
    """Deep nesting is refused as a ValueError; wide or bracket-heavy strings are not."""
    with pytest.raises(ValueError, match="nested deeper"):
        jsonsafe.loads(_deep_line(DEEP))
    with pytest.raises(ValueError):
        jsonsafe.loads("[" * 200 + "]" * 200)
    wide = json.dumps({"items": [{"k": [i]} for i in range(5000)], "s": "[[[[{{{{" * 100})
    assert len(jsonsafe.loads(wide)["items"]) == 5000
    assert jsonsafe.loads(b'{"a": "\\"[[["}') == {"a": '"[[['}
    assert jsonsafe.loads("[" * 100 + "]" * 100) is not None


def test_jsonl_deep_line_is_skipped_and_counted(oc_home: OpenClawHome) -> None:
    path = write_jsonl_session(oc_home.state, "main", "s1", [("user", "before the bomb")])
    with path.open("ab") as fh:
        fh.write(_deep_line(DEEP) + b"\n")
    append_jsonl(path, [("assistant", "after the bomb")])
    (source,) = discover_sources(oc_home.settings())
    batch = read_all(oc_home.settings(), source)
    assert [e.text for e in batch.entries] == ["before the bomb", "after the bomb"]
    assert batch.stats.malformed == 1


@pytest.mark.parametrize("schema", [SCHEMA_OLD, SCHEMA_NEW])
def test_sqlite_deep_event_is_skipped(oc_home: OpenClawHome, schema: str) -> None:
    db = write_sqlite_sessions(
        oc_home.state, "main", {"s1": [("user", "first"), ("assistant", "second")]}, schema=schema
    )
    _insert(db, 100, _deep_line(DEEP).decode())
    _insert(db, 101, _event("third"))
    (source,) = discover_sources(oc_home.settings())
    batch = read_all(oc_home.settings(), source)
    assert [e.text for e in batch.entries] == ["first", "second", "third"]
    assert batch.stats.malformed == 1


def test_sqlite_text_seq_is_skipped(oc_home: OpenClawHome) -> None:
    """The 2026.7 table is not STRICT, so a seq can hold text."""
    db = write_sqlite_sessions(
        oc_home.state, "main", {"s1": [("user", "first")]}, schema=SCHEMA_OLD
    )
    _insert(db, "not-a-number", _event("lost in a bad row"))
    (source,) = discover_sources(oc_home.settings())
    batch = read_all(oc_home.settings(), source)
    assert [e.text for e in batch.entries] == ["first"]
    assert batch.stats.malformed == 1


def _event(text: str) -> str:
    message = {"role": "user", "content": text}
    return json.dumps({"type": "message", "id": f"id-{text[:5]}", "message": message})


def _insert(db: Path, seq: int | str, event: str) -> None:
    conn = sqlite3.connect(db)
    cols = [r[1] for r in conn.execute("PRAGMA table_info(transcript_events)")]
    if "event_utf8_bytes" in cols:
        conn.execute(
            "INSERT INTO transcript_events (session_id, seq, event_json, created_at, "
            "event_utf8_bytes) VALUES ('s1', ?, ?, 0, ?)",
            (seq, event, len(event)),
        )
    else:
        conn.execute("INSERT INTO transcript_events VALUES ('s1', ?, ?, 0)", (seq, event))
    conn.commit()
    conn.close()


def test_reading_a_wal_store_creates_nothing_beside_it(oc_home: OpenClawHome) -> None:
    """OpenClaw's directory is not infra's: no -wal/-shm left by a read (or a health probe)."""
    db = write_sqlite_sessions(oc_home.state, "main", {"s1": [("user", "first")]})
    before = sorted(p.name for p in db.parent.iterdir())
    assert not any(n.endswith(("-wal", "-shm")) for n in before)
    (source,) = discover_sources(oc_home.settings())
    assert [e.text for e in read_all(oc_home.settings(), source).entries] == ["first"]
    assert probe_store(db)[0] == 1
    assert sorted(p.name for p in db.parent.iterdir()) == before
