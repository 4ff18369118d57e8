"""Which query words reach FTS5: common words out, a postings budget in a large store, and
document counts remembered until the store moves (memory/term_stats.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from openclaw_infra.memory import term_stats
from openclaw_infra.memory.term_stats import TermStats

# document frequencies in the little store below
DF = {"alpha": 1, "beta": 3, "gamma": 6, "delta": 10, "omega": 40}


@pytest.fixture
def conn() -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE memory_fts USING fts5(text)")
    rows = [[] for _ in range(40)]
    for word, df in DF.items():
        for i in range(df):
            rows[i].append(word)
    db.executemany("INSERT INTO memory_fts(text) VALUES (?)", [(" ".join(r),) for r in rows])
    yield db
    db.close()


@pytest.fixture(autouse=True)
def quality(monkeypatch: pytest.MonkeyPatch) -> None:
    """A store of 40 chunks is big enough for `Fusion.common_fraction` to apply."""
    monkeypatch.setattr(term_stats, "QUALITY_MIN_CHUNKS", 10)


@pytest.fixture
def large(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make 40 chunks a "large" store, with a budget of 10 postings."""
    monkeypatch.setattr(term_stats, "BUDGET_MIN_CHUNKS", 40)
    monkeypatch.setattr(term_stats, "POSTINGS_BUDGET", 10)


def test_small_store_keeps_every_word(conn: sqlite3.Connection) -> None:
    words = ["omega", "alpha", "delta"]
    assert TermStats().informative(conn, 1, 40, words, 0.0) == words


def test_small_store_counts_nothing(conn: sqlite3.Connection) -> None:
    counted: list[str] = []
    conn.set_trace_callback(lambda sql: counted.append(sql) if "count(*)" in sql else None)
    TermStats().informative(conn, 1, 40, ["omega", "alpha", "delta"], 0.0)
    assert counted == []


def test_small_store_drops_words_past_the_quality_fraction(conn: sqlite3.Connection) -> None:
    stats = TermStats()
    assert stats.informative(conn, 1, 40, ["omega", "gamma", "alpha"], 0.2) == ["gamma", "alpha"]
    # every word common: the two rarest stay, so the query is never empty
    assert stats.informative(conn, 1, 40, ["omega", "delta", "gamma"], 0.1) == ["delta", "gamma"]


@pytest.mark.usefixtures("large")
def test_large_store_keeps_the_rarest_words_within_the_budget(conn: sqlite3.Connection) -> None:
    stats = TermStats()
    # alpha + beta + gamma = 10 postings fit; delta would take it to 20, omega to 50; a
    # common word is not dropped for being common, only for not fitting; query order kept
    words = ["delta", "omega", "gamma", "alpha", "beta"]
    assert stats.informative(conn, 1, 40, words, 0.0) == ["gamma", "alpha", "beta"]
    assert stats.informative(conn, 1, 40, ["omega", "alpha"], 0.0) == ["alpha"]


@pytest.mark.usefixtures("large")
def test_large_store_keeps_the_rarest_word_even_over_the_budget(
    conn: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(term_stats, "POSTINGS_BUDGET", 2)
    stats = TermStats()
    assert stats.informative(conn, 1, 40, ["delta", "gamma"], 0.0) == ["gamma"]
    # every word over the quality fraction: only the rarest, not two (each costs its postings)
    assert stats.informative(conn, 1, 40, ["omega", "delta", "gamma"], 0.1) == ["gamma"]


def test_counts_are_remembered_until_the_store_moves(conn: sqlite3.Connection) -> None:
    counted: list[str] = []
    conn.set_trace_callback(lambda sql: counted.append(sql) if "count(*)" in sql else None)
    stats = TermStats()
    words = ["omega", "alpha"]
    stats.informative(conn, 1, 40, words, 0.2)
    assert len(counted) == 2
    stats.informative(conn, 1, 40, words, 0.2)
    stats.informative(conn, 1, 40, words, 0.2)
    assert len(counted) == 2  # remembered
    # the store grew past STALE_FRACTION: counted again, and the new count is used (with
    # the old one, alpha in 1 chunk, alpha alone would have been kept)
    conn.executemany("INSERT INTO memory_fts(text) VALUES ('alpha')", [()] * 20)
    assert stats.informative(conn, 1, 60, words, 0.3) == ["omega", "alpha"]
    assert len(counted) == 4
    # another generation: counted again
    stats.informative(conn, 2, 60, words, 0.3)
    assert len(counted) == 6
