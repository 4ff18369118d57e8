"""Cursor store in infra.sqlite, and the consumer loop it is made for."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from openclaw_infra.core.db import connect, transaction
from openclaw_infra.openclaw import jsonl
from openclaw_infra.openclaw.batch import Source
from openclaw_infra.openclaw.cursors import Cursor, CursorStore
from openclaw_infra.openclaw.entries import Entry
from openclaw_infra.openclaw.reader import discover_sources, read_new

from conftest import OpenClawHome
from openclaw_fixtures import (
    append_jsonl,
    append_sqlite_events,
    state_with_both_containers,
    write_jsonl_session,
)


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


# --- edits inside what was consumed (issue 22) ------------------------------------------


def _one_source(oc_home: OpenClawHome) -> Source:
    (source,) = discover_sources(oc_home.settings())
    return source


def _edit_same_size(path: Path, old: bytes, new: bytes) -> None:
    assert len(old) == len(new)
    data = path.read_bytes()
    assert data.count(old) == 1
    path.write_bytes(data.replace(old, new))


def test_same_size_edit_in_the_middle_is_a_rewrite(oc_home: OpenClawHome) -> None:
    """An edit in the middle of the consumed part that keeps the size, followed by an append
    or not, is noticed: the transcript is read again from the start, flagged rewritten."""
    turns = [("user", "alpha one"), ("user", "bravo two"), ("user", "charlie three")]
    path = write_jsonl_session(oc_home.state, "main", "s1", turns)
    settings = oc_home.settings()
    source = _one_source(oc_home)
    first = read_new(settings, source, None)
    _edit_same_size(path, b"bravo two", b"BRAVO TWO")
    batch = read_new(settings, source, first.end)
    assert batch.rewritten
    assert [e.text for e in batch.entries] == ["alpha one", "BRAVO TWO", "charlie three"]
    _edit_same_size(path, b"alpha one", b"ALPHA ONE")
    append_jsonl(path, [("user", "delta four")])
    again = read_new(settings, source, batch.end)
    assert again.rewritten and len(again.entries) == 4


def test_an_unchanged_file_costs_a_stat(
    oc_home: OpenClawHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file not changed since its cursor is not hashed again; an append hashes the
    consumed part once and yields only the new line."""
    path = write_jsonl_session(oc_home.state, "main", "s1", [("user", "one"), ("user", "two")])
    settings = oc_home.settings()
    source = _one_source(oc_home)
    first = read_new(settings, source, None)
    hashed: list[tuple[int, int]] = []
    real = jsonl._hash_range

    def spy(f: Any, start: int, end: int, digest: Any = None) -> Any:
        hashed.append((start, end))
        return real(f, start, end, digest)

    monkeypatch.setattr(jsonl, "_hash_range", spy)
    again = read_new(settings, source, first.end)
    assert again.items == [] and again.end == first.end and hashed == []
    append_jsonl(path, [("user", "three")])
    second = read_new(settings, source, first.end)
    assert not second.rewritten and [e.text for e in second.entries] == ["three"]
    assert hashed == [(0, first.end.offset)]


def _older(cursor: Cursor) -> Cursor:
    """`cursor` as a version before the prefix hash stored it."""
    fields = cursor.to_dict()
    for name in ("prefix_hash", "size", "mtime_ns"):
        fields.pop(name)
    return Cursor.from_dict(fields)


def test_a_cursor_from_an_older_version_is_checked_as_before_then_upgraded(
    oc_home: OpenClawHome,
) -> None:
    """A stored cursor without the prefix fields still resumes, its last line checked as
    before; the cursor after the read carries them."""
    path = write_jsonl_session(oc_home.state, "main", "s1", [("user", "one"), ("user", "two")])
    settings = oc_home.settings()
    source = _one_source(oc_home)
    legacy = _older(read_new(settings, source, None).end)
    assert legacy.prefix_hash == "" and legacy.size == 0
    idle = read_new(settings, source, legacy)
    assert idle.items == [] and not idle.rewritten
    assert idle.end.offset == legacy.offset and idle.end.size == path.stat().st_size
    assert idle.end.prefix_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    append_jsonl(path, [("user", "three")])
    batch = read_new(settings, source, legacy)
    assert not batch.rewritten and [e.text for e in batch.entries] == ["three"]
    assert batch.end.prefix_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    _edit_same_size(path, b"three", b"THREE")
    assert read_new(settings, source, _older(batch.end)).rewritten
