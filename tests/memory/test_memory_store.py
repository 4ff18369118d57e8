"""The memory store in-process: incremental indexing, the content-hash cache, FAISS derived
from SQLite, generations and model identity. Uses the deterministic `HashEmbedder` seam."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from openclaw_infra.core.db import connect
from openclaw_infra.core.errors import ConfigError, UnavailableError
from openclaw_infra.memory import store
from openclaw_infra.memory.chunking import window_chunks
from openclaw_infra.memory.embedder import HashEmbedder, get_embedder, reset_embedders
from openclaw_infra.memory.indexer import index_all, index_files
from openclaw_infra.memory.query import RecallQuery
from openclaw_infra.memory.search import recall as search_recall
from openclaw_infra.memory.vectors import VectorIndex, read_header

from openclaw_fixtures import append_jsonl, write_jsonl_session, write_sqlite_sessions

EMB = HashEmbedder()


def recall(settings, text, *, embedder=None, **options):  # type: ignore[no-untyped-def]
    """`search.recall` of a query built as the CLI builds it (options by field name)."""
    query = RecallQuery.parse(settings, text, **options)
    return search_recall(settings, query, embedder=embedder)


CAT = [
    ("user", "I adopted a cat named Miso last week"),
    ("assistant", "How old is Miso?"),
    ("user", "She is two years old and loves tuna"),
    ("assistant", "Sweet cat"),
    ("user", "Also the dentist moved my appointment to Friday"),
]


@pytest.fixture
def home(oc_home):  # type: ignore[no-untyped-def]
    write_jsonl_session(oc_home.state, "main", "s1", CAT, key="agent:main:telegram:dm:42")
    (oc_home.workspace / "MEMORY.md").write_text(
        "# Memory\n\n## People\n- Alice climbs on Sundays\n\n## Garden\n- Tomatoes: San Marzano\n"
    )
    return oc_home


def _conn(settings) -> sqlite3.Connection:  # type: ignore[no-untyped-def]
    return connect(settings.db_path)


def _chunk_rows(settings, doc_prefix: str = "") -> list[tuple]:  # type: ignore[no-untyped-def]
    conn = _conn(settings)
    rows = conn.execute(
        "SELECT d.key, c.start, c.end, c.content_hash FROM memory_chunks c "
        "JOIN memory_docs d ON d.id = c.doc_id WHERE d.key LIKE ? ORDER BY 1, 2, 3",
        (doc_prefix + "%",),
    ).fetchall()
    conn.close()
    return [tuple(r) for r in rows]


def _faiss_agrees(settings) -> set[int]:  # type: ignore[no-untyped-def]
    conn = _conn(settings)
    gen = store.active_generation(conn)
    assert gen is not None
    ids = {int(r[0]) for r in conn.execute("SELECT id FROM memory_chunks WHERE gen=?", (gen.gen,))}
    vectors = VectorIndex.open(settings.faiss_path, conn, gen)
    conn.close()
    assert vectors.ids() == ids
    return ids


def test_index_then_recall_finds_session_and_memory(home) -> None:  # type: ignore[no-untyped-def]
    """A first index makes transcripts and MEMORY.md findable, with citations and kinds."""
    s = home.settings()
    stats = index_all(s, embedder=EMB)
    assert stats.sources_read == 1 and stats.files_changed == 1 and stats.embedded > 0
    answer = recall(s, "cat named Miso", embedder=EMB, limit=3)
    top = answer["results"][0]
    assert "Miso" in top["text"] and top["kind"] == "session" and top["agent"] == "main"
    assert top["citation"].startswith("agents/main/sessions/s1.jsonl#L")
    garden = recall(s, "tomatoes San Marzano", embedder=EMB, sources=["memory"])["results"][0]
    assert garden["path"] == "MEMORY.md" and garden["citation"] == "MEMORY.md#L6-L7"
    assert answer["index"] == {
        "chunks": stats.chunks_total,
        "model": "test-hash-embedder:64",
        "stale": False,
        "lag_s": 0.0,
    }


def test_reindex_of_unchanged_data_embeds_nothing(home) -> None:  # type: ignore[no-untyped-def]
    """The content-hash cache and cursors make a second run a no-op: zero texts embedded."""
    s = home.settings()
    index_all(s, embedder=EMB)
    before = _chunk_rows(s)
    again = index_all(s, embedder=EMB)
    assert (again.embedded, again.chunks_added, again.chunks_removed) == (0, 0, 0)
    assert _chunk_rows(s) == before


def test_appended_turns_extend_windows_without_reembedding_old_ones(home) -> None:  # type: ignore[no-untyped-def]
    """New turns only touch the open tail window; stored chunks equal a from-scratch chunking."""
    s = home.settings()
    index_all(s, embedder=EMB)
    path = home.state / "agents/main/sessions/s1.jsonl"
    append_jsonl(path, [("assistant", "Friday works"), ("user", "Buy cat food on the way")])
    stats = index_all(s, embedder=EMB)
    assert stats.turns_added == 2 and stats.embedded <= 2
    conn = _conn(s)
    doc = store.get_doc(conn, 1, "jsonl:agents/main/sessions/s1.jsonl")
    assert doc is not None and doc.n_turns == 7
    turns = store.load_turns(conn, doc.id)
    expected = sorted((c.start, c.end, c.content_hash) for c in window_chunks(turns))
    stored = sorted((c.start, c.end, c.content_hash) for c in store.chunks_of(conn, doc.id))
    conn.close()
    assert stored == expected
    assert "cat food" in recall(s, "cat food", embedder=EMB, limit=1)["results"][0]["text"]
    _faiss_agrees(s)


def test_rewritten_transcript_replaces_its_chunks(home) -> None:  # type: ignore[no-untyped-def]
    """A rewritten (shorter) session file is re-read from the start, never double-counted."""
    s = home.settings()
    index_all(s, embedder=EMB)
    write_jsonl_session(
        home.state, "main", "s1", [("user", "Completely new topic: sailing"), ("assistant", "Ahoy")]
    )
    stats = index_all(s, embedder=EMB)
    assert stats.rewritten == 1
    texts = [r["text"] for r in recall(s, "Miso sailing", embedder=EMB, limit=10)["results"]]
    assert any("sailing" in t for t in texts) and not any("Miso" in t for t in texts)
    conn = _conn(s)
    doc = store.get_doc(conn, 1, "jsonl:agents/main/sessions/s1.jsonl")
    assert doc is not None and doc.n_turns == 2
    conn.close()
    _faiss_agrees(s)


def test_changed_and_deleted_files_replace_and_drop_chunks(home) -> None:  # type: ignore[no-untyped-def]
    """An edited file keeps unchanged sections' chunks, a deleted file drops all of its own."""
    s = home.settings()
    index_all(s, embedder=EMB)
    people_before = [r for r in _chunk_rows(s, "file:MEMORY.md") if r[1] == 1]
    memory = home.workspace / "MEMORY.md"
    memory.write_text(memory.read_text().replace("San Marzano", "Black Krim"))
    note = home.workspace / "memory" / "2026-01-18.md"
    note.write_text("# 2026-01-18\n\n- Called the plumber about the leak\n")
    index_all(s, embedder=EMB)
    assert [r for r in _chunk_rows(s, "file:MEMORY.md") if r[1] == 1] == people_before
    assert "Black Krim" in recall(s, "tomatoes", embedder=EMB, limit=1)["results"][0]["text"]
    plumber = recall(s, "plumber leak", embedder=EMB, limit=1)["results"][0]
    assert plumber["timestamp"] == "2026-01-18T00:00:00Z"  # dated by its file name
    note.unlink()
    stats = index_all(s, embedder=EMB)
    assert stats.removed == 1
    assert not _chunk_rows(s, "file:memory/2026-01-18.md")
    _faiss_agrees(s)


def test_index_files_kinds_and_out_of_tree_files_survive_full_index(home) -> None:  # type: ignore[no-untyped-def]
    """index_files picks the kind from the path; a file indexed on purpose stays indexed."""
    s = home.settings()
    mem = home.workspace / "memory"
    (mem / "voice").mkdir()
    (mem / "daily").mkdir()
    (mem / "voice" / "note1.md").write_text("# Voice note\n\nRemember to call grandma\n")
    (mem / "daily" / "2026-01-18.md").write_text("---\nperiod: x\n---\n# Day\n\n- Bought a kayak\n")
    (home.workspace / "USER.md").write_text("# User\n\nPrefers espresso\n")
    index_files(
        s,
        [mem / "voice" / "note1.md", mem / "daily" / "2026-01-18.md", home.workspace / "USER.md"],
        embedder=EMB,
    )
    kinds = {
        r["path"]: r["kind"]
        for q in ("grandma", "kayak", "espresso")
        for r in recall(s, q, embedder=EMB, limit=1)["results"]
    }
    assert kinds == {
        "memory/voice/note1.md": "voice",
        "memory/daily/2026-01-18.md": "summary",
        "USER.md": "memory",
    }
    index_all(s, embedder=EMB)
    assert recall(s, "espresso", embedder=EMB, limit=1)["results"][0]["path"] == "USER.md"
    voice_only = recall(s, "grandma kayak", embedder=EMB, sources=["voice"])["results"]
    assert [r["kind"] for r in voice_only] == ["voice"]


def test_faiss_file_lost_or_behind_is_caught_up_from_sqlite(home) -> None:  # type: ignore[no-untyped-def]
    """A FAISS file older than SQLite (crash before save), torn or missing loses nothing."""
    s = home.settings()
    index_all(s, embedder=EMB)
    faiss_path = s.faiss_path
    old_bytes = faiss_path.read_bytes()
    append_jsonl(home.state / "agents/main/sessions/s1.jsonl", [("user", "zebra crossing")])
    (home.workspace / "MEMORY.md").write_text("# Memory\n\n- only this now\n")
    index_all(s, embedder=EMB)
    faiss_path.write_bytes(old_bytes)  # as if the process died after commit, before the save
    assert "zebra" in recall(s, "zebra crossing", embedder=EMB, limit=1)["results"][0]["text"]
    assert not any(
        "San Marzano" in r["text"]
        for r in recall(s, "San Marzano", embedder=EMB, limit=10)["results"]
    )
    _faiss_agrees(s)
    faiss_path.write_bytes(old_bytes[: len(old_bytes) // 2])  # torn
    _faiss_agrees(s)
    faiss_path.unlink()
    assert recall(s, "zebra", embedder=EMB, limit=1)["results"]
    assert read_header(faiss_path) is None


def test_model_mismatch_is_refused_not_empty(home) -> None:  # type: ignore[no-untyped-def]
    """Another configured model (name or dimension) is exit 69 with a rebuild hint."""
    s = home.settings()
    index_all(s, embedder=EMB)
    reset_embedders()
    with pytest.raises(UnavailableError) as info:
        recall(s, "cat", limit=3)  # configured: the packaged MiniLM; refused before loading it
    assert info.value.exit_code == 69 and "--rebuild" in str(info.value)
    with pytest.raises(UnavailableError):
        recall(s, "cat", embedder=HashEmbedder(dim=32))
    (home.workspace / "memory" / "new.md").write_text("# New\n\nsomething to embed\n")
    with pytest.raises(UnavailableError):
        index_all(s, embedder=HashEmbedder(dim=32))  # caught as soon as it has to embed


def test_test_embedder_needs_its_explicit_switch(home, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The hash embedder by name is refused unless OPENCLAW_INFRA_TEST_EMBEDDER=1."""
    reset_embedders()
    monkeypatch.delenv("OPENCLAW_INFRA_TEST_EMBEDDER", raising=False)
    with pytest.raises(ConfigError):
        get_embedder(home.settings(embedding_model="test-hash-embedder"))
    monkeypatch.setenv("OPENCLAW_INFRA_TEST_EMBEDDER", "1")
    assert get_embedder(home.settings(embedding_model="test-hash-embedder")).name == (
        "test-hash-embedder"
    )
    reset_embedders()


def test_rebuild_switches_generation_and_keeps_answers(home) -> None:  # type: ignore[no-untyped-def]
    """--rebuild fills a new generation (reusing cached vectors) and swaps it in whole."""
    s = home.settings()
    first = index_all(s, embedder=EMB)
    before = recall(s, "cat Miso", embedder=EMB)["results"]
    rebuilt = index_all(s, rebuild=True, embedder=EMB)
    assert rebuilt.generation == first.generation + 1
    assert rebuilt.embedded == 0 and rebuilt.chunks_total == first.chunks_total
    after = recall(s, "cat Miso", embedder=EMB)["results"]
    assert [r["text"] for r in after] == [r["text"] for r in before]
    conn = _conn(s)
    gens = conn.execute("SELECT gen, state FROM memory_generations").fetchall()
    cursors = conn.execute("SELECT DISTINCT consumer FROM reader_cursors").fetchall()
    conn.close()
    assert [tuple(g) for g in gens] == [(rebuilt.generation, "active")]
    assert [c[0] for c in cursors] == ["index"]
    assert read_header(s.faiss_path).gen == rebuilt.generation  # type: ignore[union-attr]
    assert index_all(s, embedder=EMB).sources_read == 0  # cursors carried over
    _faiss_agrees(s)


def test_interrupted_rebuild_leaves_old_index_serving(home) -> None:  # type: ignore[no-untyped-def]
    """While a new generation is only partly built, queries use the complete old one."""
    s = home.settings()
    index_all(s, embedder=EMB)
    conn = _conn(s)
    with conn:
        pass
    from openclaw_infra.core.db import transaction

    with transaction(conn):
        store.create_generation(conn, "test-hash-embedder:64", "building")
    conn.close()
    assert recall(s, "Miso", embedder=EMB)["results"]
    resumed = index_all(s, rebuild=True, embedder=EMB)
    assert resumed.generation == 2
    assert recall(s, "Miso", embedder=EMB)["results"]


def test_sqlite_sessions_and_agent_filter(home) -> None:  # type: ignore[no-untyped-def]
    """Sessions in an agent's SQLite store are indexed with seq citations; --agent filters."""
    write_sqlite_sessions(
        home.state,
        "work",
        {"w1": [("user", "Quarterly report due Monday"), ("assistant", "Noted")]},
        keys={"w1": "agent:work:main"},
    )
    s = home.settings()
    index_all(s, embedder=EMB)
    hit = recall(s, "quarterly report", embedder=EMB, limit=1)["results"][0]
    assert hit["agent"] == "work" and hit["session_id"] == "w1"
    assert hit["citation"].startswith("agents/work/agent/openclaw-agent.sqlite#w1:seq")
    only_main = recall(s, "quarterly report", embedder=EMB, agent="main")["results"]
    assert all(r["agent"] == "main" for r in only_main)


def test_background_sessions_are_not_indexed(home) -> None:  # type: ignore[no-untyped-def]
    """cron/hook/sub-agent sessions are not the user's conversations."""
    write_jsonl_session(
        home.state,
        "main",
        "c1",
        [("user", "cron heartbeat zzzunique")],
        key="agent:main:cron:nightly",
    )
    stats = index_all(home.settings(), embedder=EMB)
    assert stats.sources_skipped == 1
    assert not recall(home.settings(), "zzzunique", embedder=EMB)["results"]


def test_empty_store_answers_empty(oc_home) -> None:  # type: ignore[no-untyped-def]
    """Before any index, recall answers an empty list without loading a model."""
    reset_embedders()
    answer = recall(oc_home.settings(), "anything")
    assert answer["results"] == [] and answer["index"]["chunks"] == 0
    assert not Path(oc_home.settings().db_path).exists()


def test_health_checks_see_identity_agreement_and_lag(home) -> None:  # type: ignore[no-untyped-def]
    """Health: OK when all agrees; a FAISS file holding a vector SQLite lacks is CRITICAL; a
    missing file WARNING; a changed source shows as lag."""
    import numpy as np

    from openclaw_infra.core.checks import CRITICAL, OK, WARNING, HealthContext, open_readonly
    from openclaw_infra.memory.checks import check_index as run

    s = home.settings()
    index_all(s, embedder=EMB)

    def states() -> dict[str, int]:
        conn = open_readonly(s)
        try:
            return {c.name: c.state for c in run(HealthContext(s, conn))}
        finally:
            assert conn is not None
            conn.close()

    assert states()["index"] == CRITICAL  # settings name the packaged model, not the hash one
    s = home.settings(embedding_model="test-hash-embedder")
    assert states() == {"index": OK, "vectors": OK, "index_lag": OK}
    conn = _conn(s)
    gen = store.active_generation(conn)
    assert gen is not None
    vectors = VectorIndex.open(s.faiss_path, conn, gen)
    conn.close()
    # a second vector under an existing id: FAISS now holds one more than SQLite accounts for
    vectors.index.add_with_ids(
        np.ones((1, 64), dtype=np.float32) / 8.0, np.array([vectors.high_water], dtype=np.int64)
    )
    vectors.save(s.faiss_path)
    assert states()["vectors"] == CRITICAL
    (s.faiss_path).unlink()
    assert states()["vectors"] == WARNING
    append_jsonl(home.state / "agents/main/sessions/s1.jsonl", [("user", "more")])
    assert states()["index_lag"] == OK  # changed moments ago: stale, but not yet late
