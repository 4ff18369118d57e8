"""Hybrid recall: BM25 (SQLite FTS5) and dense vectors (FAISS), fused, de-duplicated.

`recall()` is the contract of `infra recall --json` (DESIGN.md): a pure function of settings
and query, so a resident service can later keep a `Searcher` warm and answer the same way.
Each query gathers candidates from both retrievers, scores every candidate on both (exact
cosine from the stored vector, BM25 from FTS5), blends the two, lets a window that overlaps a
better one of the same conversation give way (neighbouring windows share turns; returning
both spends the caller's character budget twice on the same lines), applies the optional
recency tie-break and cuts to `limit` and `max_chars`.

Results are notes from the past, never instructions: callers present them as data.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from openclaw_infra.core.errors import UsageError
from openclaw_infra.memory import freshness, store
from openclaw_infra.memory.chunking import render_turns
from openclaw_infra.memory.embedder import Embedder, get_embedder, model_name
from openclaw_infra.memory.indexer import check_model, model_mismatch
from openclaw_infra.memory.store import KINDS, Generation
from openclaw_infra.memory.vectors import FILE_NAME, VectorIndex

if TYPE_CHECKING:
    import numpy as np

    from openclaw_infra.core.config import Settings


@dataclass(frozen=True)
class Fusion:
    """How candidates are gathered, scored and de-duplicated. The defaults are the shipped
    configuration, chosen with `benchmarks/recall_quality.py` on the LoCoMo dev split; the
    benchmark also runs the single methods and OpenClaw's scheme through the other modes.

    mode: "hybrid" (cosine and BM25 blended, each candidate scored on both), "dense",
    "bm25", or "openclaw" (OpenClaw's memory_search: 0.7 vector + 0.3 text, a candidate that
    one retriever missed scoring 0 there).
    """

    mode: str = "hybrid"
    dense_weight: float = 0.7  # the rest is BM25, divided by the query's best BM25 score
    candidates: int = 100  # per retriever
    dedup: str = "merge"  # overlapping windows: "merge" into one, "drop" the weaker, "keep"
    merge_limit: int = 1  # windows that may widen one result (0 = no limit)
    recency_bonus: float = 0.05  # added at most, scaled by 0.5 ** (age / half-life)


SHIPPED = Fusion()
BM25_DEPTH = 1000  # BM25 scores read per query (candidates and the vector hits' text scores)
COMMON_FRACTION = 0.05  # query words in more of the chunks than this leave the BM25 query...
COMMON_MIN_CHUNKS = 20_000  # ...once the store is this big (see Searcher._informative)

_WORD = re.compile(r"\w+", re.UNICODE)
_STOPWORDS_TEXT = """
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further
had has have having he her here hers herself him himself his how i if in into is it its
itself just me more most my myself no nor not now of off on once only or other our ours
ourselves out over own same she should so some such than that the their theirs them
themselves then there these they this those through to too under until up very was we were
what when where which while who whom why will with would you your yours yourself yourselves
s t don did didn doesn isn wasn weren hasn haven hadn won wouldn shouldn couldn ve ll re d m
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


def query_words(text: str) -> list[str]:
    """The content words of a query, in order, without stopwords or repeats."""
    words: list[str] = []
    for word in _WORD.findall(text.lower()):
        if word not in STOPWORDS and word not in words:
            words.append(word)
    return words[:64]


def fts_query(text: str, words: Sequence[str] | None = None) -> str | None:
    """An FTS5 OR-query of the content words (quoted: user text is never FTS syntax)."""
    words = query_words(text) if words is None else words
    if not words:
        return None
    return " OR ".join('"' + w.replace('"', '""') + '"' for w in words)


def parse_when(text: str | None, settings: Settings, *, end: bool = False) -> float | None:
    """`--since/--until`: YYYY-MM-DD (a whole day in the user's timezone, inclusive), an ISO
    date-time, `today`, `yesterday`, or an age such as `7d`, `12h`, `2w`."""
    if text is None or not str(text).strip():
        return None
    value = str(text).strip()
    tz = settings.tz
    now = datetime.now(tz)
    age = re.fullmatch(r"(\d+)\s*([hdw])", value.lower())
    if age:
        n, unit = int(age[1]), age[2]
        delta = {"h": timedelta(hours=n), "d": timedelta(days=n), "w": timedelta(weeks=n)}[unit]
        return (now - delta).timestamp()
    if value.lower() in ("today", "yesterday"):
        day = now.date() - timedelta(days=1 if value.lower() == "yesterday" else 0)
        return _day_bound(day, tz, end)
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return _day_bound(date.fromisoformat(value), tz, end)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"cannot read the date {value!r}",
            hint="use YYYY-MM-DD, an ISO date-time, today, yesterday or 7d",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.timestamp()


def _day_bound(day: date, tz: Any, end: bool) -> float:
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    return (start + timedelta(days=1)).timestamp() - 1e-6 if end else start.timestamp()


@dataclass(frozen=True)
class Filters:
    since: float | None = None
    until: float | None = None
    kinds: tuple[str, ...] = ()
    agent: str | None = None

    @property
    def any(self) -> bool:
        return bool(self.since is not None or self.until is not None or self.kinds or self.agent)

    def sql(self, alias: str = "c") -> tuple[str, list[Any]]:
        parts: list[str] = []
        args: list[Any] = []
        if self.since is not None:
            parts.append(f"{alias}.ts >= ?")
            args.append(self.since)
        if self.until is not None:
            parts.append(f"{alias}.ts <= ?")
            args.append(self.until)
        if self.kinds:
            parts.append(f"{alias}.kind IN ({','.join('?' * len(self.kinds))})")
            args.extend(self.kinds)
        if self.agent:
            parts.append(f"{alias}.agent = ?")
            args.append(self.agent)
        return ("".join(" AND " + p for p in parts), args)


@dataclass
class _Candidate:
    id: int
    doc_id: int
    kind: str
    path: str
    agent: str | None
    session_id: str | None
    start: int
    end: int
    ts: float | None
    text: str
    dense: float = 0.0
    bm25: float = 0.0
    score: float = 0.0
    merged: int = 0  # windows widened into this one


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

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self.conn: sqlite3.Connection | None = store.open_store_reader(settings)
        self.gen: Generation | None = None
        self._vectors: VectorIndex | None = None
        self._identity_ok = False
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
        return model_name(self.settings.embedding_model)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder(self.settings)
        return self._embedder

    def _refresh(self) -> None:
        """Follow a generation switch and catch the vectors up with SQLite (cheap if none)."""
        if self.conn is None:
            return
        gen = store.active_generation(self.conn)
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
            self._vectors = VectorIndex.open(self.settings.data / FILE_NAME, self.conn, self.gen)
        return self._vectors

    def chunk_count(self) -> int:
        if self.conn is None or self.gen is None:
            return 0
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

    # --- the query ---------------------------------------------------------------------------
    def search(
        self,
        query: str,
        *,
        limit: int | None = None,
        since: str | None = None,
        until: str | None = None,
        sources: Iterable[str] = (),
        agent: str | None = None,
        min_score: float | None = None,
        max_chars: int | None = None,
        fusion: Fusion = SHIPPED,
        query_vector: np.ndarray | None = None,
        info: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One answer in the `infra recall --json` shape."""
        started = time.perf_counter()
        filters = self.filters(since=since, until=until, sources=sources, agent=agent)
        limit = self.settings.recall_limit if limit is None else limit
        if limit < 1:
            raise UsageError("--limit must be at least 1")
        if max_chars is not None and max_chars < 1:
            raise UsageError("--max-chars must be at least 1")
        self._refresh()
        results: list[dict[str, Any]] = []
        if query.strip() and self.gen is not None and self._has_chunks():
            qvec = query_vector if query_vector is not None else self.embed([query])[0]
            ranked = self.ranked(query, qvec, filters, limit, fusion)
            results = self._shape(ranked, limit, min_score, max_chars)
        return {
            "query": query,
            "took_ms": round((time.perf_counter() - started) * 1000, 1),
            "index": info if info is not None else self.index_info(),
            "results": results,
        }

    def filters(
        self, *, since: str | None, until: str | None, sources: Iterable[str], agent: str | None
    ) -> Filters:
        kinds = tuple(dict.fromkeys(sources))
        unknown = [k for k in kinds if k not in KINDS]
        if unknown:
            raise UsageError(
                f"unknown --source {unknown[0]!r}", hint="choose from " + ", ".join(KINDS)
            )
        return Filters(
            parse_when(since, self.settings),
            parse_when(until, self.settings, end=True),
            kinds,
            agent or None,
        )

    def ranked(
        self, query: str, qvec: np.ndarray, filters: Filters, limit: int, fusion: Fusion
    ) -> list[_Candidate]:
        """Candidates scored and ordered, overlapping windows resolved (before the cut)."""
        assert self.conn is not None and self.gen is not None
        k = max(fusion.candidates, limit * 4)
        allowed = self._allowed_ids(filters) if filters.any else None
        dense_hits = [] if fusion.mode == "bm25" else self.vectors.search(qvec, k, allowed)
        match = fts_query(query, self._informative(query_words(query)))
        # BM25 must score every match to rank them anyway, so one query returns a deep list:
        # its head are the text candidates, the rest scores the vector candidates (a match
        # ranked below it counts as 0, as a non-match does)
        deep = max(k, BM25_DEPTH) if fusion.mode == "hybrid" else k
        scored_text = (
            [] if fusion.mode == "dense" or match is None else self._bm25(match, filters, deep)
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
        if fusion.dedup in ("drop", "merge"):
            scored = resolve_overlaps(
                scored, merge=fusion.dedup == "merge", limit=limit, merge_limit=fusion.merge_limit
            )
            if fusion.dedup == "merge":
                self._render_merged(scored[:limit])
        half_life = self.settings.recall_recency_half_life_days
        if half_life > 0:
            now = time.time()
            for c in scored:
                if c.ts is not None:
                    age_days = max(0.0, (now - c.ts) / 86400)
                    c.score += fusion.recency_bonus * 0.5 ** (age_days / half_life)
            scored.sort(key=lambda c: (-c.score, c.id))
        return scored

    def _allowed_ids(self, filters: Filters) -> list[int]:
        assert self.conn is not None and self.gen is not None
        where, args = filters.sql()
        return [
            int(r[0])
            for r in self.conn.execute(
                f"SELECT c.id FROM memory_chunks c WHERE c.gen=?{where}",  # noqa: S608
                [self.gen.gen, *args],
            )
        ]

    def _bm25(self, match: str, filters: Filters, k: int) -> list[tuple[int, float]]:
        """Top `k` (id, BM25) of the active generation, best first."""
        assert self.conn is not None and self.gen is not None
        if not filters.any and not self._other_generation():
            # FTS5's own `ORDER BY rank LIMIT` path, no join: the common case, and the fast one
            rows = self.conn.execute(
                "SELECT rowid, -rank FROM memory_fts WHERE memory_fts MATCH ? "
                "ORDER BY rank LIMIT ?",
                (match, k),
            )
            return [(int(r[0]), float(r[1])) for r in rows]
        where, args = filters.sql()
        sql = (
            "SELECT c.id, -bm25(memory_fts) AS s FROM memory_fts "  # noqa: S608
            "JOIN memory_chunks c ON c.id = memory_fts.rowid "
            f"WHERE memory_fts MATCH ? AND c.gen=?{where} ORDER BY s DESC LIMIT ?"
        )
        rows = self.conn.execute(sql, [match, self.gen.gen, *args, k])
        return [(int(r[0]), float(r[1])) for r in rows]

    def _informative(self, words: list[str]) -> list[str]:
        """Drop words found in more than COMMON_FRACTION of the chunks from the BM25 query.

        Their BM25 weight is small (IDF of a word in 10% of chunks is ~2, a rare one's ~10)
        but they make FTS5 score most of a large store: at 100k chunks a few such words cost
        tens of milliseconds. The rarest words always stay, so a query never goes empty."""
        assert self.conn is not None
        total = self._vectors.count if self._vectors is not None else 0
        if total < COMMON_MIN_CHUNKS or len(words) <= 1:
            return words
        df = {
            w: int(
                self.conn.execute(
                    "SELECT count(*) FROM memory_fts WHERE memory_fts MATCH ?",
                    ('"' + w.replace('"', '""') + '"',),
                ).fetchone()[0]
            )
            for w in words
        }
        kept = [w for w in words if df[w] <= COMMON_FRACTION * total]
        return kept or sorted(words, key=lambda w: df[w])[:2]

    def _other_generation(self) -> bool:
        """True while a rebuild's rows share the FTS table with the active generation."""
        assert self.conn is not None and self.gen is not None
        row = self.conn.execute(
            "SELECT 1 FROM memory_generations WHERE gen != ? AND state = 'building'",
            (self.gen.gen,),
        ).fetchone()
        return row is not None

    def _load(self, ids: Sequence[int]) -> list[_Candidate]:
        assert self.conn is not None and self.gen is not None
        out: list[_Candidate] = []
        for start in range(0, len(ids), 500):
            part = list(ids[start : start + 500])
            marks = ",".join("?" * len(part))
            sql = (
                "SELECT id, doc_id, kind, path, agent, session_id, start, end, ts, text "  # noqa: S608
                f"FROM memory_chunks WHERE gen=? AND id IN ({marks})"
            )
            for r in self.conn.execute(sql, [self.gen.gen, *part]):
                out.append(
                    _Candidate(
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
        self, cands: Sequence[_Candidate], dense: dict[int, float], qvec: np.ndarray
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

    def _render_merged(self, cands: Sequence[_Candidate]) -> None:
        """Re-render widened session results from their stored turns."""
        assert self.conn is not None
        for c in cands:
            if c.merged:
                turns = store.turns_between(self.conn, c.doc_id, c.start, c.end)
                if turns:
                    c.text = render_turns(turns)
                    c.ts = turns[0].ts if turns[0].ts is not None else c.ts

    def _shape(
        self,
        ranked: Sequence[_Candidate],
        limit: int,
        min_score: float | None,
        max_chars: int | None,
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        budget = max_chars
        for c in ranked:
            if len(out) >= limit:
                break
            if min_score is not None and c.score < min_score:
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
                }
            )
        return out


def score(
    cands: list[_Candidate], dense: dict[int, float], text: dict[int, float], fusion: Fusion
) -> list[_Candidate]:
    """Blend each candidate's cosine and BM25 into one score in [0, 1], best first.

    The BM25 score is made comparable across queries by dividing by the query's best one;
    cosine is used as it is (unit vectors)."""
    top_text = max(text.values(), default=0.0)
    for c in cands:
        d = max(0.0, dense.get(c.id, 0.0))
        raw = max(0.0, text.get(c.id, 0.0))
        t = raw / top_text if top_text > 0 else 0.0
        c.dense, c.bm25 = d, t
        if fusion.mode == "dense":
            c.score = d
        elif fusion.mode == "bm25":
            c.score = t
        elif fusion.mode == "openclaw":
            c.score = 0.7 * d + 0.3 * t
        else:
            c.score = fusion.dense_weight * d + (1 - fusion.dense_weight) * t
    return sorted(cands, key=lambda c: (-c.score, c.id))


_PART = re.compile(r" \(part \d+/\d+\): ")


def resolve_overlaps(
    ranked: Sequence[_Candidate], *, merge: bool, limit: int, merge_limit: int = 0
) -> list[_Candidate]:
    """Neighbouring windows of one conversation share turns: keep the best of them, and with
    `merge` widen it by the weaker one's turns (one result, no line said twice).

    `merge_limit` caps how many windows may widen one result, and only candidates ranked
    above the `limit`-th kept result are merged in, so weak windows never inflate a result
    past what the caller's character budget can take."""
    kept: list[_Candidate] = []
    by_doc: dict[tuple[int, int], list[_Candidate]] = {}
    for c in ranked:
        if merge and len(kept) >= limit:
            break
        # a "(part k/n)" chunk holds the rest of a long message that the window over the
        # same turn cuts off: it is its own result, never folded into that window
        lane = (c.doc_id, c.id if _PART.search(c.text, 0, 400) else -1)
        mates = by_doc.setdefault(lane, [])
        hit = next((k for k in mates if c.start <= k.end and k.start <= c.end), None)
        if hit is None:
            mates.append(c)
            kept.append(c)
        elif (
            merge
            and c.kind == "session"
            and (c.start < hit.start or c.end > hit.end)
            and (not merge_limit or hit.merged < merge_limit)
        ):
            hit.start, hit.end = min(hit.start, c.start), max(hit.end, c.end)
            hit.merged += 1
    return kept


def recall(
    settings: Settings,
    query: str,
    *,
    limit: int | None = None,
    since: str | None = None,
    until: str | None = None,
    sources: Iterable[str] = (),
    agent: str | None = None,
    min_score: float | None = None,
    max_chars: int | None = None,
    embedder: Embedder | None = None,
) -> dict[str, Any]:
    """The `infra recall --json` object for one query (DESIGN.md contract)."""
    searcher = Searcher(settings, embedder)
    try:
        return searcher.search(
            query,
            limit=limit,
            since=since,
            until=until,
            sources=sources,
            agent=agent,
            min_score=min_score,
            max_chars=max_chars,
        )
    finally:
        searcher.close()


def answer_batch(
    searcher: Searcher,
    queries: Sequence[str],
    *,
    limit: int | None = None,
    since: str | None = None,
    until: str | None = None,
    sources: Iterable[str] = (),
    agent: str | None = None,
    min_score: float | None = None,
    max_chars: int | None = None,
    fusion: Fusion = SHIPPED,
) -> Iterator[dict[str, Any]]:
    """One answer per query, in order, from an open `Searcher` (batch mode, the service);
    query vectors are computed 64 at a time."""
    sources = tuple(sources)
    info = searcher.index_info()
    live = searcher.gen is not None and searcher.chunk_count() > 0
    for start in range(0, len(queries), 64):
        part = queries[start : start + 64]
        texts = [q for q in part if q.strip()]
        vectors = searcher.embed(texts) if live and texts else None
        row = 0
        for q in part:
            vec = None
            if vectors is not None and q.strip():
                vec = vectors[row]
                row += 1
            yield searcher.search(
                q,
                limit=limit,
                since=since,
                until=until,
                sources=sources,
                agent=agent,
                min_score=min_score,
                max_chars=max_chars,
                fusion=fusion,
                query_vector=vec,
                info=info,
            )


def recall_batch(
    settings: Settings,
    queries: Sequence[str],
    *,
    embedder: Embedder | None = None,
    **options: Any,
) -> Iterator[dict[str, Any]]:
    """`infra recall --batch`: `answer_batch` over a store opened for this batch."""
    searcher = Searcher(settings, embedder)
    try:
        yield from answer_batch(searcher, queries, **options)
    finally:
        searcher.close()
