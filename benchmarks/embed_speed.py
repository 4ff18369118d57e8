"""Embedding speed and fidelity: torch against the ONNX path (fp32, int8), and cold recall.

    flock /tmp/bench.lock python benchmarks/embed_speed.py [--conversations 2] [--cold-runs 5]
                                                           [--only speed,index,cold]
                                                           [--baseline-src OLD/src]

1. speed: raw encode chunks/s of the same real chunk texts (LoCoMo dev conversations written
   as OpenClaw transcripts, chunked by the indexer) with sentence-transformers (torch), the
   ONNX export in fp32 and in int8, the largest |cosine difference| of each against torch,
   and the import time of the query path (a fresh process importing what a recall embeds
   with) for both runtimes.
2. index: per runtime, in a fresh process of its own, a first build (`index_all`, the first
   half of every conversation's sessions, model already loaded) and a catch-up (the rest), in
   chunks embedded per second, then evidence recall@10 of the shipped ranking on the store it
   built, in all and per LoCoMo category (1 multi-hop, 2 temporal, 3 open-domain, 4 single-hop,
   5 adversarial; questions and scoring as in benchmarks/recall_quality.py). torch and fp32
   ONNX share one identity, so their recall must agree; int8 records `+int8`.
   With `--baseline-src OLD/src` the same first build and catch-up run first on another
   checkout's code (its process has that `src` first on the path and its default
   embedder), so "today's chunks/s" is measured on the same data, machine and harness.
3. cold: median wall time of `infra recall --json --no-service QUERY` (a fresh CLI process:
   imports, model load, FAISS, query; `--cold-runs` times) on the first conversation's
   store, with the ONNX runtime and with torch.

The ONNX exports go into each run's data dir, made by the first embed (not timed).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recall_quality import BUDGET, DATA, LIMIT, hit_rank, questions, write_transcripts

RUNTIMES = {"torch": ("torch", False), "onnx": ("onnx", False), "onnx-int8": ("onnx", True)}
INFRA = [sys.executable, "-m", "openclaw_infra"]
COLD_QUERY = "what did Caroline say about the support group"


def _halves(conv: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The conversation with only its first half of sessions, and the whole of it."""
    n = 1
    while f"session_{n}" in conv:
        n += 1
    keep = (n - 1) // 2
    first = {
        k: v
        for k, v in conv.items()
        if not k.startswith("session_") or int(k.split("_")[1]) <= keep
    }
    return first, conv


def _settings(home: Path, runtime: str | None = None, int8: bool = False) -> Any:
    """A home's settings on the packaged model; `runtime` None leaves the embedder to the
    code's default (a baseline checkout has no runtime settings)."""
    from openclaw_infra.core.config import Settings
    from openclaw_infra.memory.embedder import PACKAGED_MODEL

    fields: dict[str, Any] = {
        "state_dir": home / "state",
        "data_dir": home / "data",
        "timezone": "UTC",
        "embedding_model": PACKAGED_MODEL,
    }
    if runtime is not None:  # one of RUNTIMES', validated here
        fields.update(embedding_runtime=runtime, embedding_int8=int8)
    return Settings.model_validate(fields)


def speed(texts: list[str], work: Path) -> None:
    import numpy as np

    from openclaw_infra.memory.embedder import get_embedder

    vectors: dict[str, Any] = {}
    best: dict[str, float] = {}
    embedders = {}
    for label, (runtime, int8) in RUNTIMES.items():
        embedders[label] = get_embedder(_settings(work / "speed", runtime, int8))
        embedders[label].encode(["warm up the model"])  # export and load, untimed
    for _ in range(2):  # interleaved, best of two: the machine is shared
        for label, embedder in embedders.items():
            started = time.perf_counter()
            vectors[label] = embedder.encode(texts)
            best[label] = min(best.get(label, 1e9), time.perf_counter() - started)
    print(f"encode, {len(texts)} real chunks (best of 2):")
    for label in RUNTIMES:
        cos = np.sum(vectors[label] * vectors["torch"], axis=1)
        print(
            f"  {label:10} {len(texts) / best[label]:7.1f} chunks/s  "
            f"x{best['torch'] / best[label]:.2f}  max |cos diff| vs torch "
            f"{float(np.max(np.abs(1.0 - cos))):.2e}"
        )
    for label, (runtime, int8) in (("torch", RUNTIMES["torch"]), ("onnx", RUNTIMES["onnx"])):
        code = (
            "import time; t = time.perf_counter(); from openclaw_infra.core.config import Settings;"
            "from openclaw_infra.memory.embedder import get_embedder;"
            f"e = get_embedder(Settings(embedding_runtime={runtime!r}, embedding_int8={int8}));"
            "e.encode(['a query']); import sys;"
            "print(time.perf_counter() - t, 'torch' in sys.modules)"
        )
        env = {**os.environ, "OPENCLAW_INFRA_DATA_DIR": str(work / "speed" / "data")}
        runs = []
        for _ in range(3):
            out = subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
            ).stdout.split()
            runs.append(float(out[0]))
        print(
            f"  query path, {label}: import + load + one query {statistics.median(runs):.2f} s "
            f"(median of 3; torch imported: {out[1]})"
        )


# one process per runtime: first build, then catch-up, model loaded and warm before timing.
# In one process that ran several runtimes the torch build measured 19-25 chunks/s against
# 34-39 in a process of its own (not explained: the encode itself was slower), so each
# runtime, and the baseline checkout, gets a fresh process.
_INDEX = """
import json, sys, time
from pathlib import Path
from embed_speed import _halves, _settings
from recall_quality import write_transcripts
from openclaw_infra.memory.embedder import get_embedder
from openclaw_infra.memory.indexer import index_all
work, convs = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text())
runtime = json.loads(sys.argv[3])  # [runtime, int8]; [] for a baseline checkout
t = {"first_n": 0, "first_s": 0.0, "rest_n": 0, "rest_s": 0.0}
for conv in convs:
    home = work / conv["sample_id"]
    settings = _settings(home, *runtime)
    embedder = get_embedder(settings)
    embedder.encode(["warm up the model"])  # an ONNX export is made here, untimed
    for part, key in zip(_halves(conv), ("first", "rest")):
        write_transcripts(part, home / "state")
        started = time.perf_counter()
        stats = index_all(settings, embedder=embedder)
        t[key + "_s"] += time.perf_counter() - started
        t[key + "_n"] += stats.embedded
print(json.dumps(t))
"""


def index_in_child(work: Path, convs_file: Path, src: Path, runtime: list[Any]) -> str:
    """Index every conversation in a fresh process running `src`'s code: the speed line."""
    here = str(Path(__file__).resolve().parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_")}
    env["PYTHONPATH"] = os.pathsep.join([str(src.resolve()), here])
    argv = [sys.executable, "-c", _INDEX, str(work), str(convs_file), json.dumps(runtime)]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"indexing in {work} failed ({done.returncode}): {done.stderr[-800:]}")
    t = json.loads(done.stdout.strip().splitlines()[-1])
    return (
        f"first build {t['first_n'] / t['first_s']:6.1f} chunks/s ({t['first_n']}), "
        f"catch-up {t['rest_n'] / t['rest_s']:6.1f} chunks/s ({t['rest_n']})"
    )


def index_and_recall(convs: list[dict[str, Any]], work: Path, baseline: Path | None) -> None:
    from openclaw_infra.memory.embedder import get_embedder
    from openclaw_infra.memory.query import RecallQuery
    from openclaw_infra.memory.search import recall_batch

    convs_file = work / "convs.json"
    convs_file.write_text(json.dumps(convs))
    if baseline is not None:
        line = index_in_child(work / "baseline", convs_file, baseline, [])
        print(f"  {'baseline':10} {line}, code in {baseline}")
    here_src = Path(__file__).resolve().parent.parent / "src"
    for label, (runtime, int8) in RUNTIMES.items():
        line = index_in_child(work / label, convs_file, here_src, [runtime, int8])
        hits: dict[int, list[bool]] = {}
        for conv in convs:
            settings = _settings(work / label / conv["sample_id"], runtime, int8)
            qs = questions(conv)
            query = RecallQuery("", LIMIT, max_chars=BUDGET)
            answers = recall_batch(
                settings, query, [q for q, _, _ in qs], embedder=get_embedder(settings)
            )
            for (_, category, evidence), answer in zip(qs, answers, strict=True):
                rank = hit_rank([r["text"] for r in answer["results"]], evidence)
                hits.setdefault(category, []).append(rank is not None and rank <= LIMIT)
        # "all" is categories 1-4: adversarial (5) is not in it (see recall_quality.py)
        scored = [h for c, got in hits.items() if c != 5 for h in got]
        by_category = " ".join(f"{c}:{sum(got) / len(got):.3f}" for c, got in sorted(hits.items()))
        print(
            f"  {label:10} {line}, recall@10 {sum(scored) / len(scored):.3f} "
            f"({len(scored)} questions; by category {by_category})"
        )


def cold(conv: dict[str, Any], work: Path, runs: int) -> None:
    home = work / "cold"
    write_transcripts(conv, home / "state")
    from openclaw_infra.memory.embedder import get_embedder
    from openclaw_infra.memory.indexer import index_all

    settings = _settings(home, "onnx", False)
    index_all(settings, embedder=get_embedder(settings))
    print(f"cold `infra recall --json --no-service` (median of {runs}):")
    for runtime in ("onnx", "torch"):
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_")}
        env.update(
            OPENCLAW_STATE_DIR=str(home / "state"),
            OPENCLAW_INFRA_DATA_DIR=str(home / "data"),
            OPENCLAW_INFRA_TIMEZONE="UTC",
            OPENCLAW_INFRA_EMBEDDING_RUNTIME=runtime,
            HF_HUB_OFFLINE="1",
        )
        took = []
        for _ in range(runs):
            started = time.perf_counter()
            done = subprocess.run(
                [*INFRA, "recall", "--json", "--no-service", COLD_QUERY],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            took.append(time.perf_counter() - started)
            if done.returncode:
                raise SystemExit(f"infra recall failed ({done.returncode}): {done.stderr[-800:]}")
        n = len(json.loads(done.stdout)["results"])
        print(
            f"  {runtime:6} median {statistics.median(took):.2f} s  "
            f"min {min(took):.2f}  max {max(took):.2f}  ({n} results)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversations", type=int, default=2)
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--texts", type=int, default=256, help="chunks in the encode test")
    parser.add_argument("--only", default="speed,index,cold")
    parser.add_argument(
        "--baseline-src", type=Path, help="another checkout's src/: index the same data with it"
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    only = set(args.only.split(","))
    convs = json.loads(DATA.read_text())[: args.conversations]
    work = Path(tempfile.mkdtemp(prefix="embed-speed-"))
    print(f"load average {Path('/proc/loadavg').read_text().split()[:3]} (work {work})")
    if "speed" in only:
        from openclaw_infra.core.db import connect
        from openclaw_infra.memory.embedder import HashEmbedder
        from openclaw_infra.memory.indexer import index_all

        texts: list[str] = []
        for conv in convs:
            home = work / "texts" / conv["sample_id"]
            write_transcripts(conv, home / "state")
            settings = _settings(home, "torch", False).model_copy(
                update={"embedding_model": "test-hash-embedder"}
            )
            index_all(settings, embedder=HashEmbedder())  # only the chunk texts are used
            conn = connect(settings.db_path)
            texts += [r[0] for r in conn.execute("SELECT text FROM memory_chunks ORDER BY id")]
            conn.close()
        speed(texts[: args.texts], work)
    if "index" in only:
        print("index (model loaded) and evidence recall@10 of the shipped ranking:")
        index_and_recall(convs, work, args.baseline_src)
    if "cold" in only:
        cold(convs[0], work, args.cold_runs)
    print(f"load average {Path('/proc/loadavg').read_text().split()[:3]}")


if __name__ == "__main__":
    main()
