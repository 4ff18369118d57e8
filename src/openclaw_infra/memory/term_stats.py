"""Which query words the BM25 query keeps, from how many chunks hold each (document frequency).

FTS5 has to score every chunk that holds any word of an OR query before `ORDER BY rank` can
cut, so a query's cost is the sum of its words' document frequencies (postings). In a large
store a few common words make that most of the store: at a million chunks, 45 ms of a 70 ms
query (benchmarks/million.py). So from `BUDGET_MIN_CHUNKS` on, the words are kept rarest
first until `POSTINGS_BUDGET` postings; the rarest word always stays, so a query never goes
empty. The dropped words are the ones BM25 weighs least, and the dense side still sees the
whole query. This replaced a rule that dropped every word in over 5% of the chunks from
20,000 chunks on, which cost 0.027 of recall@10 on LoCoMo made to bite as in a large store;
the budget costs nothing as at 20,000 chunks, 0.001 as at 100,000 and 0.044 as at a million
(benchmarks/bm25_budget.py).

Counting a word's chunks is a scan of its postings too, so counts are kept per searcher and
forgotten when the store's size moves by more than `STALE_FRACTION` (or another generation
becomes active): a count need only say whether a word is common, not be exact.
"""

from __future__ import annotations

import sqlite3

POSTINGS_BUDGET = 50_000  # postings FTS5 may score per query (1M chunks: p50 71 -> 46 ms)
BUDGET_MIN_CHUNKS = 20_000  # smaller stores: no query comes near the budget, nothing counted
QUALITY_MIN_CHUNKS = 200  # Fusion.common_fraction applies from this size (a word's share of
# a handful of chunks says nothing about how common it is)
STALE_FRACTION = 0.02
MAX_CACHED = 50_000  # words; past it the counts start over (a few MB at most)


class TermStats:
    """Document frequencies of query words in one generation, counted once and remembered."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._basis: tuple[int, int] = (-1, 0)  # (generation, chunk count) they were read at

    def informative(
        self, conn: sqlite3.Connection, gen: int, total: int, words: list[str], fraction: float
    ) -> list[str]:
        """`words` within the postings budget (see the module docstring), in their order.

        `fraction` is `Fusion.common_fraction` (0 in the shipped ranking): words in more of
        the chunks than that leave the query, in a store of QUALITY_MIN_CHUNKS or more."""
        share = fraction if fraction > 0 and total >= QUALITY_MIN_CHUNKS else 1.0
        large = total >= BUDGET_MIN_CHUNKS
        if len(words) <= 1 or (share >= 1.0 and not large):
            return words
        df = {w: self._count(conn, gen, total, w) for w in words}
        kept = [w for w in words if df[w] <= share * total]
        if not large:
            rarest = set(sorted(words, key=lambda w: (df[w], w))[:2])
            return kept or [w for w in words if w in rarest]
        chosen: set[str] = set()
        spent = 0
        for w in sorted(kept or words, key=lambda w: (df[w], w)):
            if chosen and spent + df[w] > POSTINGS_BUDGET:
                break
            chosen.add(w)
            spent += df[w]
        return [w for w in words if w in chosen]

    def _count(self, conn: sqlite3.Connection, gen: int, total: int, word: str) -> int:
        basis_gen, basis_total = self._basis
        moved = abs(total - basis_total) > STALE_FRACTION * max(basis_total, 1)
        if basis_gen != gen or moved or len(self._counts) >= MAX_CACHED:
            self._counts.clear()
            self._basis = (gen, total)
        count = self._counts.get(word)
        if count is None:
            row = conn.execute(
                "SELECT count(*) FROM memory_fts WHERE memory_fts MATCH ?",
                ('"' + word.replace('"', '""') + '"',),
            ).fetchone()
            count = self._counts[word] = int(row[0])
        return count
