"""The vector index's form at scale: flat while it fits the budget, IVF-SQ8 past it, trained
deterministically, rescored exactly, retrained when the store outgrows it. Real SQLite and
FAISS; the switch-over size is set low through the setting so a few thousand chunks cross it.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import numpy as np
import pytest

from openclaw_infra.core.checks import OK, HealthContext, open_readonly
from openclaw_infra.core.db import connect, transaction
from openclaw_infra.memory import store
from openclaw_infra.memory.checks import check_vectors
from openclaw_infra.memory.chunking import Chunk
from openclaw_infra.memory.indexer import save_vectors
from openclaw_infra.memory.vector_forms import FLAT, IVF_PQ, IVF_SQ8, Policy
from openclaw_infra.memory.vectors import VectorIndex, read_header

DIM = 64
MODEL = f"test-hash-embedder:{DIM}"
BUDGET_MB = 0.1  # 64 dimensions: flat up to 397 vectors, IVF-SQ8 up to 1456, then IVF-PQ
CENTRES = np.random.default_rng(0).standard_normal((40, DIM)).astype(np.float32)


def vectors_for(doc: int, n: int) -> np.ndarray:
    """Clustered unit vectors, the same for the same document number."""
    rng = np.random.default_rng(doc)
    v = CENTRES[rng.integers(0, len(CENTRES), n)] + 0.5 * rng.standard_normal((n, DIM))
    v = v.astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


class Store:
    """A real store whose documents hold synthetic vectors (no model needed)."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.conn: sqlite3.Connection = connect(settings.db_path)
        with transaction(self.conn):
            self.gen = store.create_generation(self.conn, MODEL, "active")
        self.docs = 0

    def add(self, n: int, per_doc: int = 100) -> None:
        while n > 0:
            k = min(per_doc, n)
            self.docs += 1
            vecs = vectors_for(self.docs, k)
            chunks = [Chunk(i, i, 1.7e9 + i, f"doc {self.docs} chunk {i}") for i in range(k)]
            with transaction(self.conn):
                doc_id = store.upsert_doc(
                    self.conn,
                    self.gen.gen,
                    f"t:{self.docs}",
                    kind="memory",
                    path=f"t/{self.docs}.md",
                    agent=None,
                    session_id=None,
                    fingerprint=None,
                    n_turns=0,
                )
                doc = store.get_doc(self.conn, self.gen.gen, f"t:{self.docs}")
                assert doc is not None and doc.id == doc_id
                store.insert_chunks(self.conn, doc, chunks, [v.tobytes() for v in vecs], MODEL)
            n -= k

    def drop_docs(self, keep: int) -> None:
        with transaction(self.conn):
            for (doc_id,) in self.conn.execute(
                "SELECT id FROM memory_docs WHERE id > ?", (keep,)
            ).fetchall():
                store.delete_doc(self.conn, int(doc_id))

    def save(self) -> None:
        save_vectors(self.settings, self.conn, self.gen)

    def open(self) -> VectorIndex:
        return VectorIndex.of(self.settings, self.conn, self.gen)

    def exact(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        rows = self.conn.execute(
            "SELECT id, embedding FROM memory_chunks WHERE gen=? ORDER BY id", (self.gen.gen,)
        ).fetchall()
        ids = np.array([r[0] for r in rows])
        sims = np.frombuffer(b"".join(r[1] for r in rows), np.float32).reshape(-1, DIM) @ query
        order = np.lexsort((ids, -sims))[:k]
        return [(int(ids[i]), float(sims[i])) for i in order]


@pytest.fixture
def small(oc_home):  # type: ignore[no-untyped-def]
    s = Store(
        oc_home.settings(embedding_model="test-hash-embedder", vector_index_budget_mb=BUDGET_MB)
    )
    yield s
    s.conn.close()


def queries(n: int) -> np.ndarray:
    return vectors_for(10_000, n)


def test_small_store_stays_flat(oc_home) -> None:  # type: ignore[no-untyped-def]
    """Under the default budget the index is exact flat, and the header says so."""
    s = Store(oc_home.settings(embedding_model="test-hash-embedder"))
    s.add(1000)
    s.save()
    header = read_header(s.settings.faiss_path)
    assert header is not None and header.form == FLAT and header.count == 1000
    q = queries(1)[0]
    assert [i for i, _ in s.open().search(q, 10)] == [i for i, _ in s.exact(q, 10)]


@pytest.mark.parametrize(("size", "kind"), [(1000, IVF_SQ8), (3000, IVF_PQ)])
def test_past_budget_ivf_with_every_list_probed_equals_flat(small, size, kind) -> None:  # type: ignore[no-untyped-def]
    """Past the budget the saved index is the most exact IVF form that fits; probing every
    list it returns exactly flat's hits with exact scores (rescored from the stored float32
    vectors)."""
    small.add(size)
    small.settings = small.settings.model_copy(update={"vector_index_nprobe": 1000})
    small.save()
    header = read_header(small.settings.faiss_path)
    assert header is not None and header.form == kind and header.count == size
    assert 4 <= header.nlist <= 64 and header.trained_on == size
    index = small.open()
    assert index.form.kind == kind
    for q in queries(20):
        got = index.search(q, 10)
        want = small.exact(q, 10)
        assert [i for i, _ in got] == [i for i, _ in want]
        assert [s for _, s in got] == pytest.approx([s for _, s in want], abs=1e-5)


def test_few_lists_probed_still_recall_most_and_score_exactly(small) -> None:  # type: ignore[no-untyped-def]
    """With the default probing of a few lists recall@10 against flat stays high, and every
    returned score is the exact cosine."""
    small.add(2000)
    small.settings = small.settings.model_copy(update={"vector_index_nprobe": 4})
    small.save()
    index = small.open()
    assert index.form.approximate and index.form.nlist > 4
    found = 0
    for q in queries(50):
        got = index.search(q, 10)
        exact = dict(small.exact(q, 2000))
        assert all(score == pytest.approx(exact[i], abs=1e-5) for i, score in got)
        found += len({i for i, _ in got} & {i for i, _ in small.exact(q, 10)})
    assert found / 500 >= 0.8


def test_training_is_deterministic(small) -> None:  # type: ignore[no-untyped-def]
    """The same store trains the same index: the saved files are byte-identical."""
    small.add(1200)
    small.save()
    first = small.settings.faiss_path.read_bytes()
    small.settings.faiss_path.unlink()
    small.save()
    assert small.settings.faiss_path.read_bytes() == first


def test_retrained_when_outgrown_and_flat_again_when_shrunk(oc_home) -> None:  # type: ignore[no-untyped-def]
    """Growing within a form keeps its centroids; outgrowing the budget retrains in a more
    compact form; shrinking back goes to flat. The saved index always matches SQLite."""
    s = Store(oc_home.settings(embedding_model="test-hash-embedder", vector_index_budget_mb=0.5))

    def header() -> Any:
        h = read_header(s.settings.faiss_path)
        assert h is not None
        return h

    s.add(1500)
    s.save()
    assert header().form == FLAT
    s.add(1000)
    s.save()
    assert (header().form, header().trained_on) == (IVF_SQ8, 2500)
    nlist = header().nlist
    s.add(2500)
    s.save()
    assert (header().form, header().trained_on, header().nlist) == (IVF_SQ8, 2500, nlist)
    s.add(5000)
    s.save()
    assert (header().form, header().trained_on, header().count) == (IVF_PQ, 10000, 10000)
    assert header().nlist > nlist
    s.drop_docs(keep=5)
    s.save()
    assert (header().form, header().count) == (FLAT, 500)
    ids = {int(r[0]) for r in s.conn.execute("SELECT id FROM memory_chunks")}
    assert s.open().ids() == ids
    s.conn.close()


def test_reader_reshapes_rather_than_growing_flat_past_budget(small) -> None:  # type: ignore[no-untyped-def]
    """An open index (the service's) that catches up past the budget turns IVF before adding,
    and holds every row."""
    small.add(300)
    small.save()
    index = small.open()
    assert index.form.kind == FLAT
    small.add(1500)
    added, _ = index.catch_up(small.conn)
    assert index.form.approximate and index.count == 1800
    assert index.ids() == {int(r[0]) for r in small.conn.execute("SELECT id FROM memory_chunks")}
    del added


def test_filtered_query_reaches_lists_not_probed(small) -> None:  # type: ignore[no-untyped-def]
    """A filter probes every list: an allowed chunk far from the query is still found."""
    small.add(2000)
    small.settings = small.settings.model_copy(update={"vector_index_nprobe": 1})
    small.save()
    index = small.open()
    q = queries(1)[0]
    farthest = small.exact(-q, 1)[0][0]  # the best match of the opposite query
    got = index.search(q, 5, allowed=[farthest])
    assert [i for i, _ in got] == [farthest]


def test_deletions_and_health_with_ivf(small) -> None:  # type: ignore[no-untyped-def]
    """Deleted chunks leave the IVF index on catch-up; `infra health` agrees with the file."""
    small.add(1500)
    small.save()
    small.drop_docs(keep=12)
    index = small.open()
    assert index.form.approximate and index.count == 1200
    assert index.ids() == {int(r[0]) for r in small.conn.execute("SELECT id FROM memory_chunks")}
    small.save()
    conn = open_readonly(small.settings)
    try:
        checks = list(check_vectors(HealthContext(small.settings, conn)))
    finally:
        assert conn is not None
        conn.close()
    assert [c.state for c in checks] == [OK]


def test_torn_ivf_file_is_rebuilt(small) -> None:  # type: ignore[no-untyped-def]
    """A truncated IVF file is derived data: opening rebuilds it from SQLite."""
    small.add(1000)
    small.save()
    raw = small.settings.faiss_path.read_bytes()
    small.settings.faiss_path.write_bytes(raw[: len(raw) // 2])
    index = small.open()
    assert index.form.kind == IVF_SQ8 and index.count == 1000


def test_policy_boundaries() -> None:
    """The most exact form that fits; no flip-flop just under a boundary; fourfold growth
    retrains."""
    policy = Policy(budget_mb=1.0)  # 64 dimensions: flat to 3971 vectors, IVF-SQ8 to 14563
    assert policy.wanted(3971, DIM).kind == FLAT
    sq8 = policy.wanted(3972, DIM)
    assert sq8.kind == IVF_SQ8 and sq8.trained_on == 3972
    assert policy.wanted(14564, DIM).kind == IVF_PQ
    assert not policy.due(sq8, 3900, DIM)  # shrunk a little: stays IVF
    assert policy.due(sq8, 1900, DIM)  # flat fits even at twice the size: flat again
    assert policy.due(sq8, 14564, DIM)  # outgrew IVF-SQ8
    pq = policy.wanted(20000, DIM)
    assert not policy.due(pq, 79999, DIM) and policy.due(pq, 80000, DIM)
