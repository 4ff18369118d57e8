"""The FAISS copy of one generation's vectors, derived from SQLite and saved atomically.

`memory.faiss` is one file: a magic line, a JSON header line (generation, model identity,
highest chunk id covered, deletion sequence applied, vector count, payload size) and the
`faiss.serialize_index` bytes. Header and vectors are written together by the one atomic
writer, so they can never disagree, and `infra health` reads the header without faiss.

Opening catches up from SQLite: rows above the high-water id are added, logged deletions
above the applied sequence are removed. A crash between a SQLite commit and the FAISS save
therefore loses nothing. A missing, torn or foreign file is rebuilt from SQLite (it is
derived data); a model mismatch between the settings and the store is refused by the caller.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from openclaw_infra.core.fsio import atomic_write_bytes
from openclaw_infra.memory.store import pruned_through

if TYPE_CHECKING:
    import numpy as np

    from openclaw_infra.memory.store import Generation

MAGIC = b"INFRA-FAISS/1\n"
log = structlog.get_logger("infra.memory")


@dataclass(frozen=True)
class Header:
    gen: int
    model: str
    high_water: int
    deletion_seq: int
    count: int
    nbytes: int


def read_header(path: Path) -> Header | None:
    """The header of a saved index, or None when absent or unreadable (stdlib only)."""
    try:
        with path.open("rb") as fh:
            if fh.readline() != MAGIC:
                return None
            data = json.loads(fh.readline(65536))
        return Header(
            int(data["gen"]),
            str(data["model"]),
            int(data["high_water"]),
            int(data["deletion_seq"]),
            int(data["count"]),
            int(data["nbytes"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def vectors_from_blobs(blobs: Sequence[bytes], dim: int) -> np.ndarray:
    import numpy as np

    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), dim).copy()


class VectorIndex:
    """An in-memory `IndexIDMap2(IndexFlatIP)` for one generation, plus where it stands."""

    def __init__(
        self,
        gen: int,
        model: str,
        dim: int,
        *,
        index: Any | None = None,
        high_water: int = 0,
        deletion_seq: int = 0,
    ) -> None:
        import faiss

        self.gen = gen
        self.model = model
        self.dim = dim
        self.index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self.high_water = high_water
        self.deletion_seq = deletion_seq

    @property
    def count(self) -> int:
        return int(self.index.ntotal)

    # --- loading ---------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path, conn: sqlite3.Connection, generation: Generation) -> VectorIndex:
        """The saved index of `generation` caught up from SQLite, or one rebuilt from it."""
        dim = int(generation.model.rpartition(":")[2])
        loaded = cls._load(path, generation, dim)
        if loaded is None:
            loaded = cls(generation.gen, generation.model, dim)
        loaded.catch_up(conn)
        return loaded

    @classmethod
    def _load(cls, path: Path, generation: Generation, dim: int) -> VectorIndex | None:
        import faiss
        import numpy as np

        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("faiss.unreadable", path=str(path), error=str(exc))
            return None
        header = read_header(path)
        if header is None or not raw.startswith(MAGIC):
            log.warning("faiss.bad_header", path=str(path))
            return None
        if header.gen != generation.gen or header.model != generation.model:
            # another generation's file (a rebuild switched over a moment ago): rebuild here
            log.info("faiss.other_generation", file_gen=header.gen, want_gen=generation.gen)
            return None
        body_at = len(MAGIC) + raw[len(MAGIC) :].index(b"\n") + 1
        payload = raw[body_at:]
        if len(payload) != header.nbytes:
            log.warning("faiss.torn", path=str(path), expected=header.nbytes, got=len(payload))
            return None
        try:
            index = faiss.deserialize_index(np.frombuffer(payload, dtype=np.uint8))
        except RuntimeError as exc:
            log.warning("faiss.corrupt", path=str(path), error=str(exc))
            return None
        if index.d != dim or index.ntotal != header.count:
            log.warning("faiss.mismatch", path=str(path))
            return None
        return cls(
            header.gen,
            header.model,
            dim,
            index=index,
            high_water=header.high_water,
            deletion_seq=header.deletion_seq,
        )

    def catch_up(self, conn: sqlite3.Connection) -> tuple[int, int]:
        """Add rows above the high-water id, drop logged deletions; returns (added, removed)."""
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
                removed = int(self.index.remove_ids(np.array(gone, dtype=np.int64)))  # type: ignore[arg-type]
            self.deletion_seq = max_seq
        return added, removed

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
        return int(self.index.remove_ids(np.array(gone, dtype=np.int64)))  # type: ignore[arg-type]

    # --- queries ---------------------------------------------------------------------------
    def search(
        self, query: np.ndarray, k: int, allowed: Sequence[int] | None = None
    ) -> list[tuple[int, float]]:
        """Top `k` (id, cosine) for one normalised query vector, optionally among `allowed`."""
        import faiss
        import numpy as np

        if self.count == 0 or k <= 0:
            return []
        # one query vector: OpenMP's thread start-up costs more than it saves (measured on a
        # 100k flat index: 28 ms with the default threads, 7 ms with one)
        faiss.omp_set_num_threads(1)
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        if allowed is None:
            scores, ids = self.index.search(q, min(k, self.count))
        else:
            if not allowed:
                return []
            selector = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
            params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
            scores, ids = self.index.search(q, min(k, len(allowed)), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def ids(self) -> set[int]:
        import faiss

        return {int(i) for i in faiss.vector_to_array(self.index.id_map)}

    # --- saving ----------------------------------------------------------------------------
    def save(self, path: Path) -> Header:
        import faiss

        payload = faiss.serialize_index(self.index).tobytes()
        header = Header(
            self.gen, self.model, self.high_water, self.deletion_seq, self.count, len(payload)
        )
        line = json.dumps(header.__dict__, sort_keys=True).encode()
        atomic_write_bytes(path, MAGIC + line + b"\n" + payload)
        return header
