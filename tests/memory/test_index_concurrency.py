"""Concurrency and crashes with real processes (issue 3, deliverable 8).

- 8 processes index and add at once (index_all loops and index_files writers) while
  transcripts grow: nothing is lost, nothing is duplicated.
- `infra index` is SIGKILLed at random points 30 times while the data changes; a rerun leaves
  FAISS and SQLite in agreement and every committed chunk findable.

Processes use the test-only hash embedder (explicit switch), so no model load is timed.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from openclaw_infra.core.db import connect
from openclaw_infra.memory import store
from openclaw_infra.memory.chunking import markdown_chunks, window_chunks
from openclaw_infra.memory.embedder import HashEmbedder
from openclaw_infra.memory.indexer import index_all
from openclaw_infra.memory.vectors import VectorIndex, vectors_from_blobs
from openclaw_infra.openclaw.reader import discover_sources, read_all

from openclaw_fixtures import append_jsonl, write_jsonl_session

TEST_ENV = {
    "OPENCLAW_INFRA_EMBEDDING_MODEL": "test-hash-embedder",
    "OPENCLAW_INFRA_TEST_EMBEDDER": "1",
}

INDEX_LOOP = """
from openclaw_infra.core.config import load_settings
from openclaw_infra.memory.indexer import index_all
from openclaw_infra.services import writer_embedder
for _ in range(4):
    settings = load_settings()
    index_all(settings, embedder=writer_embedder(settings))
"""

ADDER = """
import sys
from pathlib import Path
from openclaw_infra.core.config import load_settings
from openclaw_infra.memory.indexer import index_files
from openclaw_infra.services import writer_embedder
settings = load_settings()
path = settings.memory_dir / f"adder-{sys.argv[1]}.md"
for k in range(5):
    path.write_text(f"# Adder {sys.argv[1]}\\n\\n- round {k} fact w{sys.argv[1]}r{k}\\n")
    index_files(settings, [path], embedder=writer_embedder(settings))
"""


def _spawn(home, code: str, *args: str) -> subprocess.Popen[str]:  # type: ignore[no-untyped-def]
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env={**home.env, **TEST_ENV},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _turns(session: int, start: int, n: int) -> list[tuple[str, str]]:
    return [
        ("user" if k % 2 == 0 else "assistant", f"session {session} turn {k} token{session}x{k}")
        for k in range(start, start + n)
    ]


def assert_store_consistent(settings) -> int:  # type: ignore[no-untyped-def]
    """Every transcript turn stored once, chunks equal a from-scratch chunking of the stored
    turns and files, no duplicate chunk, FAISS ids equal SQLite ids, each vector findable."""
    conn = connect(settings.db_path)
    gen = store.active_generation(conn)
    assert gen is not None
    for source in discover_sources(settings):
        doc = store.get_doc(conn, gen.gen, source.key)
        entries = read_all(settings, source).entries
        assert doc is not None, source.key
        turns = store.load_turns(conn, doc.id)
        assert [t.position for t in turns] == [e.position for e in entries], source.key
        assert [t.text for t in turns] == [e.text for e in entries]
        expected = sorted((c.start, c.end, c.content_hash) for c in window_chunks(turns))
        stored = sorted((c.start, c.end, c.content_hash) for c in store.chunks_of(conn, doc.id))
        assert stored == expected, source.key
    for doc in store.docs_with_prefix(conn, gen.gen, "file:"):
        path = settings.workspace / doc.key.removeprefix("file:")
        expected = sorted((c.start, c.end) for c in markdown_chunks(path.read_text()))
        stored = sorted((c.start, c.end) for c in store.chunks_of(conn, doc.id))
        assert stored == expected, doc.key
    dupes = conn.execute(
        "SELECT count(*) FROM (SELECT doc_id, start, end, content_hash FROM memory_chunks "
        "GROUP BY 1, 2, 3, 4 HAVING count(*) > 1)"
    ).fetchone()[0]
    assert dupes == 0
    rows = conn.execute(
        "SELECT id, embedding FROM memory_chunks WHERE gen=?", (gen.gen,)
    ).fetchall()
    vectors = VectorIndex.open(settings.faiss_path, conn, gen)
    conn.close()
    ids = {int(r[0]) for r in rows}
    assert vectors.ids() == ids
    mat = vectors_from_blobs([bytes(r[1]) for r in rows], int(gen.model.rpartition(":")[2]))
    for (chunk_id, _), vec in zip(rows, mat, strict=True):
        hits = vectors.search(vec, 50)
        assert int(chunk_id) in {i for i, s in hits if s > 0.999}
    return len(ids)


def test_eight_processes_index_and_add_at_once(oc_home) -> None:  # type: ignore[no-untyped-def]
    """4 index_all loops and 4 index_files writers run together while sessions grow."""
    for s in range(3):
        write_jsonl_session(oc_home.state, "main", f"s{s}", _turns(s, 0, 6))
    (oc_home.workspace / "MEMORY.md").write_text("# Memory\n\n- shared fact\n")
    procs = [_spawn(oc_home, INDEX_LOOP) for _ in range(4)]
    procs += [_spawn(oc_home, ADDER, str(k)) for k in range(4)]
    for round_ in range(6):
        for s in range(3):
            append_jsonl(
                oc_home.state / f"agents/main/sessions/s{s}.jsonl", _turns(s, 6 + 3 * round_, 3)
            )
        time.sleep(0.2)
    for p in procs:
        _out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err[-2000:]
    settings = oc_home.settings()
    index_all(settings, embedder=HashEmbedder())
    assert assert_store_consistent(settings) > 0
    conn = connect(settings.db_path)
    turns = conn.execute("SELECT count(*) FROM memory_turns").fetchone()[0]
    adders = conn.execute(
        "SELECT count(*) FROM memory_docs WHERE key LIKE 'file:memory/adder-%'"
    ).fetchone()[0]
    conn.close()
    assert turns == 3 * (6 + 18) and adders == 4


def test_second_index_run_waits_its_turn_with_exit_75(oc_home) -> None:  # type: ignore[no-untyped-def]
    """`infra index` while another holds the job lock exits 75 and changes nothing."""
    from openclaw_infra.core.locking import job_lock

    with job_lock(oc_home.settings().locks_dir, "index"):
        done = oc_home.run("index", extra_env=TEST_ENV)
    assert done.returncode == 75 and "already running" in done.stderr


@pytest.mark.slow
def test_sigkill_at_random_points_then_rerun_agrees(oc_home) -> None:  # type: ignore[no-untyped-def]
    """30 SIGKILLs at random moments of `infra index` while data changes; the rerun agrees."""
    rng = random.Random(3)
    env = {**oc_home.env, **TEST_ENV}
    for s in range(6):
        write_jsonl_session(oc_home.state, "main", f"k{s}", _turns(s, 0, 40))
    started = time.monotonic()
    first = subprocess.run(
        [sys.executable, "-m", "openclaw_infra", "index"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert first.returncode == 0, first.stderr
    typical = time.monotonic() - started
    killed = 0
    for round_ in range(30):
        session = rng.randrange(8)
        path = oc_home.state / f"agents/main/sessions/k{session}.jsonl"
        if path.exists():
            append_jsonl(path, _turns(session, 1000 + 10 * round_, 10))
        else:
            write_jsonl_session(oc_home.state, "main", f"k{session}", _turns(session, 0, 30))
        note = oc_home.workspace / "memory" / f"2026-01-{1 + round_ % 5:02d}.md"
        note.write_text(f"# Day\n\n## Round {round_}\n- fact r{round_}\n" * (1 + round_ % 3))
        if round_ % 7 == 3:
            (oc_home.workspace / "memory" / f"2026-01-{1 + (round_ + 2) % 5:02d}.md").unlink(
                missing_ok=True
            )
        proc = subprocess.Popen(
            [sys.executable, "-m", "openclaw_infra", "index"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.0, typical * 1.2))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            killed += 1
        proc.wait(timeout=60)
    assert killed >= 10  # most runs really died mid-way
    done = subprocess.run(
        [sys.executable, "-m", "openclaw_infra", "index"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert_store_consistent(oc_home.settings())
