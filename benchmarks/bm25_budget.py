"""What bounding the BM25 query in a large store (memory/term_stats.py) costs in recall.

    python benchmarks/bm25_budget.py --work W [--store N ...]
    (W: homes built by `python benchmarks/recall_quality.py --work W`)

The bound applies only from 20,000 chunks, and a LoCoMo conversation is a few hundred, so
recall_quality.py never sees it. This scores the shipped ranking on the LoCoMo dev homes with
the bound made to bite as it would at `--store` chunks: the postings budget scaled to the
same share of the store (50,000 of 1,000,000 is 5% of its chunks; at least one posting).
Beside it, the rule the budget replaced, emulated the same way: every word in more than 5%
of the chunks out of the BM25 query (as shipped from 20,000 chunks until this budget).
Scored as in recall_quality.py (recall@10 within 6,000 characters, "all" is categories 1-4):

    rule                                1      2      3      4      5    all    MRR
    shipped, bound off (LoCoMo size)  0.378  0.946  0.467  0.949  0.971  0.814  0.640
    old rule: words in >5% out        0.342  0.923  0.400  0.926  0.965  0.787  0.623
    budget as at 20,000 chunks        0.378  0.946  0.467  0.949  0.971  0.814  0.640
    budget as at 100,000 chunks       0.369  0.946  0.467  0.949  0.971  0.813  0.641
    budget as at 1,000,000 chunks     0.333  0.908  0.400  0.904  0.948  0.770  0.593

(LoCoMo's two speakers are in most chunks, so their names are the common words here; in a
real store the people the user talks with most are.)
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recall_quality import DATA, hit_rank, questions, report


def run(
    work: Path, convs: list[dict[str, Any]], store: int | None, *, old_rule: bool = False
) -> list[tuple[int, int | None]]:
    from openclaw_infra.core.config import Settings
    from openclaw_infra.memory import term_stats
    from openclaw_infra.memory.embedder import PACKAGED_MODEL
    from openclaw_infra.memory.query import RecallQuery
    from openclaw_infra.memory.ranking import SHIPPED
    from openclaw_infra.memory.search import Searcher

    shipped = (term_stats.BUDGET_MIN_CHUNKS, term_stats.POSTINGS_BUDGET)
    fusion = replace(SHIPPED, common_fraction=0.05) if old_rule else SHIPPED
    ranks: list[tuple[int, int | None]] = []
    try:
        for conv in convs:
            home = work / conv["sample_id"]
            settings = Settings(
                state_dir=home / "state",
                data_dir=home / "data",
                timezone="UTC",
                embedding_model=PACKAGED_MODEL,
            )
            searcher = Searcher(settings)
            if store is not None:
                term_stats.BUDGET_MIN_CHUNKS = 0
                share = shipped[1] / store * searcher.chunk_count()
                term_stats.POSTINGS_BUDGET = max(1, round(share))
            for question, category, evidence in questions(conv):
                query = RecallQuery(question, 10, max_chars=6000)
                got = searcher.search(query, fusion=fusion)["results"]
                ranks.append((category, hit_rank([r["text"] for r in got], evidence)))
            searcher.close()
    finally:
        term_stats.BUDGET_MIN_CHUNKS, term_stats.POSTINGS_BUDGET = shipped
    return ranks


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--conversations", type=int, default=4)
    parser.add_argument("--store", type=int, action="append", help="emulated chunks (repeat)")
    args = parser.parse_args()
    convs = json.loads(DATA.read_text())[: args.conversations]
    table = {
        "shipped, bound off here": run(args.work, convs, None),
        "old rule: >5% words out": run(args.work, convs, None, old_rule=True),
    }
    for size in args.store or [20_000, 100_000, 1_000_000]:
        table[f"budget as at {size:,}"] = run(args.work, convs, size)
    report(table, as_json=False)


if __name__ == "__main__":
    main()
