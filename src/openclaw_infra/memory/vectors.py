"""The FAISS copy of one generation's vectors, derived from SQLite and saved atomically.

`memory.faiss` is one file: a magic line, a JSON header line (generation, model identity,
highest chunk id covered, deletion sequence applied, vector count, payload size) and the
`faiss.serialize_index` bytes, read back through a stream (no copy of the whole file; no
pickle). Header and vectors are written together by the one atomic writer, so they can never
disagree, and `infra health` reads the header (`vector_forms.read_header`) without faiss.

Opening catches up from SQLite: rows above the high-water id are added, logged deletions
above the applied sequence are removed. A crash between a SQLite commit and the FAISS save
therefore loses nothing. A missing, torn or foreign file is rebuilt from SQLite (it is
derived data); a model mismatch between the settings and the store is refused by the caller.

The index's form (exact flat, or IVF-SQ8 / IVF-PQ past the size budget) is `vector_forms`'s
choice; the header records it, and an index whose form the store has outgrown is replaced
by the writer's saved one or rebuilt from SQLite, never grown in the old form (so memory
stays within the budget). An approximate index's hits are rescored from SQLite's float32
vectors, so every score is the exact cosine.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from openclaw_infra.core.fsio import atomic_writer
from openclaw_infra.memory import vector_forms
from openclaw_infra.memory.store import chunk_count, pruned_through
from openclaw_infra.memory.vector_forms import MAGIC, Form, Header, Policy, read_header

if TYPE_CHECKING:
    import numpy as np

    from openclaw_infra.core.config import Settings
    from openclaw_infra.memory.store import Generation

log = structlog.get_logger("infra.memory")


def vectors_from_blobs(blobs: Sequence[bytes], dim: int) -> np.ndarray:
    import numpy as np

    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), dim).copy()


class VectorIndex:
    """An in-memory index of one generation's vectors (flat or IVF-SQ8, see
    `vector_forms`), plus where it stands against SQLite."""

    def __init__(
        self,
        gen: int,
        model: str,
        dim: int,
        *,
        index: Any | None = None,
        form: Form | None = None,
        policy: Policy | None = None,
        high_water: int = 0,
        deletion_seq: int = 0,
        path: Path | None = None,
    ) -> None:
        self.gen = gen
        self.model = model
        self.dim = dim
        self.form = form or Form()
        self.index = index if index is not None else vector_forms.empty_flat(dim)
        self.policy = policy or Policy()
        self.high_water = high_water
        self.deletion_seq = deletion_seq
        self.path = path
        self._conn: sqlite3.Connection | None = None  # the store hits are rescored from

    @property
    def count(self) -> int:
        return int(self.index.ntotal)

    # --- loading ---------------------------------------------------------------------------
    @classmethod
    def of(
        cls, settings: Settings, conn: sqlite3.Connection, generation: Generation
    ) -> VectorIndex:
        """`open` with the settings' file and size policy."""
        return cls.open(settings.faiss_path, conn, generation, policy=Policy.of(settings))

    @classmethod
    def open(
        cls,
        path: Path,
        conn: sqlite3.Connection,
        generation: Generation,
        *,
        policy: Policy | None = None,
    ) -> VectorIndex:
        """The saved index of `generation` caught up from SQLite, or one rebuilt from it
        (also when the store has outgrown the saved index's form)."""
        empty = cls(
            generation.gen,
            generation.model,
            int(generation.model.rpartition(":")[2]),
            policy=policy,
            path=path,
        )
        loaded = empty._load() or empty.build(conn)
        loaded.catch_up(conn)
        return loaded

    def build(self, conn: sqlite3.Connection) -> VectorIndex:
        """An empty index of this one's generation in the form the store's size calls for,
        trained (if IVF) on an evenly spaced sample by id; `catch_up` then adds every row."""
        form = self.policy.wanted(chunk_count(conn, self.gen), self.dim)
        # rows read after this see every deletion up to it: no reconcile for a fresh index
        seq = int(conn.execute("SELECT max(seq) FROM memory_deletions").fetchone()[0] or 0)
        index = None
        if form.approximate:
            index = vector_forms.trained_ivf(
                form, self.dim, _sample(conn, self.gen, form, self.dim)
            )
            log.info("faiss.trained", form=form.kind, nlist=form.nlist, on=form.trained_on)
        return VectorIndex(
            self.gen,
            self.model,
            self.dim,
            index=index,
            form=form,
            policy=self.policy,
            deletion_seq=max(seq, pruned_through(conn)),
            path=self.path,
        )

    def _load(self) -> VectorIndex | None:
        """This generation's saved index, or None when absent, foreign or damaged."""
        import faiss

        path = self.path
        if path is None:
            return None
        header = read_header(path)
        if header is None:
            if path.exists():
                log.warning("faiss.bad_header", path=str(path))
            return None
        if header.gen != self.gen or header.model != self.model:
            # another generation's file (a rebuild switched over a moment ago): rebuild here
            log.info("faiss.other_generation", file_gen=header.gen, want_gen=self.gen)
            return None
        dim = self.dim
        form = Form(header.form, header.nlist, header.trained_on)
        try:
            with path.open("rb") as fh:
                fh.readline()
                fh.readline()
                payload = os.fstat(fh.fileno()).st_size - fh.tell()
                if payload != header.nbytes:
                    log.warning("faiss.torn", path=str(path), expected=header.nbytes, got=payload)
                    return None
                # streamed into the index: no second copy of a file of hundreds of MB
                index = faiss.read_index(faiss.PyCallbackIOReader(fh.read))  # type: ignore[attr-defined]
        except OSError as exc:
            log.warning("faiss.unreadable", path=str(path), error=str(exc))
            return None
        except RuntimeError as exc:
            log.warning("faiss.corrupt", path=str(path), error=str(exc))
            return None
        if (
            index.d != dim
            or index.ntotal != header.count
            or vector_forms.kind_of(index) != form.kind
        ):
            log.warning("faiss.mismatch", path=str(path))
            return None
        return VectorIndex(
            header.gen,
            header.model,
            dim,
            index=index,
            form=form,
            policy=self.policy,
            high_water=header.high_water,
            deletion_seq=header.deletion_seq,
            path=path,
        )

    def catch_up(self, conn: sqlite3.Connection) -> tuple[int, int]:
        """Add rows above the high-water id, drop logged deletions; returns (added, removed).
        When the rows to add would outgrow the form, the index is first replaced by the
        saved file (a writer's reshaped save) or, failing that, rebuilt from SQLite."""
        self._conn = conn
        if self.policy.due(self.form, self.count + self._pending(conn), self.dim):
            self._reshape(conn)
        added, removed = self._apply(conn)
        if (added or removed) and self.policy.due(self.form, self.count, self.dim):
            # shrunk by deletions (or grew while reading): rebuilt for its size, caught up
            self._reshape(conn)
            more = self._apply(conn)
            added, removed = added + more[0], removed + more[1]
        return added, removed

    def _apply(self, conn: sqlite3.Connection) -> tuple[int, int]:
        import numpy as np

        added = removed = 0
        seq_row = conn.execute("SELECT max(seq) FROM memory_deletions").fetchone()
        max_seq = int(seq_row[0] or 0)
        # deletions first is not needed for correctness (ids are never reused); adding first
        # means a row inserted and deleted since the save is added, then removed again
        while True:
            rows = conn.execute(
                "SELECT id, embedding FROM memory_chunks WHERE gen=? AND id>? ORDER BY id "
                "LIMIT 20000",
                (self.gen, self.high_water),
            ).fetchall()
            if not rows:
                break
            ids = np.array([int(r[0]) for r in rows], dtype=np.int64)
            self.index.add_with_ids(vectors_from_blobs([bytes(r[1]) for r in rows], self.dim), ids)
            self.high_water = int(ids[-1])
            added += len(rows)
        if self.deletion_seq < pruned_through(conn):
            # older than the pruned log (a restored file): drop ids SQLite no longer has
            removed += self._reconcile(conn)
            self.deletion_seq = max_seq
        if max_seq > self.deletion_seq:
            gone = [
                int(r[0])
                for r in conn.execute(
                    "SELECT chunk_id FROM memory_deletions WHERE gen=? AND seq>? AND seq<=?",
                    (self.gen, self.deletion_seq, max_seq),
                )
            ]
            if gone:
                removed += int(self.index.remove_ids(np.array(gone, dtype=np.int64)))
            self.deletion_seq = max_seq
        return added, removed

    def _pending(self, conn: sqlite3.Connection) -> int:
        """Rows above the high-water id (an index range count: cheap)."""
        row = conn.execute(
            "SELECT count(*) FROM memory_chunks WHERE gen=? AND id>?", (self.gen, self.high_water)
        ).fetchone()
        return int(row[0])

    def _reshape(self, conn: sqlite3.Connection) -> None:
        """Take the form the store's size calls for: the saved file when a writer already
        saved it so, else a rebuild from SQLite (which `catch_up` then fills)."""
        fresh = self._load()
        if fresh is None or self.policy.due(fresh.form, chunk_count(conn, self.gen), self.dim):
            fresh = self.build(conn)
        log.info("faiss.reshaped", was=self.form.kind, now=fresh.form.kind, nlist=fresh.form.nlist)
        self.index, self.form = fresh.index, fresh.form
        self.high_water, self.deletion_seq = fresh.high_water, fresh.deletion_seq

    def _reconcile(self, conn: sqlite3.Connection) -> int:
        import numpy as np

        live = {
            int(r[0])
            for r in conn.execute(
                "SELECT id FROM memory_chunks WHERE gen=? AND id<=?", (self.gen, self.high_water)
            )
        }
        gone = sorted(self.ids() - live)
        if not gone:
            return 0
        log.info("faiss.reconciled", removed=len(gone))
        return int(self.index.remove_ids(np.array(gone, dtype=np.int64)))

    # --- queries ---------------------------------------------------------------------------
    def search(
        self, query: np.ndarray, k: int, allowed: Sequence[int] | None = None
    ) -> list[tuple[int, float]]:
        """Top `k` (id, cosine) for one normalised query vector, optionally among `allowed`.
        An approximate index finds more (`vector_forms.RESCORE`) and rescores them with the
        stored vectors, so scores are exact and the order is flat's among what it found."""
        import faiss
        import numpy as np

        if self.count == 0 or k <= 0:
            return []
        if allowed is not None and not allowed:
            return []
        # one query vector: OpenMP's thread start-up costs more than it saves (measured on a
        # 100k flat index: 28 ms with the default threads, 7 ms with one)
        faiss.omp_set_num_threads(1)
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        sel = None if allowed is None else np.asarray(allowed, dtype=np.int64)
        limit = self.count if allowed is None else min(self.count, len(allowed))
        fetch = min(limit, max(2 * k, vector_forms.RESCORE) if self.form.approximate else k)
        params = vector_forms.search_params(self.index, self.form, self.policy.nprobe, sel)
        scores, ids = self.index.search(q, fetch, params=params)
        hits = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
        if self.form.approximate and self._conn is not None:
            hits = exact_scores(self._conn, [i for i, _ in hits], q[0], self.dim)[:k]
        return hits

    def ids(self) -> set[int]:
        return {int(i) for i in vector_forms.ids_of(self.index)}

    # --- saving ----------------------------------------------------------------------------
    def save(self, path: Path) -> Header:
        import faiss

        payload = faiss.serialize_index(self.index)  # one copy, written as it is
        header = Header(
            self.gen,
            self.model,
            self.high_water,
            self.deletion_seq,
            self.count,
            int(payload.nbytes),
            self.form.kind,
            self.form.nlist,
            self.form.trained_on,
        )
        line = json.dumps(header.__dict__, sort_keys=True).encode()
        with atomic_writer(path) as fh:
            fh.write(MAGIC + line + b"\n")
            fh.write(payload.data)
        return header


def exact_scores(
    conn: sqlite3.Connection, ids: Sequence[int], query: np.ndarray, dim: int
) -> list[tuple[int, float]]:
    """(id, cosine) from the stored float32 vectors, best first (ties by id); ids gone from
    SQLite are left out."""
    import numpy as np

    found: list[tuple[int, bytes]] = []
    for start in range(0, len(ids), 500):
        part = list(ids[start : start + 500])
        marks = ",".join("?" * len(part))
        found += [
            (int(r[0]), bytes(r[1]))
            for r in conn.execute(
                f"SELECT id, embedding FROM memory_chunks WHERE id IN ({marks})",  # noqa: S608
                part,
            )
        ]
    if not found:
        return []
    sims = vectors_from_blobs([b for _, b in found], dim) @ query.astype(np.float32)
    scored = [(i, float(s)) for (i, _), s in zip(found, sims, strict=True)]
    scored.sort(key=lambda t: (-t[1], t[0]))
    return scored


def _sample(conn: sqlite3.Connection, gen: int, form: Form, dim: int) -> np.ndarray:
    """An evenly spaced sample of the generation's vectors by id (deterministic)."""
    ids = [
        int(r[0])
        for r in conn.execute("SELECT id FROM memory_chunks WHERE gen=? ORDER BY id", (gen,))
    ]
    want = min(len(ids), vector_forms.sample_size(form))
    step = len(ids) / want
    picked = [ids[int(n * step)] for n in range(want)]
    blobs: list[bytes] = []
    for start in range(0, len(picked), 500):
        part = picked[start : start + 500]
        marks = ",".join("?" * len(part))
        blobs += [
            bytes(r[0])
            for r in conn.execute(
                f"SELECT embedding FROM memory_chunks WHERE id IN ({marks}) ORDER BY id",  # noqa: S608
                part,
            )
        ]
    return vectors_from_blobs(blobs, dim)
