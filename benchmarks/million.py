"""A million chunks: build time, query latency, the service's memory, and the recall the
approximate vector index costs.

    python benchmarks/million.py [--size 1000000] [--queries 200] [--service-queries 30]
                                 [--budget-mb 256] [--nprobe 32] [--keep DIR]

1. Builds a store of `--size` chunks in a temp dir through the store's own code
   (`store.create_generation`, `upsert_doc`, `insert_chunks`: SQLite rows, FTS5 through its
   triggers), then `indexer.save_vectors`, the writer's path that picks the index's form for
   the size (IVF-SQ8 past `--budget-mb`), trains it and saves `memory.faiss`. Texts are
   windows of 4 LoCoMo dev turns drawn at random (real conversational text for FTS5);
   vectors are synthetic 384-d unit vectors around 3,000 centres grouped in 300 topics
   (cosine ~0 between topics, ~0.4 within a centre, like sentence embeddings), so nothing
   is embedded and the build takes minutes.
2. Recall@10 of the saved index against exact flat search on `--queries` query vectors
   from the same distribution (flat's answers computed while generating, in blocks).
3. In-process latency (p50/p95) of a warm `Searcher.search` (hybrid: FTS5 + vectors, as the
   service runs it) with LoCoMo questions as text and fixed query vectors.
4. `infra serve` started on the store (real packaged model): start time, resident memory
   (RSS) after warm-up and after the queries, and `infra recall --json QUERY` end to end.
   Targets: p50 <= 100 ms, service RSS <= 1 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recall_latency import cli_env, pct, timed_recalls
from recall_quality import DATA, questions, sessions
from recall_service import start_service

DIM = 384
TOPICS, CENTRES = 300, 3000
BLOCK = 20_000


class Vectors:
    """Clustered synthetic unit vectors, reproducible block by block."""

    def __init__(self, seed: int = 7) -> None:
        rng = np.random.default_rng(seed)
        topics = rng.standard_normal((TOPICS, DIM), dtype=np.float32)
        centres = topics[rng.integers(0, TOPICS, CENTRES)]
        centres += 0.8 * rng.standard_normal((CENTRES, DIM), dtype=np.float32)
        self.centres = centres / np.linalg.norm(centres, axis=1, keepdims=True)

    def block(self, n: int, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        v = self.centres[rng.integers(0, CENTRES, n)]
        v = v + 0.06 * rng.standard_normal((n, DIM), dtype=np.float32)
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


class TopK:
    """Exact top-10 of each query over every block seen (flat search, streamed)."""

    def __init__(self, queries: np.ndarray, k: int = 10) -> None:
        self.q, self.k = queries, k
        self.ids = np.zeros((len(queries), 0), dtype=np.int64)
        self.scores = np.zeros((len(queries), 0), dtype=np.float32)

    def add(self, vecs: np.ndarray, ids: np.ndarray) -> None:
        sims = self.q @ vecs.T
        scores = np.concatenate([self.scores, sims], axis=1)
        all_ids = np.concatenate([self.ids, np.broadcast_to(ids, sims.shape)], axis=1)
        top = np.argsort(-scores, axis=1, kind="stable")[:, : self.k]
        self.scores = np.take_along_axis(scores, top, axis=1)
        self.ids = np.take_along_axis(all_ids, top, axis=1)


def build(
    path: Path, size: int, turns: list[str], truth: TopK, *, budget_mb: float, nprobe: int
) -> Any:
    from openclaw_infra.core.config import Settings
    from openclaw_infra.core.db import connect, transaction
    from openclaw_infra.memory import store
    from openclaw_infra.memory.chunking import Chunk, Turn, render_turns
    from openclaw_infra.memory.embedder import PACKAGED_MODEL, model_name
    from openclaw_infra.memory.indexer import save_vectors

    settings = Settings(
        state_dir=path / "state",
        data_dir=path / "data",
        timezone="UTC",
        embedding_model=PACKAGED_MODEL,
        vector_index_budget_mb=budget_mb,
        vector_index_nprobe=nprobe,
    )
    model = f"{model_name(PACKAGED_MODEL)}:{DIM}"
    reuse = settings.db_path.exists()  # --keep DIR of an earlier run: only recompute flat's
    conn = connect(settings.db_path)
    # a scratch store: speed over durability, and a cache that holds the indexes being built
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-524288")
    with transaction(conn):
        gen = store.active_generation(conn) or store.create_generation(conn, model, "active")
    if reuse and store.chunk_count(conn, gen.gen) != size:
        raise SystemExit(f"{path} holds a store of another size")
    vectors = Vectors()
    rng = np.random.default_rng(11)
    started = time.perf_counter()
    made = 0
    doc_n = 0
    while made < size:
        n = min(BLOCK, size - made)
        vecs = vectors.block(n, seed=1000 + doc_n)
        if reuse:  # AUTOINCREMENT ids of a fresh store: made+1 .. made+n
            truth.add(vecs, np.arange(made + 1, made + n + 1, dtype=np.int64))
            made += n
            doc_n += 1
            continue
        picks = rng.integers(0, len(turns), (n, 4))
        chunks = []
        for k in range(n):
            ts = 1.6e9 + (made + k) * 60.0
            window = [
                Turn(j, "e", ts + 30 * j, "user" if j % 2 else "assistant", turns[int(p)])
                for j, p in enumerate(picks[k])
            ]
            chunks.append(Chunk(k, k + 3, ts, render_turns(window)))
        doc_n += 1
        key = f"bench:{doc_n}"
        with transaction(conn):
            store.upsert_doc(
                conn,
                gen.gen,
                key,
                kind="session",
                path=f"bench/{doc_n}.jsonl",
                agent="main",
                session_id=f"b{doc_n}",
                fingerprint=None,
                n_turns=0,
            )
            doc = store.get_doc(conn, gen.gen, key)
            assert doc is not None
            ids = store.insert_chunks(conn, doc, chunks, [v.tobytes() for v in vecs], model)
        assert ids == list(range(made + 1, made + n + 1))
        truth.add(vecs, np.asarray(ids, dtype=np.int64))
        made += n
        if doc_n % 10 == 0:
            rate = made / (time.perf_counter() - started)
            print(f"  {made} chunks written ({rate:.0f}/s)", file=sys.stderr, flush=True)
    rows_s = time.perf_counter() - started
    started = time.perf_counter()
    save_vectors(settings, conn, gen)
    index_s = time.perf_counter() - started
    conn.close()
    from openclaw_infra.memory.vectors import read_header

    header = read_header(settings.faiss_path)
    assert header is not None
    made_how = (
        f"reused the store in {path}"
        if reuse
        else f"rows+FTS5 {rows_s:.0f} s ({size / rows_s:.0f} chunks/s)"
    )
    print(
        f"built {size} chunks: {made_how}, "
        f"vector index {index_s:.0f} s: {header.form}"
        + (f" nlist={header.nlist}" if header.nlist else "")
        + f", {header.nbytes / 2**20:.0f} MiB file; "
        f"store {settings.db_path.stat().st_size / 2**30:.2f} GiB"
    )
    return settings


def recall_at_10(settings: Any, truth: TopK) -> None:
    from openclaw_infra.core.db import open_reader
    from openclaw_infra.memory import store
    from openclaw_infra.memory.vectors import VectorIndex

    conn = open_reader(settings.db_path)
    assert conn is not None
    gen = store.active_generation(conn)
    assert gen is not None
    started = time.perf_counter()
    index = VectorIndex.of(settings, conn, gen)
    load_s = time.perf_counter() - started
    times, found = [], 0
    for q, want in zip(truth.q, truth.ids, strict=True):
        start = time.perf_counter()
        got = index.search(q, 10)
        times.append((time.perf_counter() - start) * 1000)
        found += len({i for i, _ in got} & {int(i) for i in want})
    conn.close()
    print(
        f"vector index ({index.form.kind}, nprobe {index.policy.nprobe}): loaded in "
        f"{load_s:.1f} s; recall@10 vs exact flat {found / truth.ids.size:.3f} "
        f"over {len(truth.q)} queries; search+rescore p50 {pct(times, 0.5):.1f} ms "
        f"p95 {pct(times, 0.95):.1f} ms"
    )


def searcher_latency(settings: Any, qs: list[str], qvecs: np.ndarray) -> None:
    from openclaw_infra.memory.query import RecallQuery
    from openclaw_infra.memory.search import Searcher

    searcher = Searcher(settings)
    searcher.search(RecallQuery(qs[0], 8), query_vector=qvecs[0])  # loads the index
    times = []
    for q, v in zip(qs, qvecs, strict=True):
        start = time.perf_counter()
        searcher.search(RecallQuery(q, 8), query_vector=v)
        times.append((time.perf_counter() - start) * 1000)
    searcher.close()
    print(
        f"Searcher.search (hybrid, fixed query vectors, index info included): "
        f"p50 {pct(times, 0.5):.1f} ms  p95 {pct(times, 0.95):.1f} ms  (n={len(times)})"
    )


def rss_mib(pid: int) -> tuple[float, float | None]:
    """Resident memory now and at its peak (the peak where /proc tells), in MiB."""
    status = Path(f"/proc/{pid}/status")
    if status.exists():
        fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024
    out = subprocess.run(
        ["ps", "-o", "rss=", "-p", str(pid)], capture_output=True, text=True, check=False
    )
    return int(out.stdout.strip() or 0) / 1024, None


def service(settings: Any, qs: list[str]) -> None:
    env = cli_env(settings)
    env["OPENCLAW_INFRA_VECTOR_INDEX_BUDGET_MB"] = str(settings.vector_index_budget_mb)
    env["OPENCLAW_INFRA_VECTOR_INDEX_NPROBE"] = str(settings.vector_index_nprobe)
    started = time.perf_counter()
    serve = start_service(env)
    ready_s = time.perf_counter() - started
    try:
        now, peak = rss_mib(serve.pid)
        print(
            f"infra serve ready in {ready_s:.1f} s; RSS {now:.0f} MiB"
            + (f" (peak {peak:.0f} MiB)" if peak is not None else "")
        )
        times = timed_recalls(env, qs)
        now, peak = rss_mib(serve.pid)
        print(
            f"infra recall --json via the service: p50 {pct(times, 0.5):.0f} ms  "
            f"p95 {pct(times, 0.95):.0f} ms  (n={len(times)}); service RSS after {now:.0f} MiB"
            + (f" (peak {peak:.0f} MiB)" if peak is not None else "")
        )
    finally:
        serve.terminate()
        serve.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--service-queries", type=int, default=30)
    parser.add_argument("--budget-mb", type=float, default=256.0)
    parser.add_argument("--nprobe", type=int, default=32)
    parser.add_argument(
        "--keep", type=Path, default=None, help="build here and keep it (reused when there)"
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    convs = json.loads(DATA.read_text())
    turns = [t["text"] for conv in convs for _n, _start, ts in sessions(conv) for t in ts]
    qs = [q for conv in convs for q, _, _ in questions(conv)]
    qs = (qs * (1 + args.queries // len(qs)))[: args.queries]
    qvecs = Vectors().block(args.queries, seed=99)
    work = args.keep or Path(tempfile.mkdtemp(prefix="million-"))
    try:
        truth = TopK(qvecs)
        settings = build(
            work, args.size, turns, truth, budget_mb=args.budget_mb, nprobe=args.nprobe
        )
        recall_at_10(settings, truth)
        searcher_latency(settings, qs, qvecs)
        if args.service_queries:
            service(settings, qs[: args.service_queries])
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
