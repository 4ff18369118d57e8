"""The form of the FAISS index for the store's size: the most exact form that fits the
memory budget, `vector_index_budget_mb`.

1. flat (`IndexIDMap2(IndexFlatIP)`): exact, 4 bytes a dimension per vector. A million
   384-d chunks would take 1.5 GB, and each query would scan them all (~70 ms on one core).
2. IVF-SQ8 (`IndexIVFScalarQuantizer`): 1 byte a dimension, in `nlist` lists by nearest
   centroid; a query scans the `nprobe` nearest lists.
3. IVF-PQ (`IndexIVFPQ`): the same lists, one byte per 8 dimensions (48 bytes for 384):
   a million chunks in ~60 MB, so the service stays within 1 GB beside the model.

`VectorIndex` rescores an approximate index's hits with the exact stored vectors (at least
`RESCORE` of them), so a hit's score is flat's and the order among what it found is flat's;
what is lost is a neighbour in a list not probed or ranked below the rescored depth
(benchmarks/million.py measures recall@10 against flat). HNSW was not chosen: its graph
adds ~256 bytes a vector on top of the vectors themselves.

Training is deterministic: an evenly spaced sample of the store by chunk id, k-means with
a fixed seed. The list count follows the store's size (about its square root), and the
index is retrained when the store has grown or shrunk fourfold since training.

The saved file's header (`read_header`) lives here too: `infra health` reads it, and this
module imports only the stdlib; faiss loads inside the functions that need it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np

    from openclaw_infra.core.config import Settings

FLAT = "flat"
IVF_SQ8 = "ivf-sq8"
IVF_PQ = "ivf-pq"
SEED = 1234  # k-means seed: the same store trains the same centroids
MIN_LISTS, MAX_LISTS = 4, 1024  # 1024 lists train in ~15 s on 2 cores at a million chunks
POINTS_PER_LIST = 64  # training sample per list (faiss wants at least 39)
RESCORE = 256  # hits of an approximate index rescored exactly (a PQ code ranks roughly)
REGROW = 4  # retrain once the store is this many times bigger or smaller than at training
MIB = 1024 * 1024


# --- the saved file's header (read by `infra health` without faiss) ------------------------
MAGIC = b"INFRA-FAISS/1\n"


@dataclass(frozen=True)
class Header:
    gen: int
    model: str
    high_water: int
    deletion_seq: int
    count: int
    nbytes: int
    form: str = FLAT
    nlist: int = 0
    trained_on: int = 0


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
            str(data.get("form", FLAT)),
            int(data.get("nlist", 0)),
            int(data.get("trained_on", 0)),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


@dataclass(frozen=True)
class Form:
    """What kind of index this is, and for IVF what it was trained for."""

    kind: str = FLAT
    nlist: int = 0
    trained_on: int = 0  # vectors in the store when the centroids were trained

    @property
    def approximate(self) -> bool:
        return self.kind != FLAT


def bytes_per_vector(kind: str, dim: int) -> int:
    """Memory one vector takes in an index of `kind` (its code and its 8-byte id)."""
    if kind == FLAT:
        return 4 * dim + 8
    if kind == IVF_SQ8:
        return dim + 8
    return pq_parts(dim) + 8


def pq_parts(dim: int) -> int:
    """Sub-vectors of a PQ code, one byte each: about one per 8 dimensions (48 for 384)."""
    m = max(1, dim // 8)
    while dim % m:
        m -= 1
    return m


@dataclass(frozen=True)
class Policy:
    """Which form an index of a given size takes, and how many lists a query scans."""

    budget_mb: float = 256.0
    nprobe: int = 32

    @classmethod
    def of(cls, settings: Settings) -> Policy:
        return cls(settings.vector_index_budget_mb, settings.vector_index_nprobe)

    def wanted(self, count: int, dim: int) -> Form:
        """The most exact form whose vectors fit the budget (PQ when none does)."""
        nlist = lists_for(count)
        for kind in KINDS:
            fits = count * bytes_per_vector(kind, dim) <= self.budget_mb * MIB
            if kind == FLAT and (fits or nlist < MIN_LISTS):
                return Form()
            if fits or kind == KINDS[-1]:
                return Form(kind, nlist, count)
        raise AssertionError("unreachable")

    def due(self, form: Form, count: int, dim: int) -> bool:
        """True when an index of `form` now holding `count` vectors should be rebuilt: it
        outgrew the budget, or a more exact form fits even at twice the size (so a store at
        a boundary does not flip at every run), or it grew or shrank fourfold since training."""
        if KINDS.index(self.wanted(count, dim).kind) > KINDS.index(form.kind):
            return True
        if KINDS.index(self.wanted(2 * count, dim).kind) < KINDS.index(form.kind):
            return True
        if not form.approximate:
            return False
        return count >= REGROW * form.trained_on or count * REGROW <= form.trained_on


KINDS = (FLAT, IVF_SQ8, IVF_PQ)  # most exact and biggest first


def lists_for(count: int) -> int:
    """About sqrt(count) lists (a power of two), each with enough points to train on."""
    if count <= 0:
        return 0
    nlist = 2 ** round(math.log2(math.sqrt(count)))
    return max(0, min(MAX_LISTS, nlist, count // POINTS_PER_LIST))


def sample_size(form: Form) -> int:
    return form.nlist * POINTS_PER_LIST


def empty_flat(dim: int) -> Any:
    import faiss

    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


def trained_ivf(form: Form, dim: int, sample: np.ndarray) -> Any:
    """An empty IVF index of `form` with centroids and codes learnt from `sample`."""
    import os

    import faiss

    quantizer = faiss.IndexFlatIP(dim)
    index: Any
    if form.kind == IVF_SQ8:
        index = faiss.IndexIVFScalarQuantizer(
            quantizer, dim, form.nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
    else:
        # 8-bit codes want ~10,000 training points; a small store gets fewer bits
        nbits = max(1, min(8, int(math.log2(max(2, len(sample) // 39)))))
        index = faiss.IndexIVFPQ(
            quantizer, dim, form.nlist, pq_parts(dim), nbits, faiss.METRIC_INNER_PRODUCT
        )
    index.cp.seed = SEED
    index.cp.verbose = False
    # searches pin one thread (see VectorIndex.search); training wants every core
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    index.train(sample)
    return index


def kind_of(index: Any) -> str | None:
    """The form's kind of a loaded index, or None for one this code does not build."""
    import faiss

    if isinstance(index, faiss.IndexIVFScalarQuantizer):
        return IVF_SQ8
    if isinstance(index, faiss.IndexIVFPQ):
        return IVF_PQ
    if isinstance(index, faiss.IndexIDMap2):
        return FLAT
    return None


def ids_of(index: Any) -> np.ndarray:
    """Every id the index holds."""
    import faiss
    import numpy as np

    if kind_of(index) == FLAT:
        return faiss.vector_to_array(index.id_map)
    lists = index.invlists
    parts = [
        faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
        for i in range(index.nlist)
        if lists.list_size(i)
    ]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def search_params(index: Any, form: Form, nprobe: int, allowed: np.ndarray | None) -> Any:
    """FAISS search parameters: a filtered IVF query probes every list, so a filter never
    loses a match to an unprobed list."""
    import faiss

    sel = None if allowed is None else faiss.IDSelectorBatch(allowed)
    if not form.approximate:
        return None if sel is None else faiss.SearchParameters(sel=sel)  # type: ignore[call-arg]
    probe = form.nlist if sel is not None else min(nprobe, form.nlist)
    return faiss.SearchParametersIVF(sel=sel, nprobe=probe)  # type: ignore[call-arg]
