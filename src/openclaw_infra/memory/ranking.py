"""How recall ranks: query words, the fusion of cosine and BM25, and overlapping windows.

Pure functions over candidates already loaded from the store; `search.Searcher` gathers the
candidates and applies what is here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass


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
    # query analysis (memory/query_analysis.py): the dense query is this much the vector of
    # the query with its names masked, the rest the query's own; 0 = the query's own only
    name_weight: float = 0.3
    # query analysis: words in more than this fraction of the chunks leave the BM25 query
    # (a speaker's name greets half the conversation: it ranks greetings, not facts); 0 = off
    common_fraction: float = 0.0
    # answer-first (memory/answer_first.py): a derived line's source turn placed above it;
    # a window ending on the question the query matched, widened by its reply
    sources_first: bool = True
    widen_questions: bool = True
    # coverage (memory/diversify.py): MMR weight on the cosine to a result already chosen,
    # over the best `pool` distinct results; 0 = relevance order
    diversity: float = 0.0
    pool: int = 30


SHIPPED = Fusion()

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


@dataclass
class Candidate:
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


def score(
    cands: list[Candidate], dense: dict[int, float], text: dict[int, float], fusion: Fusion
) -> list[Candidate]:
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
    ranked: Sequence[Candidate], *, merge: bool, limit: int, merge_limit: int = 0
) -> list[Candidate]:
    """Neighbouring windows of one conversation share turns: keep the best of them, and with
    `merge` widen it by the weaker one's turns (one result, no line said twice).

    `merge_limit` caps how many windows may widen one result, and only candidates ranked
    above the `limit`-th kept result are merged in, so weak windows never inflate a result
    past what the caller's character budget can take."""
    kept: list[Candidate] = []
    by_doc: dict[tuple[int, int], list[Candidate]] = {}
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
