"""Transcript reader over OpenClaw's SQLite store (`transcript_events`), both schemas."""

from __future__ import annotations

import hashlib
import sqlite3
import uuid

import pytest
import zstandard
from structlog.testing import capture_logs

from openclaw_infra.openclaw.batch import Source
from openclaw_infra.openclaw.reader import discover_sources, read_all, read_new

from conftest import OpenClawHome
from openclaw_fixtures import (
    SCHEMA_NEW,
    SCHEMA_OLD,
    append_sqlite_events,
    sqlite_path,
    write_jsonl_session,
    write_sqlite_sessions,
)

CONVERSATION = [
    ("user", "My passport number ends in 4471."),
    ("toolCall", "passport"),
    ("tool", "memory_search result " * 400),  # compressed in the new schema
    ("nested_tool", "nested memory_search result " * 100),
    ("assistant", "Noted, it ends in 4471. " + "Details follow. " * 120),  # compressed too
    ("compaction", "## Exact identifiers\n- passport …4471"),
]


def _only(oc_home: OpenClawHome) -> Source:
    sources = discover_sources(oc_home.settings())
    assert len(sources) == 1
    return sources[0]


@pytest.mark.parametrize("schema", [SCHEMA_OLD, SCHEMA_NEW])
def test_both_schemas_give_the_same_entries(oc_home: OpenClawHome, schema: str) -> None:
    """2026.7.2 rows and 2026.9.6 rows (zstd for large events, UUID ids, version 4) read to
    the same roles and texts."""
    write_sqlite_sessions(oc_home.state, "main", {"s1": CONVERSATION}, schema=schema)
    source = _only(oc_home)
    assert source.key == "sqlite:main:s1" and source.container == "sqlite"
    batch = read_all(oc_home.settings(), source)
    assert [(e.role, e.text[:24], e.position) for e in batch.entries] == [
        ("user", "My passport number ends ", 2),
        ("assistant", "Noted, it ends in 4471. ", 6),
        ("compaction", "## Exact identifiers\n- p", 7),
    ]
    entry = batch.entries[0]
    assert entry.container == "sqlite" and entry.source == "agents/main/agent/openclaw-agent.sqlite"
    if schema == SCHEMA_NEW:
        uuid.UUID(entry.entry_id)  # 2026.9 ids are UUIDs
    else:
        assert len(entry.entry_id) == 8
    assert batch.stats.noise_by == {
        "session": 1,
        "assistant_empty": 1,
        "role:toolResult": 1,
        "role:custom": 1,
    }
    assert batch.end.seq == 7 and batch.end.line == 7


def test_compressed_events_are_really_compressed(oc_home: OpenClawHome) -> None:
    """The fixture matches 2026.9.6: large events have NULL event_json and a zstd frame."""
    db = write_sqlite_sessions(oc_home.state, "main", {"s1": CONVERSATION})
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "SELECT seq, event_json IS NULL, length(event_zstd), event_utf8_bytes "
        "FROM transcript_events ORDER BY seq"
    ).fetchall()
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 23
    conn.close()
    compressed = [r for r in rows if r[1]]
    assert {r[0] for r in compressed} == {4, 5, 6}
    assert all(r[2] < r[3] for r in compressed)


def test_frames_without_content_size_and_corrupt_frames(oc_home: OpenClawHome) -> None:
    """Frames without a content size decode by streaming; a corrupt frame is skipped,
    counted as malformed and does not stop the read."""
    db = write_sqlite_sessions(
        oc_home.state,
        "main",
        {"s1": [("user", "first " * 400), ("user", "second " * 400), ("user", "third")]},
        zstd_content_size=False,
    )
    conn = sqlite3.connect(db)
    conn.execute(
        "UPDATE transcript_events SET event_zstd=? WHERE seq=3",
        (b"\x28\xb5\x2f\xfd" + b"garbage" * 20,),
    )
    conn.commit()
    conn.close()
    batch = read_all(oc_home.settings(), _only(oc_home))
    assert [e.text.split()[0] for e in batch.entries] == ["first", "third"]
    assert batch.stats.malformed == 1


def test_incremental_by_seq(oc_home: OpenClawHome) -> None:
    """read_new after appended events yields only those; an unchanged session yields none."""
    write_sqlite_sessions(oc_home.state, "main", {"s1": [("user", "a"), ("assistant", "b")]})
    settings = oc_home.settings()
    source = _only(oc_home)
    first = read_new(settings, source, None)
    assert read_new(settings, source, first.end).items == []
    append_sqlite_events(
        oc_home.state,
        "main",
        "s1",
        [("tool", "x" * 5000), ("user", "c"), ("assistant", "d " * 900)],
    )
    second = read_new(settings, source, first.end)
    assert not second.rewritten
    assert [(e.text[:1], e.position) for e in second.entries] == [("c", 5), ("d", 6)]
    _, after_c = second.items[0]
    rest = read_new(settings, source, after_c)
    assert [e.position for e in rest.entries] == [6]


def test_rewritten_session_is_reread(oc_home: OpenClawHome) -> None:
    """A changed or deleted last-consumed event means the session was rewritten."""
    db = write_sqlite_sessions(oc_home.state, "main", {"s1": [("user", "a"), ("user", "b")]})
    settings = oc_home.settings()
    source = _only(oc_home)
    end = read_new(settings, source, None).end
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM transcript_events WHERE seq=3")
    conn.commit()
    batch = read_new(settings, source, end)
    assert batch.rewritten and [e.text for e in batch.entries] == ["a"]
    end = batch.end
    conn.execute(
        "UPDATE transcript_events SET event_json=replace(event_json, '\"a\"', '\"z\"') WHERE seq=2"
    )
    conn.commit()
    conn.close()
    batch = read_new(settings, source, end)
    assert batch.rewritten and [e.text for e in batch.entries] == ["z"]


def test_store_is_opened_read_only(oc_home: OpenClawHome) -> None:
    """Reading never changes the database file's bytes."""
    db = write_sqlite_sessions(oc_home.state, "main", {"s1": CONVERSATION})
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    settings = oc_home.settings()
    for source in discover_sources(settings):
        read_all(settings, source)
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def test_reads_committed_rows_still_in_the_wal(oc_home: OpenClawHome) -> None:
    """While OpenClaw holds the store open, rows that live only in `-wal` are read."""
    db = write_sqlite_sessions(oc_home.state, "main", {"s1": [("user", "checkpointed")]})
    writer = sqlite3.connect(db)
    try:
        writer.execute("PRAGMA wal_autocheckpoint=0")
        append_conn_rows = writer.execute("SELECT max(seq) FROM transcript_events").fetchone()[0]
        writer.execute(
            "INSERT INTO transcript_events (session_id, seq, event_json, created_at) "
            "VALUES ('s1', ?, ?, 0)",
            (
                append_conn_rows + 1,
                '{"type":"message","id":"w1","message":{"role":"user","content":"in the wal"}}',
            ),
        )
        writer.commit()
        assert (db.parent / (db.name + "-wal")).stat().st_size > 0
        batch = read_all(oc_home.settings(), _only(oc_home))
        assert [e.text for e in batch.entries] == ["checkpointed", "in the wal"]
    finally:
        writer.close()


def test_invalid_utf8_and_malformed_events(oc_home: OpenClawHome) -> None:
    """Invalid UTF-8 in event_json is replaced and counted; non-JSON events are skipped."""
    write_sqlite_sessions(
        oc_home.state,
        "main",
        {
            "s1": [
                b'{"type":"message","id":"u1","message":{"role":"user","content":"caf\xe9 ok"}}',
                b"not json at all",
                b"[1, 2, 3]",
                ("user", "fine"),
            ]
        },
        schema=SCHEMA_OLD,
    )
    batch = read_all(oc_home.settings(), _only(oc_home))
    assert [e.text for e in batch.entries] == ["caf\ufffd ok", "fine"]
    assert (batch.stats.invalid_utf8, batch.stats.malformed) == (1, 2)


def test_oversized_compressed_event_is_skipped_without_decoding(oc_home: OpenClawHome) -> None:
    """An event whose decoded size exceeds the limit is counted, not decompressed."""
    write_sqlite_sessions(
        oc_home.state, "main", {"s1": [("tool", "y" * 300_000), ("user", "after")]}
    )
    batch = read_all(oc_home.settings(), _only(oc_home), max_line_bytes=100_000)
    assert [e.text for e in batch.entries] == ["after"]
    assert batch.stats.oversized == 1


def test_zstd_bomb_is_capped(oc_home: OpenClawHome) -> None:
    """A frame that claims nothing and decodes huge stops at the limit (no size column)."""
    db = write_sqlite_sessions(oc_home.state, "main", {"s1": [("user", "ok")]})
    bomb = zstandard.ZstdCompressor(write_content_size=False).compress(b" " * 50_000_000)
    conn = sqlite3.connect(db)
    conn.execute(
        "INSERT INTO transcript_events (session_id, seq, event_json, created_at, "
        "event_zstd) VALUES ('s1', 99, NULL, 0, ?)",
        (bomb,),
    )
    conn.commit()
    conn.close()
    batch = read_all(oc_home.settings(), _only(oc_home), max_line_bytes=1_000_000)
    assert [e.text for e in batch.entries] == ["ok"] and batch.stats.oversized == 1


def test_jsonl_and_sqlite_for_one_agent(oc_home: OpenClawHome) -> None:
    """An agent upgraded mid-life has both containers; each is its own source."""
    write_jsonl_session(oc_home.state, "main", "before", [("user", "jsonl era")])
    write_sqlite_sessions(oc_home.state, "main", {"after": [("user", "sqlite era")]})
    settings = oc_home.settings()
    texts = {
        s.container: [e.text for e in read_all(settings, s).entries]
        for s in discover_sources(settings)
    }
    assert texts == {"jsonl": ["jsonl era"], "sqlite": ["sqlite era"]}


def test_vanished_store_reads_empty(oc_home: OpenClawHome) -> None:
    """A source gone between discovery and reading is an empty batch marked gone."""
    write_sqlite_sessions(oc_home.state, "main", {"s1": [("user", "a")]})
    source = _only(oc_home)
    for suffix in ("", "-wal", "-shm"):
        path = sqlite_path(oc_home.state, "main").with_name("openclaw-agent.sqlite" + suffix)
        path.unlink(missing_ok=True)
    batch = read_all(oc_home.settings(), source)
    assert batch.items == [] and batch.stats.gone


def test_session_in_both_containers_is_read_once(oc_home: OpenClawHome) -> None:
    """A JSONL file left behind after OpenClaw imported it into the store is not listed."""
    write_jsonl_session(oc_home.state, "main", "s1", [("user", "imported")])
    write_sqlite_sessions(oc_home.state, "main", {"s1": [("user", "imported")]})
    assert [s.key for s in discover_sources(oc_home.settings())] == ["sqlite:main:s1"]


def test_corrupt_store_does_not_hide_jsonl(oc_home: OpenClawHome) -> None:
    """An unreadable store is logged and skipped; the agent's JSONL files are still read."""
    write_jsonl_session(oc_home.state, "main", "s1", [("user", "still here")])
    sqlite_path(oc_home.state, "main").parent.mkdir(parents=True)
    sqlite_path(oc_home.state, "main").write_bytes(b"garbage" * 1000)
    with capture_logs() as logs:
        sources = discover_sources(oc_home.settings())
    assert [s.container for s in sources] == ["jsonl"]
    assert any(r["event"] == "OpenClaw store not readable" for r in logs)
