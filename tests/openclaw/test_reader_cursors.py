"""Cursor store in infra.sqlite, and the consumer loop it is made for."""

from __future__ import annotations

import sqlite3

import pytest

from openclaw_infra.core.db import connect, transaction
from openclaw_infra.openclaw.cursors import Cursor, CursorStore
from openclaw_infra.openclaw.entries import Entry
from openclaw_infra.openclaw.reader import discover_sources, read_new

from conftest import OpenClawHome
from openclaw_fixtures import append_jsonl, append_sqlite_events, state_with_both_containers


@pytest.fixture
def conn(oc_home: OpenClawHome) -> sqlite3.Connection:
    return connect(oc_home.settings().db_path)


def test_consumers_are_independent(conn: sqlite3.Connection) -> None:
    """ "index" and "summarize" each keep their own cursor for the same source."""
    index, summarize = CursorStore(conn, "index"), CursorStore(conn, "summarize")
    with transaction(conn):
        index.set(
            "jsonl:a", Cursor("jsonl", inode=1, offset=10, line=1, line_len=10, line_hash="h")
        )
    assert summarize.get("jsonl:a") is None
    with transaction(conn):
        summarize.set(
            "jsonl:a", Cursor("jsonl", inode=1, offset=5, line=1, line_len=5, line_hash="g")
        )
        index.set("sqlite:main:s", Cursor("sqlite", line=3, seq=3, line_hash="x"))
    got = index.get("jsonl:a")
    assert got is not None and got.offset == 10
    assert index.keys() == ["jsonl:a", "sqlite:main:s"]
    assert set(index.all()) == {"jsonl:a", "sqlite:main:s"}
    with transaction(conn):
        index.forget("jsonl:a")
    assert index.get("jsonl:a") is None
    assert summarize.get("jsonl:a") is not None


def test_set_commits_only_with_the_callers_transaction(conn: sqlite3.Connection) -> None:
    """A cursor set inside a transaction that rolls back is not recorded."""
    store = CursorStore(conn, "index")
    with pytest.raises(RuntimeError), transaction(conn):
        store.set("k", Cursor("sqlite", line=1, seq=1, line_hash="x"))
        raise RuntimeError("the output failed")
    assert store.get("k") is None


def test_store_opens_inside_a_transaction_once_migrated(conn: sqlite3.Connection) -> None:
    """After the first open, a store can be made inside a caller's transaction."""
    CursorStore(conn, "index")
    with transaction(conn):
        CursorStore(conn, "daily").set("k", Cursor("sqlite", seq=0, line=1, line_hash="x"))
    assert CursorStore(conn, "daily").get("k") == Cursor("sqlite", seq=0, line=1, line_hash="x")


def test_unreadable_cursor_means_start_over(conn: sqlite3.Connection) -> None:
    store = CursorStore(conn, "index")
    conn.execute("INSERT INTO reader_cursors VALUES ('index', 'k', '{broken', 0)")
    assert store.get("k") is None


def test_consumer_loop_neither_loses_nor_repeats(
    oc_home: OpenClawHome, conn: sqlite3.Connection
) -> None:
    """The intended loop: read_new from the stored cursor, write output and cursor in one
    transaction; a crash before commit replays, appends are read once."""
    paths = state_with_both_containers(oc_home.state)
    settings = oc_home.settings()
    store = CursorStore(conn, "index")
    seen: list[Entry] = []

    def run(crash: bool = False) -> None:
        for source in discover_sources(settings):
            batch = read_new(settings, source, store.get(source.key))
            try:
                with transaction(conn):
                    store.set(source.key, batch.end)
                    if crash:
                        raise KeyboardInterrupt
            except KeyboardInterrupt:
                continue
            seen.extend(batch.entries)

    run(crash=True)
    assert seen == []
    run()
    first = len(seen)
    assert first == 6
    run()
    assert len(seen) == first
    append_jsonl(paths["jsonl"], [("user", "more jsonl")])
    append_sqlite_events(oc_home.state, "main", "new-session", [("user", "more sqlite")])
    run()
    assert [e.text for e in seen[first:]] == ["more jsonl", "more sqlite"]
    assert len({(e.session_id, e.position) for e in seen}) == len(seen)
