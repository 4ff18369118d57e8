"""Head to head: OpenClaw's own `memory search` and `infra recall` on the same data.

Both search the same workspace and the same transcripts with the same embedding model (the
packaged MiniLM, served to OpenClaw by the suite's fake `/v1/embeddings` server), and are
asked the same LoCoMo questions. The earlier sessions of one LoCoMo conversation become the
agent's daily notes in `memory/`; the last ones are replayed as real OpenClaw agent turns (the
first speaker's lines as the user, the other's as the fake model's answers), so transcript
hits come from what OpenClaw itself stored. A result is a hit when its text holds an evidence
line of the question, or when it is the evidence's memory file with the line in its range
(OpenClaw returns 700-character snippets, so its line ranges count too).

Prints per question the hit rank and the wall time of each CLI call, then hits (R@k),
latency percentiles, and the questions each one misses.

    python benchmarks/openclaw_head_to_head.py [--conversation conv-26] [--questions 20]
        [--transcript-sessions 1] [--turns 8] [--layout dated|undated] [--limit 6]
        [--workdir DIR]

`--workdir` keeps the OpenClaw home there and reuses it on the next run (same port for the
fake server, no second install, onboarding or replay). Needs OpenClaw 2026.9.6, installed
by scripts/openclaw-under-test.sh on first use (npm registry), and about 10 minutes.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from openclaw_it.fake_openai import (  # noqa: E402
    API_KEY,
    EMBEDDING_MODEL,
    MODEL_ID,
    FakeOpenAI,
    Text,
)
from openclaw_it.harness import (  # noqa: E402
    OpenClawError,
    OpenClawState,
    infra_bin_dir,
    install_openclaw,
    run_infra,
)

LOCOMO = REPO.parent / "shared" / "eval" / "locomo" / "locomo-dev.json"
ADVERSARIAL = 5  # LoCoMo category whose answers are not in the conversation
PROBE_CHARS = 80  # an evidence line counts as found when its first 80 characters are


def _norm(text: str) -> str:
    return " ".join(
        re.sub(r"^(?:user|assistant)(?: \(part \d+/\d+\))?: ", "", text, flags=re.I | re.M).split()
    ).lower()


def _session_date(raw: str) -> date:
    """LoCoMo dates look like '1:56 pm on 8 May, 2023'."""
    return datetime.strptime(raw.split(" on ", 1)[1].strip(), "%d %B, %Y").date()


@dataclass
class Evidence:
    """Where an evidence line of a question lives in the benchmark's data."""

    text: str
    path: str | None = None  # memory file, relative to the workspace
    line: int | None = None  # 1-based line in that file


@dataclass
class Corpus:
    """Memory files to write, turns to replay, and where each dialogue line ended up."""

    files: dict[str, list[str]] = field(default_factory=dict)
    turns: list[tuple[str, str]] = field(default_factory=list)
    where: dict[str, Evidence] = field(default_factory=dict)


def build_corpus(
    conv: dict[str, Any], transcript_sessions: int, max_turns: int, layout: str
) -> Corpus:
    """Split one LoCoMo conversation into daily notes and replayable turns."""
    numbers = sorted(
        int(k.split("_")[1]) for k in conv if re.fullmatch(r"session_\d+", k) and conv[k]
    )
    memory_numbers, replay_numbers = numbers[:-transcript_sessions], numbers[-transcript_sessions:]
    last_memory = _session_date(conv[f"session_{memory_numbers[-1]}_date_time"])
    shift = date.today() - timedelta(days=1) - last_memory  # the latest note is yesterday's
    corpus = Corpus()
    for n in memory_numbers:
        stamp = conv[f"session_{n}_date_time"]
        if layout == "dated":
            day = _session_date(stamp) + shift
            path = f"memory/{day.isoformat()}.md"
        else:
            path = f"memory/locomo/session-{n:02d}.md"
        lines = corpus.files.setdefault(path, [])
        lines += [f"# Session {n} ({stamp})", ""] if not lines else ["", f"## Session {n}", ""]
        for turn in conv[f"session_{n}"]:
            lines.append(f"{turn['speaker']}: {turn['text']}")
            corpus.where[turn["dia_id"]] = Evidence(turn["text"], path, len(lines))
    for n in replay_numbers:
        dialogue = conv[f"session_{n}"]
        user_speaker = dialogue[0]["speaker"]
        pending_user: list[dict[str, Any]] = []
        for turn in dialogue:
            if turn["speaker"] == user_speaker:
                pending_user.append(turn)
                continue
            if pending_user and len(corpus.turns) < max_turns:
                corpus.turns.append((" ".join(t["text"] for t in pending_user), turn["text"]))
                for t in [*pending_user, turn]:
                    corpus.where[t["dia_id"]] = Evidence(t["text"])
            pending_user = []
    return corpus


def pick_questions(conv: dict[str, Any], corpus: Corpus, count: int) -> list[dict[str, Any]]:
    """Non-adversarial questions whose evidence is all in the corpus; every one whose
    evidence is in a replayed transcript, the rest a seeded sample of the memory ones."""
    usable = [
        q
        for q in conv["qa"]
        if q.get("category") != ADVERSARIAL
        and q.get("evidence")
        and all(e in corpus.where for e in q["evidence"])
    ]
    in_transcript = [q for q in usable if any(corpus.where[e].path is None for e in q["evidence"])]
    in_memory = [q for q in usable if q not in in_transcript]
    random.Random(7).shuffle(in_memory)
    return (in_transcript + in_memory)[:count]


def hit_rank(results: list[dict[str, Any]], evidence: list[Evidence], text_key: str) -> int:
    """1-based rank of the first result holding an evidence line, 0 when none does."""
    for rank, result in enumerate(results, 1):
        body = _norm(str(result.get(text_key) or ""))
        start = result.get("startLine", result.get("start"))
        end = result.get("endLine", result.get("end"))
        path = str(result.get("path") or "")
        for ev in evidence:
            if _norm(ev.text)[:PROBE_CHARS] in body:
                return rank
            if (
                ev.path
                and path.endswith(ev.path)
                and isinstance(start, int)
                and isinstance(end, int)
                and start <= (ev.line or 0) <= end
            ):
                return rank
    return 0


def index_openclaw_memory(state: OpenClawState, tries: int = 4) -> None:
    """`openclaw memory index --force`, retried while a finished turn's background worker
    still holds OpenClaw's memory workspace lock (seen on 2026.9.6)."""
    for attempt in range(1, tries + 1):
        done = state.openclaw("memory", "index", "--force", timeout_s=900, check=False)
        if done.returncode == 0:
            return
        if "memory workspace lock" not in done.stdout + done.stderr or attempt == tries:
            raise OpenClawError(
                f"openclaw memory index --force exited {done.returncode}: {done.stderr[-2000:]}"
            )
        print(f"  memory index: lock held, retry {attempt}", file=sys.stderr)
        time.sleep(20)


def prepare(state: OpenClawState, fake: FakeOpenAI, corpus: Corpus, marker: Path) -> None:
    """Onboard, write the notes, configure OpenClaw's memory search, replay the turns, index."""
    started = time.perf_counter()
    fake.embed(["warm up"])  # load MiniLM now, not inside OpenClaw's first embedding request
    state.onboard(fake.base_url, MODEL_ID, API_KEY)
    for rel, lines in corpus.files.items():
        target = state.workspace / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    state.config_set(
        "memory.search",
        {
            "provider": "openai-compatible",
            "model": EMBEDDING_MODEL,
            "remote": {"baseUrl": fake.base_url, "apiKey": API_KEY},
        },
    )
    state.config_set("memory.search.sources", ["memory", "sessions"])
    for k, (user, answer) in enumerate(corpus.turns, 1):
        fake.script(user, Text(answer))
        turn = state.turn(user, session="locomo")
        print(f"  turn {k}/{len(corpus.turns)}: {turn.took_s:.1f} s", file=sys.stderr)
    index_openclaw_memory(state)
    run_infra(state, "index")
    marker.write_text(json.dumps({"prepared_s": time.perf_counter() - started}), encoding="utf-8")


def ask_openclaw(state: OpenClawState, question: str) -> tuple[list[dict[str, Any]], float]:
    start = time.perf_counter()
    answer = state.openclaw_json("memory", "search", question, "--json")
    return list(answer.get("results", [])), time.perf_counter() - start


def ask_infra(
    state: OpenClawState, question: str, limit: int
) -> tuple[list[dict[str, Any]], float, float]:
    start = time.perf_counter()
    answer = run_infra(state, "recall", question, "--json", "--limit", str(limit)).json()
    return list(answer["results"]), time.perf_counter() - start, float(answer["took_ms"])


def ask_both(state: OpenClawState, corpus: Corpus, q: dict[str, Any], limit: int) -> dict[str, Any]:
    """One question to both, with hit ranks and wall times; printed as it goes."""
    evidence = [corpus.where[e] for e in q["evidence"]]
    oc_results, oc_s = ask_openclaw(state, q["question"])
    in_results, in_s, in_ms = ask_infra(state, q["question"], limit)
    row = {
        "q": q["question"],
        "transcript": any(e.path is None for e in evidence),
        "oc": hit_rank(oc_results, evidence, "snippet"),
        "infra": hit_rank(in_results, evidence, "text"),
        "oc_s": oc_s,
        "infra_s": in_s,
        "infra_ms": in_ms,
    }
    print(
        f"{'T' if row['transcript'] else 'M'} openclaw {row['oc'] or '-':>2} {oc_s:5.1f}s | "
        f"infra {row['infra'] or '-':>2} {in_s:5.1f}s ({in_ms:6.1f} ms) | {row['q']}",
        flush=True,
    )
    return row


def ask_infra_batch(
    state: OpenClawState, corpus: Corpus, questions: list[dict[str, Any]], limit: int
) -> list[tuple[int, float]]:
    """All questions through one `infra recall --batch` process: (hit rank, took_ms) each,
    the latency an agent sees once the model is loaded."""
    lines = "\n".join(q["question"] for q in questions) + "\n"
    run = run_infra(state, "recall", "--batch", "-", "--limit", str(limit), input_text=lines)
    answers = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    if len(answers) != len(questions):
        raise OpenClawError(
            f"infra recall --batch gave {len(answers)} answers for {len(questions)}"
        )
    return [
        (
            hit_rank(a["results"], [corpus.where[e] for e in q["evidence"]], "text"),
            float(a["took_ms"]),
        )
        for q, a in zip(questions, answers, strict=True)
    ]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversation", default="conv-26")
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--transcript-sessions", type=int, default=1)
    parser.add_argument("--turns", type=int, default=8, help="cap on replayed agent turns")
    parser.add_argument("--layout", choices=("dated", "undated"), default="dated")
    parser.add_argument("--limit", type=int, default=6, help="infra results (OpenClaw: 6)")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()

    conv = next(c for c in json.loads(LOCOMO.read_text()) if c["sample_id"] == args.conversation)
    corpus = build_corpus(conv, args.transcript_sessions, args.turns, args.layout)
    questions = pick_questions(conv, corpus, args.questions)
    install = install_openclaw()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="oc-h2h-"))
    workdir.mkdir(parents=True, exist_ok=True)
    state = OpenClawState(install, workdir, path_prefix=[infra_bin_dir(), install.openclaw.parent])
    marker = workdir / "prepared.json"
    port_file = workdir / "fake-port"
    # a reused home's config names the port its fake server had
    port = int(port_file.read_text()) if marker.exists() and port_file.exists() else 0
    fake = FakeOpenAI().start(port)
    try:
        port_file.write_text(fake.base_url.rsplit(":", 1)[1].split("/")[0])
        if not marker.exists():
            print(f"preparing {workdir} ({len(corpus.turns)} turns) …", file=sys.stderr)
            prepare(state, fake, corpus, marker)
        rows = [ask_both(state, corpus, q, args.limit) for q in questions]
        warm = ask_infra_batch(state, corpus, questions, args.limit)
        abandoned = len(fake.recorded.abandoned)
    finally:
        fake.stop()
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    n = len(rows)
    print(
        f"\n{args.conversation}, {n} questions ({sum(r['transcript'] for r in rows)} with "
        f"evidence in OpenClaw transcripts), layout {args.layout}, "
        f"{len(corpus.files)} memory files, {len(corpus.turns)} replayed turns"
    )
    for name, key, secs in (
        ("openclaw memory search", "oc", "oc_s"),
        ("infra recall", "infra", "infra_s"),
    ):
        hits = sum(1 for r in rows if r[key])
        times = [r[secs] for r in rows]
        print(
            f"{name:24s} hits {hits}/{n} (R@{args.limit} {hits / n:.0%}); CLI wall per query "
            f"median {statistics.median(times):.2f} s, p95 {_pct(times, 0.95):.2f} s"
        )
    search_ms = [r["infra_ms"] for r in rows]
    print(f"{'':24s} took_ms inside those calls: median {statistics.median(search_ms):.1f} ms")
    warm_ms = [ms for _, ms in warm]
    print(
        f"{'infra recall --batch':24s} hits {sum(1 for rank, _ in warm if rank)}/{n} "
        f"(one process, model loaded once); took_ms per query median "
        f"{statistics.median(warm_ms):.1f} ms, p95 {_pct(warm_ms, 0.95):.1f} ms"
    )
    if abandoned:
        print(f"(OpenClaw hung up on {abandoned} embedding answer(s) of the fake server)")
    for name, key in (("openclaw", "oc"), ("infra", "infra")):
        missed = [r["q"] for r in rows if not r[key]]
        print(f"\nmissed by {name} ({len(missed)}):")
        for q in missed:
            print(f"  - {q}")
    if args.workdir:
        print(f"\nstate kept in {workdir}")


if __name__ == "__main__":
    main()
