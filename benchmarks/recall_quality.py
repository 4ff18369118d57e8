"""Recall quality on the LoCoMo dev split: infra recall against single methods and OpenClaw.

    python benchmarks/recall_quality.py [--conversations 4] [--work DIR] [--keep] [--ablation]

Each LoCoMo conversation is its own memory: every session becomes one OpenClaw JSONL
transcript (speaker A as `user`, speaker B as `assistant`, the session's date as the first
turn's time, 30 s per later turn), `infra index` indexes it and `infra recall --batch -
--json --limit 10 --max-chars 6000` answers every question (the shipped configuration,
through the real CLI). From the same store, in-process: dense-only, BM25-only, and
OpenClaw's memory_search scheme (its own 400-token chunks with 80-token overlap, 0.7 vector +
0.3 text over each retriever's candidates; given whole chunks, no minimum score and no date
decay, i.e. its best case). `--notes` writes each session as a dated Markdown memory note
instead (`memory/YYYY-MM-DD-HHMM.md`), which measures the Markdown chunking.

Scoring (../shared/eval/locomo/README.md): a question is a hit at k when the text of every
evidence turn is contained in the top-k returned texts, cut to 6,000 characters in total;
MRR uses the first k that is a hit (0 beyond 10). Categories: 1 multi-hop, 2 temporal,
3 open-domain, 4 single-hop, 5 adversarial; "all" is categories 1-4. LoCoMo (Maharana et
al., ACL 2024) is CC BY-NC 4.0 per upstream: a 4-conversation subset, internal use only.

`--keep` reuses the homes under `--work` (index built once) and `--ablation` scores the
ranking steps of `ablation()` in-process on them, one at a time; the first run without
`--keep` builds the homes. Recall@10 per category (1 multi-hop, 2 temporal, 3 open-domain,
4 single-hop, 5 adversarial; "all" is 1-4, MRR of all beside it), from
`python benchmarks/recall_quality.py --work W` once, then `... --work W --keep --ablation`:

    step                            1      2      3      4      5    all    MRR
    before                      0.360  0.946  0.433  0.942  0.954  0.806  0.629
    + sources first             0.360  0.946  0.433  0.942  0.954  0.806  0.629
    + names masked 0.3          0.378  0.946  0.467  0.949  0.965  0.814  0.640
    + widen questions (shipped) 0.378  0.946  0.467  0.949  0.971  0.814  0.640
    measured, not shipped (each alone on top of shipped):
    MMR 0.2 over 30 results     0.351  0.954  0.467  0.949  0.960  0.811  0.642
    MMR 0.1 over 15 results     0.360  0.946  0.467  0.949  0.965  0.811  0.643
    common words (>20%) dropped 0.369  0.946  0.467  0.942  0.971  0.809  0.637
    names masked 0.5            0.378  0.938  0.500  0.952  0.971  0.816  0.645
    dense weight 0.6            0.351  0.946  0.467  0.949  0.977  0.809  0.643
    no merge (drop)             0.405  0.915  0.400  0.926  0.948  0.797  0.603
    the ceiling of this ranking (shipped, scored without the 6,000-character cut):
    no char cut                 0.441  0.954  0.467  0.961  0.977  0.835  0.643

Without the cut the same top 10 hold all the evidence of 0.835 (multi-hop 0.441): the
budget costs 0.021, so the gap to 0.90 is in the ranking, not in how results are packed.
"Sources first" changes nothing here (LoCoMo has no digests); it is what puts the answering
turn above the digest line that repeats the question (tests/memory/test_ranking_answer_first).
Names masked 0.5 scores higher overall but loses a temporal question; 0.3 keeps every
category at least where it was. Measured with options since removed: reciprocal-rank fusion
instead of the score blend, all 0.753; dense pseudo-relevance feedback (the query moved 0.3
towards its top 3 hits), all 0.809.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "eval" / "locomo" / "locomo-dev.json"
LIMIT = 10
BUDGET = 6000
# the single methods and OpenClaw's scheme as they are: no query analysis, no answer-first
PLAIN: dict[str, Any] = {"name_weight": 0.0, "sources_first": False, "widen_questions": False}
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}


# --- LoCoMo -> OpenClaw transcripts ------------------------------------------------------------


def parse_when(text: str) -> datetime:
    """LoCoMo's "1:56 pm on 8 May, 2023" (no zone given: taken as UTC)."""
    return datetime.strptime(text.strip(), "%I:%M %p on %d %B, %Y").replace(tzinfo=UTC)


def sessions(conv: dict[str, Any]) -> Iterable[tuple[int, datetime, list[dict[str, Any]]]]:
    n = 1
    while f"session_{n}" in conv:
        yield n, parse_when(conv[f"session_{n}_date_time"]), conv[f"session_{n}"]
        n += 1


def iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def write_transcripts(conv: dict[str, Any], state: Path) -> None:
    """One JSONL session file per LoCoMo session, in OpenClaw's documented line format."""
    folder = state / "agents" / "main" / "sessions"
    folder.mkdir(parents=True, exist_ok=True)
    for n, start, turns in sessions(conv):
        sid = f"{conv['sample_id']}-s{n:02d}"
        lines = [
            {
                "type": "session",
                "version": 3,
                "id": sid,
                "timestamp": iso(start),
                "cwd": "/Users/me/.openclaw/workspace",
            }
        ]
        parent = None
        for k, turn in enumerate(turns):
            ts = start + timedelta(seconds=30 * k)
            role = "user" if turn["speaker"] == conv["speaker_a"] else "assistant"
            entry_id = f"{n:03d}{k:05d}"
            message: dict[str, Any] = {
                "role": role,
                "content": [{"type": "text", "text": turn["text"]}],
                "timestamp": int(ts.timestamp() * 1000),
            }
            lines.append(
                {
                    "type": "message",
                    "id": entry_id,
                    "parentId": parent,
                    "timestamp": iso(ts),
                    "message": message,
                }
            )
            parent = entry_id
        (folder / f"{sid}.jsonl").write_text(
            "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
        )


def write_notes(conv: dict[str, Any], workspace: Path) -> None:
    """`--notes`: each session as a dated memory note (`memory/YYYY-MM-DD-HHMM.md`, the name
    OpenClaw's session-memory hook uses), one bullet per turn."""
    folder = workspace / "memory"
    folder.mkdir(parents=True, exist_ok=True)
    for _n, start, turns in sessions(conv):
        lines = [f"# {start:%Y-%m-%d %H:%M}", ""]
        for turn in turns:
            role = "user" if turn["speaker"] == conv["speaker_a"] else "assistant"
            lines.append(f"- {role}: {turn['text'].strip()}")
        (folder / f"{start:%Y-%m-%d-%H%M}.md").write_text("\n".join(lines) + "\n")


def evidence_ids(raw: Sequence[str]) -> list[str]:
    """Normalise "D8:6; D9:17", "D9:1 D4:4", "D:11:26", "D30:05" to "D8:6" style ids."""
    out = []
    for item in raw:
        for part in re.split(r"[;,\s]+", item):
            match = re.match(r"D:?(\d+):(\d+)", part.strip())
            if match:
                out.append(f"D{int(match[1])}:{int(match[2])}")
    return out


def questions(conv: dict[str, Any]) -> list[tuple[str, int, list[str]]]:
    texts = {t["dia_id"]: t["text"].strip() for _, _, turns in sessions(conv) for t in turns}
    out = []
    for qa in conv["qa"]:
        evidence = [texts[e] for e in evidence_ids(qa.get("evidence", [])) if e in texts]
        if evidence:
            out.append((qa["question"], int(qa["category"]), evidence))
    return out


# --- scoring -----------------------------------------------------------------------------------


def hit_rank(
    texts: Sequence[str], evidence: Sequence[str], budget: int | None = BUDGET
) -> int | None:
    """First k at which all evidence is inside the top-k texts (cut to `budget` in total;
    None: uncut, which only the ablation's ceiling row uses)."""
    joined = ""
    for k, text in enumerate(texts[:LIMIT], 1):
        piece = text if budget is None else text[:budget]
        joined += piece + "\n"
        if all(e in joined for e in evidence):
            return k
        if budget is not None:
            budget -= len(piece)
            if budget <= 0:
                return None
    return None


def score(ranks: list[tuple[int, int | None]]) -> dict[str, tuple[float, float, float, int]]:
    table: dict[str, tuple[float, float, float, int]] = {}
    groups: dict[str, list[int | None]] = {}
    for category, rank in ranks:
        groups.setdefault(str(category), []).append(rank)
        if category != 5:
            groups.setdefault("all", []).append(rank)
    for name, got in groups.items():
        n = len(got)
        table[name] = (
            sum(1 for r in got if r is not None and r <= 5) / n,
            sum(1 for r in got if r is not None and r <= 10) / n,
            sum(1 / r for r in got if r is not None) / n,
            n,
        )
    return table


# --- the methods -------------------------------------------------------------------------------


INFRA = [sys.executable, "-m", "openclaw_infra"]


def run_index(env: dict[str, str]) -> float:
    """`infra index` through the real CLI; its wall time in seconds."""
    started = time.perf_counter()
    done = subprocess.run(
        [*INFRA, "index", "--json"], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"infra index failed ({done.returncode}): {done.stderr[-2000:]}")
    return time.perf_counter() - started


def run_cli(env: dict[str, str], qs: list[str], work: Path) -> tuple[list[list[str]], float]:
    """The shipped configuration through the real CLI: `infra index`, `infra recall --batch`."""
    infra = INFRA
    index_s = run_index(env)
    batch = work / "questions.txt"
    batch.write_text("\n".join(q.replace("\n", " ") for q in qs) + "\n")
    done = subprocess.run(
        [
            *infra,
            "recall",
            "--batch",
            str(batch),
            "--json",
            "--limit",
            str(LIMIT),
            "--max-chars",
            str(BUDGET),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"infra recall failed ({done.returncode}): {done.stderr[-2000:]}")
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(answers) == len(qs), "one answer per question, in order"
    return [[r["text"] for r in a["results"]] for a in answers], index_s


def openclaw_chunks(lines: Sequence[str], tokens: int = 400, overlap: int = 80) -> list[str]:
    """OpenClaw's line-based chunking: ~4 chars per token, the last `overlap` carried over."""
    max_chars, keep = tokens * 4, overlap * 4
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        if current and size + len(line) + 1 > max_chars:
            chunks.append("\n".join(current))
            carried: list[str] = []
            kept = 0
            for prev in reversed(current):
                if kept + len(prev) + 1 > keep:
                    break
                carried.insert(0, prev)
                kept += len(prev) + 1
            current, size = carried, kept
        current.append(line)
        size += len(line) + 1
    if current:
        chunks.append("\n".join(current))
    return chunks


def build_openclaw_store(
    settings: Any, conv: dict[str, Any], embedder: Any, *, bullet: str = ""
) -> None:
    """A second store holding OpenClaw-scheme chunks of the same transcripts (or notes)."""
    from openclaw_infra.core.db import connect, transaction
    from openclaw_infra.memory import store
    from openclaw_infra.memory.chunking import Chunk
    from openclaw_infra.memory.indexer import save_vectors

    conn = connect(settings.db_path)
    with transaction(conn):
        gen = store.create_generation(conn, str(embedder.identity), "active")
    for n, start, turns in sessions(conv):
        lines = [
            ("user" if t["speaker"] == conv["speaker_a"] else "assistant")
            + ": "
            + t["text"].strip()
            for t in turns
        ]
        chunks = [Chunk(1, 1, start.timestamp(), text) for text in openclaw_chunks(lines)]
        vectors = embedder.encode([c.text for c in chunks])
        key = f"openclaw:{n}"
        with transaction(conn):
            store.upsert_doc(
                conn,
                gen.gen,
                key,
                kind="session",
                path=f"s{n}.md",
                agent="main",
                session_id=f"s{n}",
                fingerprint=None,
                n_turns=0,
            )
            doc = store.get_doc(conn, gen.gen, key)
            assert doc is not None  # just upserted
            store.insert_chunks(conn, doc, chunks, [v.tobytes() for v in vectors], gen.model)
    save_vectors(settings, conn, gen)
    conn.close()


def run_in_process(settings: Any, qs: list[str], fusion: Any, embedder: Any) -> list[list[str]]:
    from openclaw_infra.memory.query import RecallQuery
    from openclaw_infra.memory.search import recall_batch

    query = RecallQuery("", LIMIT, max_chars=BUDGET)
    return [
        [r["text"] for r in a["results"]]
        for a in recall_batch(settings, query, qs, fusion=fusion, embedder=embedder)
    ]


def ablation() -> list[tuple[str, Any, int | None]]:
    """The ranking steps one at a time: what shipped before, the shipped configuration, then
    each measured step that did not ship, alone on top of it (see the module docstring), and
    the shipped ranking scored without the character cut (how much of the loss is the
    budget rather than the ranking). Each with the character budget it is scored at."""
    from dataclasses import replace

    from openclaw_infra.memory.ranking import SHIPPED

    before = replace(SHIPPED, sources_first=False, name_weight=0.0, widen_questions=False)
    named = replace(before, sources_first=True, name_weight=SHIPPED.name_weight)
    steps = [
        ("before", before),
        ("+ sources first", replace(before, sources_first=True)),
        ("+ names masked 0.3", named),
        ("+ widen questions =ship", SHIPPED),
        ("ship+MMR 0.2 over 30", replace(SHIPPED, diversity=0.2, pool=30)),
        ("ship+MMR 0.1 over 15", replace(SHIPPED, diversity=0.1, pool=15)),
        ("ship+common words 0.2", replace(SHIPPED, common_fraction=0.2)),
        ("ship+names masked 0.5", replace(SHIPPED, name_weight=0.5)),
        ("ship+dense weight 0.6", replace(SHIPPED, dense_weight=0.6)),
        ("ship+no merge (drop)", replace(SHIPPED, dedup="drop")),
    ]
    budgeted: list[tuple[str, Any, int | None]] = [(n, f, BUDGET) for n, f in steps]
    return [*budgeted, ("ship, no char cut", SHIPPED, None)]


def run_ablation(settings: Any, qs: list[str]) -> dict[str, list[list[str]]]:
    """Every `ablation()` step over the same open store, the questions embedded once per
    query-vector form."""
    from dataclasses import replace

    from openclaw_infra.memory.query import RecallQuery
    from openclaw_infra.memory.search import Searcher

    searcher = Searcher(settings)
    try:
        vectors: dict[float, Any] = {}  # by name_weight: the only step that changes them
        out: dict[str, list[list[str]]] = {}
        for name, fusion, budget in ablation():
            base = RecallQuery("", LIMIT, max_chars=budget)
            if fusion.name_weight not in vectors:
                vectors[fusion.name_weight] = searcher.query_vectors(qs, fusion)
            out[name] = [
                [
                    r["text"]
                    for r in searcher.search(
                        replace(base, text=q), fusion=fusion, query_vector=vec
                    )["results"]
                ]
                for q, vec in zip(qs, vectors[fusion.name_weight], strict=True)
            ]
        return out
    finally:
        searcher.close()


# --- main --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--conversations", type=int, default=4)
    parser.add_argument("--work", type=Path, help="keep the homes here (default: a temp dir)")
    parser.add_argument("--json", action="store_true", help="also print the table as JSON")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="reuse the homes already under --work (index built once; ranking re-scored)",
    )
    parser.add_argument(
        "--ablation",
        action="store_true",
        help="in-process only: the ranking steps added one at a time (see ABLATION)",
    )
    parser.add_argument(
        "--notes",
        action="store_true",
        help="write each session as a dated Markdown memory note instead of a "
        "transcript (measures the Markdown chunking)",
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from openclaw_infra.core.config import Settings
    from openclaw_infra.memory.embedder import PACKAGED_MODEL, get_embedder
    from openclaw_infra.memory.ranking import SHIPPED, Fusion

    convs = json.loads(args.data.read_text())[: args.conversations]
    work = args.work or Path(tempfile.mkdtemp(prefix="recall-quality-"))
    methods: tuple[str, ...] = (
        "infra recall (shipped)",
        "dense-only",
        "BM25-only",
        "OpenClaw scheme",
    )
    ranks: dict[str, list[tuple[int, int | None]]] = {m: [] for m in methods}
    index_s = 0.0
    started = time.perf_counter()
    if args.ablation:
        methods = tuple(name for name, _, _ in ablation())
        ranks = {m: [] for m in methods}
    for conv in convs:
        home = work / conv["sample_id"]
        state = home / "state"
        kept = args.keep and (home / "data" / "infra.sqlite").exists()
        if not kept:
            shutil.rmtree(home, ignore_errors=True)
            if args.notes:
                write_notes(conv, state / "workspace")
            else:
                write_transcripts(conv, state)
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_")}
        env.update(
            {
                "OPENCLAW_STATE_DIR": str(state),
                "OPENCLAW_INFRA_DATA_DIR": str(home / "data"),
                "OPENCLAW_INFRA_TIMEZONE": "UTC",
                "HF_HUB_OFFLINE": "1",
            }
        )
        qs = questions(conv)
        if args.ablation:
            if not kept:
                index_s += run_index(env)
            settings = Settings(
                state_dir=state,
                data_dir=home / "data",
                timezone="UTC",
                embedding_model=PACKAGED_MODEL,
            )
            budgets = {name: budget for name, _, budget in ablation()}
            for method, got in run_ablation(settings, [q for q, _, _ in qs]).items():
                for (_, category, evidence), result_texts in zip(qs, got, strict=True):
                    rank = hit_rank(result_texts, evidence, budgets[method])
                    ranks[method].append((category, rank))
            print(f"{conv['sample_id']}: {len(qs)} questions", file=sys.stderr)
            continue
        texts, took = run_cli(env, [q for q, _, _ in qs], home)
        index_s += took
        settings = Settings(
            state_dir=state, data_dir=home / "data", timezone="UTC", embedding_model=PACKAGED_MODEL
        )
        embedder = get_embedder(settings)
        per_method = {
            "infra recall (shipped)": texts,
            "dense-only": run_in_process(
                settings,
                [q for q, _, _ in qs],
                Fusion(mode="dense", dedup=SHIPPED.dedup, **PLAIN),
                embedder,
            ),
            "BM25-only": run_in_process(
                settings,
                [q for q, _, _ in qs],
                Fusion(mode="bm25", dedup=SHIPPED.dedup, **PLAIN),
                embedder,
            ),
        }
        oc_settings = Settings(
            state_dir=state,
            data_dir=home / "data-openclaw",
            timezone="UTC",
            embedding_model=PACKAGED_MODEL,
        )
        if not (kept and oc_settings.db_path.exists()):
            build_openclaw_store(oc_settings, conv, embedder, bullet="- " if args.notes else "")
        per_method["OpenClaw scheme"] = run_in_process(
            oc_settings,
            [q for q, _, _ in qs],
            Fusion(mode="openclaw", dedup="keep", candidates=4 * LIMIT, **PLAIN),
            embedder,
        )
        for method, got in per_method.items():
            for (_, category, evidence), result_texts in zip(qs, got, strict=True):
                ranks[method].append((category, hit_rank(result_texts, evidence)))
        print(f"{conv['sample_id']}: {len(qs)} questions", file=sys.stderr)
    report(ranks, as_json=args.json)
    print(
        f"\n{len(convs)} conversations; `infra index` {index_s:.1f}s in total; "
        f"benchmark {time.perf_counter() - started:.0f}s; homes in {work}"
    )
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


def report(ranks: dict[str, list[tuple[int, int | None]]], *, as_json: bool) -> None:
    tables = {m: score(r) for m, r in ranks.items()}
    cols = [*(str(c) for c in sorted(CATEGORIES)), "all"]
    head = f"{'method':<24}" + "".join(
        f"{(CATEGORIES.get(int(c), c) if c != 'all' else 'all 1-4')[:11]:>22}" for c in cols
    )
    print(head)
    print(f"{'':<24}" + "".join(f"{'R@5  R@10  MRR':>22}" for _ in cols))
    for method, table in tables.items():
        row = f"{method:<24}"
        for c in cols:
            r5, r10, mrr, _n = table.get(c, (0.0, 0.0, 0.0, 0))
            row += f"{r5:>10.3f}{r10:>6.3f}{mrr:>6.3f}"
        print(row)
    print(
        f"{'questions':<24}"
        + "".join(f"{tables[next(iter(tables))].get(c, (0, 0, 0, 0))[3]:>22}" for c in cols)
    )
    if as_json:
        print(
            json.dumps(
                {
                    m: {
                        c: dict(zip(("r5", "r10", "mrr", "n"), v, strict=True))
                        for c, v in t.items()
                    }
                    for m, t in tables.items()
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
