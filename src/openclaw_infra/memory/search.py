"""Hybrid recall: BM25 (SQLite FTS5) and dense vectors (FAISS), fused, de-duplicated.

`recall()` is the contract of `infra recall --json` (DESIGN.md): a pure function of settings
and a `RecallQuery`, so the resident service keeps a `Searcher` warm and answers the same way.
Each query gathers candidates from both retrievers, scores every candidate on both (exact
cosine from the stored vector, BM25 from FTS5), blends the two, lets a window that overlaps a
better one of the same conversation give way (neighbouring windows share turns; returning
both spends the caller's character budget twice on the same lines), applies the optional
recency tie-break, puts answers first (`answer_first`: a digest line's source turn above it,
a window ending on the matched question widened by its reply) and cuts to `limit` and
`max_chars`. The dense query masks the names it holds in part (`query_analysis`). How
candidates are scored and merged is in `ranking`; what each step bought is in
benchmarks/recall_quality.py.

Results are notes from the past, never instructions: callers present them as data.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from openclaw_infra.core.db import open_reader
from openclaw_infra.memory import freshness, store
from openclaw_infra.memory.answer_first import sources_first, widen_questions
from openclaw_infra.memory.chunking import render_turns
from openclaw_infra.memory.diversify import mmr
from openclaw_infra.memory.embedder import Embedder, configured_name, get_embedder
from openclaw_infra.memory.model_check import check_model, model_mismatch
from openclaw_infra.memory.query import RecallQuery
from openclaw_infra.memory.query_analysis import dense_queries
from openclaw_infra.memory.ranking import (
    SHIPPED,
    Candidate,
    Fusion,
    fts_query,
    query_words,
    resolve_overlaps,
    score,
)
from openclaw_infra.memory.render import UNTRUSTED_NOTE
from openclaw_infra.memory.store import Generation
from openclaw_infra.memory.term_stats import TermStats
from openclaw_infra.memory.vectors import VectorIndex

if TYPE_CHECKING:
    import numpy as np

    from openclaw_infra.core.config import Settings

BM25_DEPTH = 1000  # BM25 scores read per query (candidates and the vector hits' text scores)


def citation(kind: str, path: str, session_id: str | None, start: int, end: int) -> str:
    """`path#L12-L30` for files; `path#<session>:seq12-30` for sessions in an agent store."""
    if path.endswith(".sqlite"):
        return f"{path}#{session_id}:seq{start}-{end}"
    return f"{path}#L{start}" if start == end else f"{path}#L{start}-L{end}"


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Searcher:
    """An open store plus its vectors, reusable across queries (batch mode, a service)."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        *,
        generation: Generation | None = None,
    ) -> None:
        self.settings = settings
        self._embedder = embedder
        self._pinned = generation  # a rebuild's shadow, scored before it is switched to
        self.conn: sqlite3.Connection | None = open_reader(settings.db_path)
        self.gen: Generation | None = None
        self._vectors: VectorIndex | None = None
        self._identity_ok = False
        self._terms = TermStats()
        self._refresh()

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    @property
    def embedder_name(self) -> str:
        """The configured model's name, without loading it."""
        if self._embedder is not None:
            return self._embedder.name
        return configured_name(self.settings)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder(self.settings)
        return self._embedder

    def _refresh(self) -> None:
        """Follow a generation switch and catch the vectors up with SQLite (cheap if none)."""
        if self.conn is None:
            return
        gen = self._pinned or store.active_generation(self.conn)
        if gen is None:
            self.gen = None
            return
        check_model(gen, self.embedder_name)
        if self.gen is None or gen.gen != self.gen.gen:
            self.gen, self._vectors, self._identity_ok = gen, None, False
        elif self._vectors is not None:
            self._vectors.catch_up(self.conn)

    @property
    def vectors(self) -> VectorIndex:
        assert self.conn is not None and self.gen is not None
        if self._vectors is None:
            self._vectors = VectorIndex.of(self.settings, self.conn, self.gen)
        return self._vectors

    def chunk_count(self) -> int:
        if self.conn is None or self.gen is None:
            return 0
        if self._vectors is not None:  # caught up: one vector per chunk, no count(*) scan
            return self._vectors.count
        return store.chunk_count(self.conn, self.gen.gen)

    def _has_chunks(self) -> bool:
        if self.conn is None or self.gen is None:
            return False
        row = self.conn.execute(
            "SELECT 1 FROM memory_chunks WHERE gen=? LIMIT 1", (self.gen.gen,)
        ).fetchone()
        return row is not None

    def index_info(self) -> dict[str, Any]:
        fresh = freshness.freshness(self.conn, self.settings)
        return {
            "chunks": self.chunk_count(),
            "model": self.gen.model if self.gen else None,
            "stale": fresh.stale,
            "lag_s": fresh.lag_s,
        }

    def embed(self, queries: Sequence[str]) -> np.ndarray:
        vectors = self.embedder.encode(list(queries))
        if not self._identity_ok and self.gen is not None:
            actual = str(self.embedder.identity)
            if actual != self.gen.model:
                raise model_mismatch(self.gen.model, actual)
            self._identity_ok = True
        return vectors

    def query_vectors(self, texts: Sequence[str], fusion: Fusion = SHIPPED) -> np.ndarray:
        """The dense side of each query (names masked by `fusion.name_weight`)."""
        return dense_queries(self.embed, texts, fusion.name_weight)

    # --- the query ---------------------------------------------------------------------------
    def search(
        self,
        query: RecallQuery,
        *,
        fusion: Fusion = SHIPPED,
        query_vector: np.ndarray | None = None,
        info: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One answer in the `infra recall --json` shape."""
        started = time.perf_counter()
        self._refresh()
        results: list[dict[str, Any]] = []
        if query.text.strip() and self.gen is not None and self._has_chunks():
            qvec = (
                query_vector
                if query_vector is not None
                else self.query_vectors([query.text], fusion)[0]
            )
            results = self._shape(self.ranked(query, qvec, fusion), query)
        return {
            "query": query.text,
            "took_ms": round((time.perf_counter() - started) * 1000, 1),
            "index": info if info is not None else self.index_info(),
            "note": UNTRUSTED_NOTE,
            "results": results,
        }

    def ranked(self, query: RecallQuery, qvec: np.ndarray, fusion: Fusion) -> list[Candidate]:
        """Candidates scored and ordered, overlapping windows resolved (before the cut)."""
        assert self.conn is not None and self.gen is not None
        limit = query.limit
        k = max(fusion.candidates, limit * 4)
        allowed = self._allowed_ids(query) if query.filtered else None
        dense_hits = [] if fusion.mode == "bm25" else self.vectors.search(qvec, k, allowed)
        words = query_words(query.text)
        total = self._vectors.count if self._vectors is not None else 0
        kept = self._terms.informative(
            self.conn, self.gen.gen, total, words, fusion.common_fraction
        )
        match = fts_query(query.text, kept)
        # BM25 must score every match to rank them anyway, so one query returns a deep list:
        # its head are the text candidates, the rest scores the vector candidates (a match
        # ranked below it counts as 0, as a non-match does)
        deep = max(k, BM25_DEPTH) if fusion.mode == "hybrid" else k
        scored_text = (
            [] if fusion.mode == "dense" or match is None else self._bm25(match, query, deep)
        )
        bm25_hits = scored_text[:k]
        ids = list(dict.fromkeys([i for i, _ in dense_hits] + [i for i, _ in bm25_hits]))
        cands = self._load(ids)
        dense = dict(dense_hits)
        text = dict(bm25_hits)
        if fusion.mode == "hybrid":  # OpenClaw scores a candidate 0 where a retriever missed it
            self._fill_dense(cands, dense, qvec)
            text = dict(scored_text)
        # nothing in common with the query (no shared term, no positive similarity): not a hit
        scored = [c for c in score(cands, dense, text, fusion) if c.score > 0]
        pool = max(limit, fusion.pool) if fusion.diversity > 0 else limit
        if fusion.dedup in ("drop", "merge"):
            scored = resolve_overlaps(
                scored, merge=fusion.dedup == "merge", limit=pool, merge_limit=fusion.merge_limit
            )
        half_life = self.settings.recall_recency_half_life_days
        if half_life > 0:
            now = time.time()
            for c in scored:
                if c.ts is not None:
                    age_days = max(0.0, (now - c.ts) / 86400)
                    c.score += fusion.recency_bonus * 0.5 ** (age_days / half_life)
            scored.sort(key=lambda c: (-c.score, c.id))
        return self._arrange(scored, query, words, fusion)

    def _arrange(
        self, scored: list[Candidate], query: RecallQuery, words: list[str], fusion: Fusion
    ) -> list[Candidate]:
        """The top `limit` in their final order and form: coverage, answers first, merged
        windows rendered."""
        assert self.conn is not None and self.gen is not None
        limit = query.limit
        if fusion.diversity > 0 and len(scored) > 1:
            head = scored[: max(limit, fusion.pool)]
            vectors = self._unit_vectors([c.id for c in head])
            scored = mmr(head, vectors, limit, fusion.diversity) + scored[len(head) :]
        if fusion.sources_first:
            load = None if query.filtered else self._load
            scored = sources_first(
                scored, limit, words, conn=self.conn, gen=self.gen.gen, load=load
            )
        if fusion.widen_questions:
            widen_questions(self.conn, scored[:limit], words)
        if fusion.dedup == "merge" or fusion.widen_questions:
            self._render_merged(scored[:limit])
        return scored

    def _allowed_ids(self, query: RecallQuery) -> list[int]:
        assert self.conn is not None and self.gen is not None
        where, args = query.where()
        return [
            int(r[0])
            for r in self.conn.execute(
                f"SELECT c.id FROM memory_chunks c WHERE c.gen=?{where}",  # noqa: S608
                [self.gen.gen, *args],
            )
        ]

    def _bm25(self, match: str, query: RecallQuery, k: int) -> list[tuple[int, float]]:
        """Top `k` (id, BM25) of the active generation, best first."""
        assert self.conn is not None and self.gen is not None
        if not query.filtered and not self._other_generation():
            # FTS5's own `ORDER BY rank LIMIT` path, no join: the common case, and the fast one
            rows = self.conn.execute(
                "SELECT rowid, -rank FROM memory_fts WHERE memory_fts MATCH ? "
                "ORDER BY rank LIMIT ?",
                (match, k),
            )
            return [(int(r[0]), float(r[1])) for r in rows]
        where, args = query.where()
        sql = (
            "SELECT c.id, -bm25(memory_fts) AS s FROM memory_fts "  # noqa: S608
            "JOIN memory_chunks c ON c.id = memory_fts.rowid "
            f"WHERE memory_fts MATCH ? AND c.gen=?{where} ORDER BY s DESC LIMIT ?"
        )
        rows = self.conn.execute(sql, [match, self.gen.gen, *args, k])
        return [(int(r[0]), float(r[1])) for r in rows]

    def _other_generation(self) -> bool:
        """True while a rebuild's rows share the FTS table with the active generation."""
        assert self.conn is not None and self.gen is not None
        row = self.conn.execute(
            "SELECT 1 FROM memory_generations WHERE gen != ? AND state = 'building'",
            (self.gen.gen,),
        ).fetchone()
        return row is not None

    def _load(self, ids: Sequence[int]) -> list[Candidate]:
        assert self.conn is not None and self.gen is not None
        out: list[Candidate] = []
        for start in range(0, len(ids), 500):
            part = list(ids[start : start + 500])
            marks = ",".join("?" * len(part))
            sql = (
                "SELECT id, doc_id, kind, path, agent, session_id, start, end, ts, text "  # noqa: S608
                f"FROM memory_chunks WHERE gen=? AND id IN ({marks})"
            )
            for r in self.conn.execute(sql, [self.gen.gen, *part]):
                out.append(
                    Candidate(
                        int(r[0]),
                        int(r[1]),
                        r[2],
                        r[3],
                        r[4],
                        r[5],
                        int(r[6]),
                        int(r[7]),
                        r[8],
                        r[9],
                    )
                )
        return out

    def _fill_dense(
        self, cands: Sequence[Candidate], dense: dict[int, float], qvec: np.ndarray
    ) -> None:
        """Exact cosine for candidates the vector search did not return (from SQLite)."""
        import numpy as np

        assert self.conn is not None
        missing = [c.id for c in cands if c.id not in dense]
        dim = qvec.shape[-1]
        for start in range(0, len(missing), 500):
            part = missing[start : start + 500]
            marks = ",".join("?" * len(part))
            rows = self.conn.execute(
                f"SELECT id, embedding FROM memory_chunks WHERE id IN ({marks})",  # noqa: S608
                part,
            ).fetchall()
            if not rows:
                continue
            mat = np.frombuffer(b"".join(bytes(r[1]) for r in rows), dtype=np.float32)
            sims = mat.reshape(len(rows), dim) @ qvec.astype(np.float32)
            for r, sim in zip(rows, sims, strict=True):
                dense[int(r[0])] = float(sim)

    def _unit_vectors(self, ids: Sequence[int]) -> np.ndarray:
        """The stored vectors of `ids`, in that order, scaled to unit length."""
        import numpy as np

        assert self.conn is not None
        marks = ",".join("?" * len(ids))
        rows = dict(
            self.conn.execute(
                f"SELECT id, embedding FROM memory_chunks WHERE id IN ({marks})",  # noqa: S608
                list(ids),
            ).fetchall()
        )
        mat = np.stack([np.frombuffer(bytes(rows[i]), dtype=np.float32) for i in ids])
        norms = np.linalg.norm(mat, axis=1, keepdims=True)
        return np.asarray(mat / np.maximum(norms, 1e-12), dtype=np.float32)

    def _render_merged(self, cands: Sequence[Candidate]) -> None:
        """Re-render widened session results from their stored turns."""
        assert self.conn is not None
        for c in cands:
            if c.merged:
                turns = store.turns_between(self.conn, c.doc_id, c.start, c.end)
                if turns:
                    c.text = render_turns(turns)
                    c.ts = turns[0].ts if turns[0].ts is not None else c.ts

    def _shape(self, ranked: Sequence[Candidate], query: RecallQuery) -> list[dict[str, Any]]:
        """The cut: `limit` results at most, none under `min_score`, `max_chars` in all."""
        out: list[dict[str, Any]] = []
        budget = query.max_chars
        for c in ranked:
            if len(out) >= query.limit:
                break
            if query.min_score is not None and c.score < query.min_score:
                break
            text = c.text
            if budget is not None:
                if budget <= 0:
                    break
                if len(text) > budget:
                    text = text[:budget]
                budget -= len(text)
            out.append(
                {
                    "text": text,
                    "score": round(c.score, 4),
                    "kind": c.kind,
                    "path": c.path,
                    "start": c.start,
                    "end": c.end,
                    "timestamp": _iso(c.ts),
                    "session_id": c.session_id,
                    "agent": c.agent,
                    "citation": citation(c.kind, c.path, c.session_id, c.start, c.end),
                    "untrusted": True,  # quoted data for the agent, never instructions
                }
            )
        return out


def recall(
    settings: Settings, query: RecallQuery, *, embedder: Embedder | None = None
) -> dict[str, Any]:
    """The `infra recall --json` object for one query (DESIGN.md contract)."""
    searcher = Searcher(settings, embedder)
    try:
        return searcher.search(query)
    finally:
        searcher.close()


def answer_batch(
    searcher: Searcher, query: RecallQuery, texts: Sequence[str], *, fusion: Fusion = SHIPPED
) -> Iterator[dict[str, Any]]:
    """One answer per text, in order, each with `query`'s options, from an open `Searcher`
    (batch mode, the service); query vectors are computed 64 at a time."""
    info = searcher.index_info()
    live = searcher.gen is not None and searcher.chunk_count() > 0
    for start in range(0, len(texts), 64):
        part = texts[start : start + 64]
        words = [t for t in part if t.strip()]
        vectors = searcher.query_vectors(words, fusion) if live and words else None
        row = 0
        for text in part:
            vec = None
            if vectors is not None and text.strip():
                vec = vectors[row]
                row += 1
            yield searcher.search(
                replace(query, text=text), fusion=fusion, query_vector=vec, info=info
            )


def recall_batch(
    settings: Settings,
    query: RecallQuery,
    texts: Sequence[str],
    *,
    embedder: Embedder | None = None,
    fusion: Fusion = SHIPPED,
) -> Iterator[dict[str, Any]]:
    """`infra recall --batch`: `answer_batch` over a store opened for this batch."""
    searcher = Searcher(settings, embedder)
    try:
        yield from answer_batch(searcher, query, texts, fusion=fusion)
    finally:
        searcher.close()
