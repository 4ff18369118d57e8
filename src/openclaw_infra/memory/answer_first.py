"""Answer-first ranking: the turn that answers comes before the lines that only point at it.

Two rules, both about where the answer lives rather than how well a text matches:

- A derived line (a digest or summary bullet) cites the transcript turn it came from as
  `[<session>#<entry>]`. A digest's "Open questions" line repeats the user's question word
  for word, so it matches the query better than the turn that answered it. When a derived
  result ranks in the top `limit`, the transcript window holding the turn its best-matching
  line cites is placed just above it, at its score (once, however many lines cite it), and
  the derived line stays below as its context.
- A conversation window that ends on a question would make the reader look for the reply
  elsewhere: such a window is widened by the turn that follows it (the same session).

Both work on the candidates `search.Searcher` has already ranked; the SQL lookups are
small (a few rows per result).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence

from openclaw_infra.memory.ranking import Candidate, query_words

# `[<session id>#<entry id>]`, as the hourly and daily summaries write their provenance
CITATION = re.compile(r"\[([A-Za-z0-9][A-Za-z0-9_.:-]{0,127})#([A-Za-z0-9_-]{1,64})\]")
DERIVED_KINDS = frozenset({"summary", "memory"})
_QUESTION_END = re.compile(r"\?[\s\"')\]»”’]*$")


def best_cited(text: str, words: Sequence[str]) -> tuple[str, str] | None:
    """The citation on the line of `text` sharing the most query words (the first such line
    on a tie); None when no line cites a turn or no cited line shares a word."""
    wanted = set(words)
    best: tuple[int, tuple[str, str]] | None = None
    for line in text.splitlines():
        cites = CITATION.findall(line)
        if not cites:
            continue
        shared = len(wanted.intersection(query_words(CITATION.sub(" ", line))))
        if shared and (best is None or shared > best[0]):
            best = (shared, (cites[0][0], cites[0][1]))
    return best[1] if best else None


def source_window(
    conn: sqlite3.Connection, gen: int, session_id: str, entry_id: str
) -> tuple[int, int, int] | None:
    """(chunk id, document id, turn position) of the conversation window holding the cited
    turn: the one starting at or just before it, so the turns after it (the reply) come
    along."""
    row = conn.execute(
        "SELECT t.doc_id, t.position FROM memory_turns t JOIN memory_docs d ON d.id = t.doc_id "
        "WHERE d.gen = ? AND d.session_id = ? AND t.entry_id = ? LIMIT 1",
        (gen, session_id, entry_id),
    ).fetchone()
    if row is None:
        return None
    doc_id, position = int(row[0]), int(row[1])
    hit = conn.execute(
        "SELECT id FROM memory_chunks WHERE gen = ? AND doc_id = ? AND start <= ? AND end >= ? "
        "ORDER BY start DESC, id LIMIT 1",
        (gen, doc_id, position, position),
    ).fetchone()
    return (int(hit[0]), doc_id, position) if hit else None


def sources_first(
    ranked: list[Candidate],
    limit: int,
    words: Sequence[str],
    *,
    conn: sqlite3.Connection,
    gen: int,
    load: Callable[[Sequence[int]], list[Candidate]] | None,
) -> list[Candidate]:
    """`ranked` with the source window of each derived result in the top `limit` placed
    just above it (see the module docstring). `load` reads chunks by id; None (a filtered
    query, whose filters the window may fail) moves only windows already ranked."""
    out: list[Candidate] = []
    rest = list(ranked)
    while rest and len(out) < limit:
        c = rest.pop(0)
        cited = best_cited(c.text, words) if c.kind in DERIVED_KINDS else None
        found = source_window(conn, gen, *cited) if cited else None
        if found is not None and not any(_holds(o, *found[1:]) for o in out):
            chunk_id, doc_id, position = found
            source = next((r for r in rest if _holds(r, doc_id, position)), None)
            if source is not None:
                rest.remove(source)
            elif load is not None:
                loaded = load([chunk_id])
                source = loaded[0] if loaded else None
            if source is not None:
                source.score = max(source.score, c.score)
                out.append(source)
        out.append(c)
    return out + rest


def _holds(c: Candidate, doc_id: int, position: int) -> bool:
    return c.kind == "session" and c.doc_id == doc_id and c.start <= position <= c.end


def ends_on_matched_question(text: str, words: Sequence[str]) -> bool:
    """True when the last line of a rendered window is a question and shares the most query
    words of all its lines (what matched is the question, so its reply is what is wanted)."""
    lines = [line for line in text.rstrip().splitlines() if line.strip()]
    if not lines or not _QUESTION_END.search(lines[-1]):
        return False
    wanted = set(words)
    shared = [len(wanted.intersection(query_words(line))) for line in lines]
    return shared[-1] > 0 and shared[-1] == max(shared)


def widen_questions(
    conn: sqlite3.Connection, cands: Sequence[Candidate], words: Sequence[str]
) -> None:
    """Widen each conversation window that ends on the question the query matched by the
    turn after it, unless another of `cands` holds that turn (marked `merged`, so the caller
    re-renders it from the stored turns)."""
    for c in cands:
        if c.kind != "session" or not ends_on_matched_question(c.text, words):
            continue
        row = conn.execute(
            "SELECT position FROM memory_turns WHERE doc_id = ? AND position > ? "
            "ORDER BY position LIMIT 1",
            (c.doc_id, c.end),
        ).fetchone()
        if row is None or any(
            o.doc_id == c.doc_id and o.start <= int(row[0]) <= o.end for o in cands
        ):
            continue  # no reply yet, or another result shows it
        c.end = int(row[0])
        c.merged += 1
