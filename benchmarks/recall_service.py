"""End-to-end `infra recall --json` wall time with and without the resident service.

    python benchmarks/recall_service.py [--size 10000] [--queries 50] [--without 50]
                                        [--synthetic] [--baseline-src DIR]
    python benchmarks/recall_service.py --writers [--runs 3]

Builds a store of `--size` chunks from the LoCoMo dev conversations (real MiniLM vectors;
see recall_latency.py), starts `infra serve` on it, then times fresh `infra recall --json`
processes: `--queries` with the service up, `--without` with `--no-service`. Prints p50/p95
and the speed-up (target: p50 <= 45 ms with the service, >= 20x faster than without).
`--synthetic` builds the store as million.py does (synthetic vectors, no model indexing:
seconds instead of minutes). `--baseline-src DIR` also times the client of another
checkout's `src` (PYTHONPATH=DIR), alternating query by query with this one against the
same service, so a loaded machine slows both alike.

`--writers` times a writer instead: `infra index` of one LoCoMo conversation into an empty
store (every chunk embedded), wall time and the job's peak RSS, with the service lending its
model and without it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recall_latency import build_store, cli_env, infra_command, pct, throughput, timed_recalls
from recall_quality import DATA, questions, sessions, write_transcripts

# runs `infra ARGS` in this process, then reports its own peak RSS (KiB on Linux, bytes on
# macOS) on the last line of stderr
RSS_PROBE = """
import resource, runpy, sys
sys.argv = ["infra", *sys.argv[1:]]
try:
    runpy.run_module("openclaw_infra", run_name="__main__")
finally:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(peak / (1 << 20) if sys.platform == "darwin" else peak / 1024, file=sys.stderr)
"""


def start_service(env: dict[str, str]) -> subprocess.Popen[str]:
    serve = subprocess.Popen(
        [*infra_command(), "serve"], env=env, stderr=subprocess.PIPE, text=True
    )
    assert serve.stderr is not None
    while "listening on" not in serve.stderr.readline():
        if serve.poll() is not None:
            raise SystemExit("infra serve did not start")
    return serve


def writers(runs: int) -> None:
    """`infra index` into an empty store, with and without the service's model."""
    convs = json.loads(DATA.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "openclaw"
        write_transcripts(convs[0], state)
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_")}
        env.update({"OPENCLAW_STATE_DIR": str(state), "HF_HUB_OFFLINE": "1"})
        data = state / "infra"

        def index_once() -> tuple[float, float, int]:
            for name in ("infra.sqlite", "infra.sqlite-wal", "infra.sqlite-shm", "memory.faiss"):
                (data / name).unlink(missing_ok=True)
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", RSS_PROBE, "index"],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            wall = time.perf_counter() - start
            if done.returncode:
                raise SystemExit(done.stderr)
            chunks = json.loads(
                subprocess.run(
                    [*infra_command(), "recall", "x", "--json", "--no-service", "--limit", "1"],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )["index"]["chunks"]
            return wall, float(done.stderr.strip().splitlines()[-1]), chunks

        alone = [index_once() for _ in range(runs)]
        serve = start_service(env)
        try:
            lent = [index_once() for _ in range(runs)]
        finally:
            serve.terminate()
            serve.wait(30)
    for label, rows in (("without service", alone), ("with service", lent)):
        walls = sorted(w for w, _, _ in rows)
        peak = max(r for _, r, _ in rows)
        print(
            f"infra index, {label:15}: {rows[0][2]} chunks, median {walls[len(walls) // 2]:.2f} s, "
            f"peak RSS {peak:.0f} MiB (runs={runs})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--without", type=int, default=50)
    parser.add_argument("--writers", action="store_true", help="time `infra index` instead")
    parser.add_argument("--runs", type=int, default=3, help="runs each way with --writers")
    parser.add_argument("--synthetic", action="store_true", help="synthetic vectors (fast)")
    parser.add_argument("--baseline-src", type=Path, default=None)
    args = parser.parse_args()
    if args.writers:
        writers(args.runs)
        return
    convs = json.loads(DATA.read_text())
    qs = [q for conv in convs for q, _, _ in questions(conv)][: max(args.queries, args.without)]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        turns = [t["text"] for conv in convs for _n, _start, ts in sessions(conv) for t in ts]
        if args.synthetic:
            import million

            truth = million.TopK(million.Vectors().block(1, seed=1))
            settings = million.build(
                work / "store", args.size, turns, truth, budget_mb=256.0, nprobe=32
            )
        else:
            from openclaw_infra.memory.embedder import get_embedder

            indexed, pool = throughput(work, convs[0])
            model = str(get_embedder(indexed).identity)
            settings = build_store(work / "store", args.size, list(pool), model, turns)
        env = cli_env(settings)
        start = time.perf_counter()
        serve = start_service(env)
        print(f"infra serve ready in {time.perf_counter() - start:.1f} s on {args.size} chunks")
        baseline: list[float] = []
        try:
            if args.baseline_src is None:
                with_service = timed_recalls(env, qs[: args.queries])
            else:
                old = {**env, "PYTHONPATH": str(args.baseline_src)}
                with_service = []
                for q in qs[: args.queries]:
                    with_service += timed_recalls(env, [q])
                    baseline += timed_recalls(old, [q])
        finally:
            serve.terminate()
            serve.wait(30)
        without = timed_recalls(env, qs[: args.without], "--no-service")
    p50w, p50n = pct(with_service, 0.5), pct(without, 0.5)
    print(
        f"with service:    p50 {p50w:7.0f} ms  p95 {pct(with_service, 0.95):7.0f} ms  "
        f"(n={len(with_service)})"
    )
    print(
        f"without service: p50 {p50n:7.0f} ms  p95 {pct(without, 0.95):7.0f} ms  (n={len(without)})"
    )
    print(f"speed-up at p50: {p50n / p50w:.1f}x")
    if baseline:
        print(
            f"baseline client ({args.baseline_src}): p50 {pct(baseline, 0.5):7.0f} ms  "
            f"p95 {pct(baseline, 0.95):7.0f} ms  (n={len(baseline)})"
        )


if __name__ == "__main__":
    main()
