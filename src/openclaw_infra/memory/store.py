"""The memory store's SQLite truth: documents, turns, chunks (with embeddings), FTS5, and
index generations.

Everything FAISS holds can be rebuilt from here. Chunk ids come from AUTOINCREMENT, so they
only grow and are never reused: the FAISS file records the highest id it covers and the
deletion log's sequence it has applied, and catching up is "rows above that id, deletions
above that sequence". A *generation* is one complete index built with one embedding model;
`infra index --rebuild` fills a new generation beside the active one and switches over in
one transaction, so the old generation serves queries until the new one is complete.

Writers hold the store-write lock (`core.locking.store_write_lock`) and change rows inside
`core.db.transaction`; readers need neither. The tables are migrations in `core/schema.py`.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from openclaw_infra.memory.chunking import Chunk, Turn


@dataclass(frozen=True)
class Generation:
    gen: int
    model: str  # ModelIdentity as text, "all-MiniLM-L6-v2:384"
    state: str
    chunking: str


@dataclass(frozen=True)
class Doc:
    id: int
    gen: int
    key: str
    kind: str
    path: str
    agent: str | None
    session_id: str | None
    fingerprint: str | None
    n_turns: int


@dataclass(frozen=True)
class StoredChunk:
    id: int
    start: int
    end: int
    content_hash: str


def chunking_params() -> str:
    from openclaw_infra.memory import chunking

    return json.dumps(
        {
            "window_turns": chunking.WINDOW_TURNS,
            "window_stride": chunking.WINDOW_STRIDE,
            "turn_max_chars": chunking.TURN_MAX_CHARS,
            "markdown_max_chars": chunking.MARKDOWN_MAX_CHARS,
        },
        sort_keys=True,
    )


# --- generations ---------------------------------------------------------------------------


def _generation(row: sqlite3.Row | None) -> Generation | None:
    if row is None:
        return None
    return Generation(int(row["gen"]), str(row["model"]), str(row["state"]), str(row["chunking"]))


def active_generation(conn: sqlite3.Connection) -> Generation | None:
    return _generation(
        conn.execute("SELECT * FROM memory_generations WHERE state='active'").fetchone()
    )


def building_generation(conn: sqlite3.Connection) -> Generation | None:
    return _generation(
        conn.execute("SELECT * FROM memory_generations WHERE state='building'").fetchone()
    )


def create_generation(conn: sqlite3.Connection, model: str, state: str) -> Generation:
    now = time.time()
    cur = conn.execute(
        "INSERT INTO memory_generations(model, state, chunking, created_at, activated_at) "
        "VALUES (?,?,?,?,?)",
        (model, state, chunking_params(), now, now if state == "active" else None),
    )
    gen = _generation(
        conn.execute("SELECT * FROM memory_generations WHERE gen=?", (cur.lastrowid,)).fetchone()
    )
    assert gen is not None
    return gen


def activate(conn: sqlite3.Connection, new: Generation, old: Generation | None) -> None:
    """Switch queries to `new` (call inside the transaction that also drops `old`)."""
    if old is not None:
        conn.execute("UPDATE memory_generations SET state='retired' WHERE gen=?", (old.gen,))
    conn.execute(
        "UPDATE memory_generations SET state='active', activated_at=? WHERE gen=?",
        (time.time(), new.gen),
    )


def drop_generation(conn: sqlite3.Connection, gen: int) -> int:
    """Delete every row of generation `gen`; returns the number of chunks dropped."""
    n = delete_chunks(
        conn, [int(r[0]) for r in conn.execute("SELECT id FROM memory_chunks WHERE gen=?", (gen,))]
    )
    conn.execute(
        "DELETE FROM memory_turns WHERE doc_id IN (SELECT id FROM memory_docs WHERE gen=?)", (gen,)
    )
    conn.execute("DELETE FROM memory_docs WHERE gen=?", (gen,))
    conn.execute("DELETE FROM memory_generations WHERE gen=? AND state != 'active'", (gen,))
    return n


# --- documents and turns -------------------------------------------------------------------


def _doc(row: sqlite3.Row | None) -> Doc | None:
    if row is None:
        return None
    return Doc(
        int(row["id"]),
        int(row["gen"]),
        row["key"],
        row["kind"],
        row["path"],
        row["agent"],
        row["session_id"],
        row["fingerprint"],
        int(row["n_turns"]),
    )


def get_doc(conn: sqlite3.Connection, gen: int, key: str) -> Doc | None:
    return _doc(
        conn.execute("SELECT * FROM memory_docs WHERE gen=? AND key=?", (gen, key)).fetchone()
    )


def docs_with_prefix(conn: sqlite3.Connection, gen: int, prefix: str) -> list[Doc]:
    rows = conn.execute(
        "SELECT * FROM memory_docs WHERE gen=? AND substr(key, 1, ?) = ?",
        (gen, len(prefix), prefix),
    )
    return [d for d in (_doc(r) for r in rows) if d is not None]


def upsert_doc(
    conn: sqlite3.Connection,
    gen: int,
    key: str,
    *,
    kind: str,
    path: str,
    agent: str | None,
    session_id: str | None,
    fingerprint: str | None,
    n_turns: int,
) -> int:
    conn.execute(
        """INSERT INTO memory_docs(gen, key, kind, path, agent, session_id, fingerprint,
                                   n_turns, indexed_at)
           VALUES (?,?,?,?,?,?,?,?,?)
           ON CONFLICT(gen, key) DO UPDATE SET kind=excluded.kind, path=excluded.path,
             agent=excluded.agent, session_id=excluded.session_id,
             fingerprint=excluded.fingerprint, n_turns=excluded.n_turns,
             indexed_at=excluded.indexed_at""",
        (gen, key, kind, path, agent, session_id, fingerprint, n_turns, time.time()),
    )
    row = conn.execute("SELECT id FROM memory_docs WHERE gen=? AND key=?", (gen, key)).fetchone()
    return int(row[0])


def delete_doc(conn: sqlite3.Connection, doc_id: int) -> int:
    """Drop a document with its turns and chunks; returns the number of chunks dropped."""
    n = delete_chunks(
        conn,
        [int(r[0]) for r in conn.execute("SELECT id FROM memory_chunks WHERE doc_id=?", (doc_id,))],
    )
    conn.execute("DELETE FROM memory_turns WHERE doc_id=?", (doc_id,))
    conn.execute("DELETE FROM memory_docs WHERE id=?", (doc_id,))
    return n


def clear_turns(conn: sqlite3.Connection, doc_id: int) -> None:
    conn.execute("DELETE FROM memory_turns WHERE doc_id=?", (doc_id,))


def add_turns(conn: sqlite3.Connection, doc_id: int, first_idx: int, turns: Sequence[Turn]) -> None:
    conn.executemany(
        "INSERT INTO memory_turns(doc_id, idx, position, entry_id, ts, role, text) "
        "VALUES (?,?,?,?,?,?,?)",
        [
            (doc_id, first_idx + k, t.position, t.entry_id, t.ts, t.role, t.text)
            for k, t in enumerate(turns)
        ],
    )


def load_turns(
    conn: sqlite3.Connection, doc_id: int, first_idx: int = 0, last_idx: int | None = None
) -> list[Turn]:
    sql = "SELECT position, entry_id, ts, role, text FROM memory_turns WHERE doc_id=? AND idx>=?"
    args: list[object] = [doc_id, first_idx]
    if last_idx is not None:
        sql += " AND idx<=?"
        args.append(last_idx)
    rows = conn.execute(sql + " ORDER BY idx", args)
    return [Turn(int(r[0]), r[1], r[2], r[3], r[4]) for r in rows]


def turns_between(conn: sqlite3.Connection, doc_id: int, start: int, end: int) -> list[Turn]:
    """Turns whose position lies in [start, end] (merging neighbouring windows)."""
    rows = conn.execute(
        "SELECT position, entry_id, ts, role, text FROM memory_turns "
        "WHERE doc_id=? AND position BETWEEN ? AND ? ORDER BY idx",
        (doc_id, start, end),
    )
    return [Turn(int(r[0]), r[1], r[2], r[3], r[4]) for r in rows]


# --- chunks --------------------------------------------------------------------------------


def chunks_of(
    conn: sqlite3.Connection, doc_id: int, from_start: int | None = None
) -> list[StoredChunk]:
    sql = "SELECT id, start, end, content_hash FROM memory_chunks WHERE doc_id=?"
    args: list[object] = [doc_id]
    if from_start is not None:
        sql += " AND start>=?"
        args.append(from_start)
    return [
        StoredChunk(int(r[0]), int(r[1]), int(r[2]), r[3])
        for r in conn.execute(sql + " ORDER BY id", args)
    ]


def cached_embeddings(
    conn: sqlite3.Connection, hashes: Iterable[str], model: str
) -> dict[str, bytes]:
    """Stored vectors of texts already embedded with `model` (the content-hash cache)."""
    wanted = sorted(set(hashes))
    found: dict[str, bytes] = {}
    for k in range(0, len(wanted), 500):
        part = wanted[k : k + 500]
        marks = ",".join("?" * len(part))
        for row in conn.execute(
            f"SELECT content_hash, embedding FROM memory_chunks "  # noqa: S608
            f"WHERE model=? AND content_hash IN ({marks}) GROUP BY content_hash",
            [model, *part],
        ):
            found[row[0]] = bytes(row[1])
    return found


def insert_chunks(
    conn: sqlite3.Connection,
    doc: Doc,
    chunks: Sequence[Chunk],
    vectors: Sequence[bytes],
    model: str,
) -> list[int]:
    ids: list[int] = []
    for chunk, vector in zip(chunks, vectors, strict=True):
        cur = conn.execute(
            """INSERT INTO memory_chunks(gen, doc_id, kind, path, agent, session_id, start, end,
                                         ts, text, content_hash, model, embedding)
               VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)""",
            (
                doc.gen,
                doc.id,
                doc.kind,
                doc.path,
                doc.agent,
                doc.session_id,
                chunk.start,
                chunk.end,
                chunk.ts,
                chunk.text,
                chunk.content_hash,
                model,
                vector,
            ),
        )
        ids.append(int(cur.lastrowid or 0))
    return ids


def delete_chunks(conn: sqlite3.Connection, ids: Sequence[int]) -> int:
    """Delete chunks; the trigger logs each id so FAISS copies drop it when they catch up."""
    for k in range(0, len(ids), 500):
        part = list(ids[k : k + 500])
        marks = ",".join("?" * len(part))
        conn.execute(f"DELETE FROM memory_chunks WHERE id IN ({marks})", part)  # noqa: S608
    return len(ids)


def chunk_count(conn: sqlite3.Connection, gen: int) -> int:
    return int(conn.execute("SELECT count(*) FROM memory_chunks WHERE gen=?", (gen,)).fetchone()[0])


def prune_deletions(conn: sqlite3.Connection, active_gen: int, applied_seq: int) -> None:
    """Forget deletions the saved FAISS file already reflects, and those of other gens.

    Records how far it pruned: a FAISS file older than that (restored from a backup, say)
    cannot catch up from the log and is reconciled against the chunk ids instead."""
    row = conn.execute(
        "SELECT max(seq) FROM memory_deletions WHERE (gen=? AND seq<=?) OR gen!=?",
        (active_gen, applied_seq, active_gen),
    ).fetchone()
    if row[0] is None:
        return
    conn.execute(
        "DELETE FROM memory_deletions WHERE (gen=? AND seq<=?) OR gen!=?",
        (active_gen, applied_seq, active_gen),
    )
    conn.execute(
        "INSERT INTO memory_meta(key, value) VALUES ('deletions_pruned_through', ?) "
        "ON CONFLICT(key) DO UPDATE SET value=max(CAST(value AS INTEGER), excluded.value)",
        (int(row[0]),),
    )


def pruned_through(conn: sqlite3.Connection) -> int:
    row = conn.execute(
        "SELECT value FROM memory_meta WHERE key='deletions_pruned_through'"
    ).fetchone()
    return 0 if row is None else int(row[0])


# --- freshness fingerprints ----------------------------------------------------------------


def record_seen(
    conn: sqlite3.Connection,
    fingerprints: dict[str, tuple[int, int]],
    *,
    full_scan: bool,
    seen_at: float,
) -> None:
    """Remember file fingerprints read by this pass; a full scan also forgets vanished ones."""
    conn.executemany(
        "INSERT INTO memory_seen(path, mtime_ns, size, seen_at) VALUES (?,?,?,?) "
        "ON CONFLICT(path) DO UPDATE SET mtime_ns=excluded.mtime_ns, size=excluded.size, "
        "seen_at=excluded.seen_at",
        [(p, m, s, seen_at) for p, (m, s) in fingerprints.items()],
    )
    if full_scan:
        known = {r[0] for r in conn.execute("SELECT path FROM memory_seen")}
        gone = sorted(known - set(fingerprints))
        conn.executemany("DELETE FROM memory_seen WHERE path=?", [(p,) for p in gone])
