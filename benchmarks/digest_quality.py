"""Precision and recall of the extractive daily digest, per section, on the labelled days.

The days in tests/data/digest_days (notes as daily-sync reads them, expected items per
section) go through the real extractive digest (spaCy's packaged English model) and the real
tracker with the packaged MiniLM embedder; tests/digest_days.py scores them. Printed: one
row per section (people, action items with owner and due date, decisions, open questions,
priorities), then every miss with --misses, and the wall time.

python benchmarks/digest_quality.py [--misses]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--misses", action="store_true", help="print every miss")
    args = parser.parse_args()
    from digest_days import evaluate, load_days, report
    from openclaw_infra.memory.embedder import PACKAGED_MODEL, SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder(PACKAGED_MODEL)
    days = load_days()
    start = time.perf_counter()
    tallies = evaluate(days, embedder.encode)
    took = time.perf_counter() - start
    print(f"{len(days)} labelled days, extractive digest + tracker (MiniLM)")
    report(tallies)
    if args.misses:
        for tally in tallies.values():
            for miss in tally.misses:
                print(" ", miss)
    print(f"wall: {took:.2f}s for {len(days)} days (models included)")


if __name__ == "__main__":
    main()
