"""Which query words the BM25 query keeps, from how many chunks hold each (document frequency).

FTS5 has to score every chunk that holds any word of an OR query before `ORDER BY rank` can
cut, so a query's cost is the sum of its words' document frequencies. In a large store a few
common words make that most of the store: at a million chunks, 45 ms of a 70 ms query
(benchmarks/million.py). Two bounds, both only in a large store:
- a word in more than `COMMON_FRACTION` of the chunks leaves the query (its IDF is small);
- the rest are kept rarest first until `POSTINGS_BUDGET` postings (the rarest word always
  stays, so a query never goes empty).
The dropped words are the ones BM25 weighs least; the dense side still sees the whole query.

Counting a word's chunks is a scan of its postings too, so counts are kept per searcher and
forgotten when the store's size moves by more than `STALE_FRACTION` (or another generation
becomes active): a count need only say whether a word is common, not be exact.
"""

from __future__ import annotations

import sqlite3

COMMON_FRACTION = 0.05  # query words in more of the chunks than this leave the BM25 query...
COMMON_MIN_CHUNKS = 20_000  # ...once the store is this big; so does the postings budget
POSTINGS_BUDGET = 25_000  # postings FTS5 may score per query in a large store (1M: 45 -> 18 ms)
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
        """`words` less the common ones (see the module docstring), in their order.

        `fraction` is `Fusion.common_fraction`: a stricter share, from QUALITY_MIN_CHUNKS."""
        limit = COMMON_FRACTION if total >= COMMON_MIN_CHUNKS else 1.0
        if fraction > 0 and total >= QUALITY_MIN_CHUNKS:
            limit = min(limit, fraction)
        if limit >= 1.0 or len(words) <= 1:
            return words
        df = {w: self._count(conn, gen, total, w) for w in words}
        kept = [w for w in words if df[w] <= limit * total]
        if total < COMMON_MIN_CHUNKS:
            rarest = set(sorted(words, key=lambda w: (df[w], w))[:2])
            return kept or [w for w in words if w in rarest]
        # the rarest words within the budget; the rarest always, even a common one
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
