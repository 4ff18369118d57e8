"""End-to-end `infra recall --json` wall time with and without the resident service.

    python benchmarks/recall_service.py [--size 10000] [--queries 50] [--without 50]

Builds a store of `--size` chunks from the LoCoMo dev conversations (real MiniLM vectors;
see recall_latency.py), starts `infra serve` on it, then times fresh `infra recall --json`
processes: `--queries` with the service up, `--without` with `--no-service`. Prints p50/p95
and the speed-up (target: p50 <= 250 ms with the service, >= 20x faster than without).
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

from recall_latency import build_store, pct, throughput
from recall_quality import DATA, questions, sessions


def timed(env: dict[str, str], qs: list[str], *extra: str) -> list[float]:
    times = []
    for q in qs:
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "openclaw_infra", "recall", q, "--json", *extra],
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--without", type=int, default=50)
    args = parser.parse_args()
    convs = json.loads(DATA.read_text())
    qs = [q for conv in convs for q, _, _ in questions(conv)][: max(args.queries, args.without)]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from openclaw_infra.memory.embedder import get_embedder

        indexed, pool = throughput(work, convs[0])
        model = str(get_embedder(indexed).identity)
        turns = [t["text"] for conv in convs for _n, _start, ts in sessions(conv) for t in ts]
        settings = build_store(work / "store", args.size, list(pool), model, turns)
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_")}
        env.update(
            {
                "OPENCLAW_STATE_DIR": str(settings.state_dir),
                "OPENCLAW_INFRA_DATA_DIR": str(settings.data),
                "OPENCLAW_INFRA_TIMEZONE": "UTC",
                "HF_HUB_OFFLINE": "1",
            }
        )
        serve = subprocess.Popen(
            [sys.executable, "-m", "openclaw_infra", "serve"],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert serve.stderr is not None
        start = time.perf_counter()
        while "listening on" not in serve.stderr.readline():
            if serve.poll() is not None:
                raise SystemExit("infra serve did not start")
        print(f"infra serve ready in {time.perf_counter() - start:.1f} s on {args.size} chunks")
        try:
            with_service = timed(env, qs[: args.queries])
        finally:
            serve.terminate()
            serve.wait(30)
        without = timed(env, qs[: args.without], "--no-service")
    p50w, p50n = pct(with_service, 0.5), pct(without, 0.5)
    print(
        f"with service:    p50 {p50w:7.0f} ms  p95 {pct(with_service, 0.95):7.0f} ms  "
        f"(n={len(with_service)})"
    )
    print(
        f"without service: p50 {p50n:7.0f} ms  p95 {pct(without, 0.95):7.0f} ms  (n={len(without)})"
    )
    print(f"speed-up at p50: {p50n / p50w:.1f}x")


if __name__ == "__main__":
    main()
