"""Hostile transcript input: one line nested thousands deep, or an event whose seq is text,
is one malformed line, skipped and counted; every good line around it is still read."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from openclaw_infra.core import jsonsafe
from openclaw_infra.openclaw.checks import probe_store
from openclaw_infra.openclaw.paths import is_transcript_file, load_sessions_json
from openclaw_infra.openclaw.reader import discover_sources, read_all
from openclaw_infra.openclaw.timezone import detect_timezone, host_timezone

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


def test_a_session_id_that_is_not_utf8_is_read_too(oc_home: OpenClawHome) -> None:
    """An id that is not UTF-8 fails no query: it is shown escaped, its events are read by
    its stored bytes, and the store's other sessions are read as before."""
    db = write_sqlite_sessions(
        oc_home.state, "main", {"s1": [("user", "first")]}, schema=SCHEMA_OLD
    )
    conn = sqlite3.connect(db)
    conn.execute(
        "INSERT INTO transcript_events VALUES (CAST(x'73ff' AS TEXT), 1, ?, 0)", (_event("bad"),)
    )
    conn.commit()
    conn.close()
    sources = discover_sources(oc_home.settings())
    assert [s.key for s in sources] == ["sqlite:main:s1", "sqlite:main:s\\xff"]
    texts = [[e.text for e in read_all(oc_home.settings(), s).entries] for s in sources]
    assert texts == [["first"], ["bad"]]


@pytest.mark.timeout(30)
def test_sessions_json_nested_or_a_fifo_is_ignored(oc_home: OpenClawHome) -> None:
    """`sessions.json` only names sessions: nested past the bound, or a FIFO that would block
    a plain read, it is treated as absent and the transcripts are still found."""
    path = write_jsonl_session(oc_home.state, "main", "s1", [("user", "still here")])
    index = path.parent / "sessions.json"
    index.write_bytes(b'{"k": ' + b"[" * DEEP + b"]" * DEEP + b"}")
    assert load_sessions_json(oc_home.settings(), "main") == {}
    index.unlink()
    os.mkfifo(index)
    assert load_sessions_json(oc_home.settings(), "main") == {}
    (source,) = discover_sources(oc_home.settings())
    assert [e.text for e in read_all(oc_home.settings(), source).entries] == ["still here"]


@pytest.mark.timeout(30)
def test_openclaw_json_that_is_a_fifo_does_not_hang_the_timezone(tmp_path: Path) -> None:
    """openclaw.json is read at every start: a FIFO there falls back to the host's zone."""
    os.mkfifo(tmp_path / "openclaw.json")
    assert detect_timezone(tmp_path) == host_timezone()
    (tmp_path / "openclaw.json").unlink()
    (tmp_path / "openclaw.json").write_text(
        '{"agents": {"defaults": {"userTimezone": "Europe/Lisbon"}}, "x": '
        + "[" * DEEP
        + "]" * DEEP
        + "}"
    )
    assert detect_timezone(tmp_path) in {"Europe/Lisbon", host_timezone()}


def test_long_ids_sharing_a_prefix_stay_two_entries(oc_home: OpenClawHome) -> None:
    """Ids are bounded for the files infra writes, but never by cutting them into one."""
    path = write_jsonl_session(oc_home.state, "main", "s1", [])
    with path.open("ab") as fh:
        for n in (1, 2):
            line = {
                "type": "message",
                "id": "/" * 220 + f"-{n}",
                "message": {"role": "user", "content": f"turn {n}"},
            }
            fh.write(json.dumps(line).encode() + b"\n")
    (source,) = discover_sources(oc_home.settings())
    entries = read_all(oc_home.settings(), source).entries
    assert [e.text for e in entries] == ["turn 1", "turn 2"]
    ids = {e.entry_id for e in entries}
    assert len(ids) == 2 and all(len(i) <= 200 for i in ids)


def test_side_files_are_told_by_whole_name_parts() -> None:
    """OpenClaw's side files are skipped; a name that merely contains "tmp" is a session."""
    assert not is_transcript_file("abc.tmp.jsonl")
    assert not is_transcript_file("abc.bak.jsonl")
    assert not is_transcript_file("abc.jsonl.reset.2026-11-01.jsonl")
    assert is_transcript_file("abc-topic-my.tmpfile.jsonl")
    assert is_transcript_file("j-x.tmpish.jsonl")
