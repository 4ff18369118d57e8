"""Wall time of `infra --help` and `infra health` (targets: --help <= 150 ms median,
health <= 400 ms median).

python benchmarks/startup.py [--runs 20] [--state-dir DIR]

Each command runs `--runs` times as a fresh process (after two to warm the page cache),
on an empty state dir unless `--state-dir` names one. Compare two versions of the code on a
loaded machine by running this twice in a row, the other with PYTHONPATH set to its `src`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time


def measure(argv: list[str], runs: int, env: dict[str, str]) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, capture_output=True, check=False)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--state-dir", default=None)
    args = parser.parse_args()
    infra = shutil.which("infra") or "infra"
    with tempfile.TemporaryDirectory() as tmp:
        home = args.state_dir or tmp
        env = {**os.environ, "OPENCLAW_STATE_DIR": home, "OPENCLAW_INFRA_TIMEZONE": "UTC"}
        for label, argv in (
            ("infra --help", [infra, "--help"]),
            ("infra health", [infra, "health"]),
        ):
            measure(argv, 2, env)  # warm the page cache
            t = sorted(measure(argv, args.runs, env))
            p95 = t[min(len(t) - 1, int(0.95 * len(t)))]
            print(
                f"{label:<14} median {statistics.median(t):6.1f} ms  p95 {p95:6.1f} ms  "
                f"(n={args.runs})"
            )


if __name__ == "__main__":
    main()
