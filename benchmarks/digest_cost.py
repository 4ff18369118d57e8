"""LLM cost and local overhead of `infra daily-sync` and `infra weekly-synthesis` on a
generated week.

A deterministic week (Monday to Friday active, two agents, a few busy hours a day with
decisions, commitments and questions; one compaction summary a day) is summarised hourly by
the real `summarize`, then one `daily-sync` run catches up the seven days and one
`weekly-synthesis` run does the week, all through the real anthropic SDK against the local
fake Messages API (tests/fake_anthropic.py; its token counts are chars/4). A last run
catches up a year with no activity, to show the cost of empty days.

Printed: LLM calls and input/output tokens per digested day and per weekly pass, cost at
the configured prices, and wall time per run outside the LLM.

python benchmarks/digest_cost.py [--turns 40] [--budget 30000] [--max-tokens 1500]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from openclaw_infra.core.config import Settings  # noqa: E402
from openclaw_infra.core.logging import configure_logging  # noqa: E402
from openclaw_infra.llm.client import UsageMeter  # noqa: E402
from openclaw_infra.pipeline.daily.digest import DAILY_DIGEST  # noqa: E402
from openclaw_infra.pipeline.daily.run import daily_sync_job  # noqa: E402
from openclaw_infra.pipeline.hourly import HOURLY_NOTES, summarize_job  # noqa: E402
from openclaw_infra.pipeline.weekly.passes import WEEKLY_SYNTHESIS  # noqa: E402
from openclaw_infra.pipeline.weekly.run import weekly_synthesis_job  # noqa: E402
from openclaw_infra.services import summarizer, writer_embedder  # noqa: E402

from fake_anthropic import API_KEY, FakeAnthropic  # noqa: E402
from openclaw_fixtures import write_jsonl_session  # noqa: E402

MONDAY = date(2026, 3, 2)
HOURS = (9, 11, 14, 16, 19)
TOPICS = (
    "the garden timer",
    "the Lisbon trip",
    "the tax filing",
    "the server backup",
    "the kitchen quote",
    "the release freeze",
    "the dentist",
    "the book club list",
)
SAYINGS = (
    "We decided to settle {t} this week.",
    "Alice will handle {t} by Friday.",
    "Should we postpone {t}?",
    "Shipping {t} is the top priority.",
    "Bob reviewed {t} and found two issues.",
    "The plan for {t} looks fine.",
)


def write_week(state: Path, turns: int) -> None:
    for offset in range(5):
        day = MONDAY + timedelta(days=offset)
        for agent in ("main", "work"):
            for hour in HOURS[: 3 if agent == "work" else 5]:
                start = datetime(day.year, day.month, day.day, hour, 2, tzinfo=UTC)
                lines = []
                for n in range(turns):
                    topic = TOPICS[(n + hour + offset) % len(TOPICS)]
                    text = SAYINGS[(n * 7 + hour) % len(SAYINGS)].format(t=topic)
                    role = "user" if n % 2 == 0 else "assistant"
                    lines.append((role, text, start + timedelta(seconds=50 * n)))
                if agent == "main" and hour == HOURS[-1]:
                    lines.append(
                        (
                            "compaction",
                            "## Decisions\n- Keep the plan.\n## Open TODOs\n"
                            "- Send the report by Friday.",
                            start + timedelta(minutes=55),
                        )
                    )
                write_jsonl_session(state, agent, f"{agent}-{day}-{hour}", lines, start=start)


def outside_llm(wall: float, meter: UsageMeter) -> float:
    return wall - meter.elapsed_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=40, help="turns per active hour")
    parser.add_argument("--budget", type=int, default=30_000, help="input tokens per request")
    parser.add_argument("--max-tokens", type=int, default=1500, help="output tokens per call")
    args = parser.parse_args()
    configure_logging(None, level="warning")
    os.environ["OPENCLAW_INFRA_TEST_EMBEDDER"] = "1"
    with tempfile.TemporaryDirectory() as tmp, FakeAnthropic() as fake:
        state = Path(tmp) / ".openclaw"
        (state / "workspace" / "memory").mkdir(parents=True)
        settings = Settings(
            state_dir=state,
            workspace_dir=state / "workspace",
            data_dir=state / "infra",
            timezone="UTC",
            embedding_model="test-hash-embedder",
            anthropic_api_key=API_KEY,
            anthropic_base_url=fake.url,
            summarizer="anthropic",
            llm_input_budget_tokens=args.budget,
            llm_max_tokens=args.max_tokens,
        )
        write_week(state, args.turns)
        sunday = datetime(2026, 3, 8, 21, 30, tzinfo=UTC)
        embedder = partial(writer_embedder, settings)
        summarize_job(settings, summarizer(settings, HOURLY_NOTES), embedder=embedder, now=sunday)
        prices = (settings.llm_price_input_per_mtok, settings.llm_price_output_per_mtok)
        print(f"week: 5 active days, {args.turns} turns per active hour, 8 agent-hours a day")

        fake.reset_stats()
        meter = UsageMeter()
        started = time.monotonic()
        daily_summarizer = summarizer(settings, DAILY_DIGEST, meter)
        daily = daily_sync_job(settings, daily_summarizer, embedder=embedder, now=sunday)
        wall = time.monotonic() - started
        written = len(daily.files)
        print(f"daily-sync: {len(daily.days)} days ({daily.empty_days} empty), {written} files")
        print(
            f"  per written day: {meter.calls / written:.1f} calls, "
            f"{meter.tokens_in / written:.0f} in / {meter.tokens_out / written:.0f} out tokens, "
            f"${(meter.tokens_in * prices[0] + meter.tokens_out * prices[1]) / 1e6 / written:.4f}"
        )
        print(f"  wall {wall:.2f}s, outside the LLM {outside_llm(wall, meter):.2f}s")

        meter = UsageMeter()
        started = time.monotonic()
        weekly = weekly_synthesis_job(
            settings,
            summarizer(settings, WEEKLY_SYNTHESIS, meter),
            embedder=embedder,
            now=sunday + timedelta(hours=1),
        )
        wall = time.monotonic() - started
        print(f"weekly-synthesis: {weekly.weeks}, kept {weekly.kept}, dropped {weekly.dropped}")
        print(
            f"  {meter.calls} calls, {meter.tokens_in} in / {meter.tokens_out} out tokens, "
            f"${weekly.cost_usd:.4f}; wall {wall:.2f}s, outside the LLM "
            f"{outside_llm(wall, meter):.2f}s"
        )
        front = (state / "workspace" / "memory" / "weekly" / "2026-W10.md").read_text()
        for line in front.splitlines():
            if line.startswith("- pass:") or "    input:" in line or "    output:" in line:
                print("   ", line.strip())

        started = time.monotonic()
        later = daily_sync_job(
            settings,
            summarizer(settings, DAILY_DIGEST),
            embedder=embedder,
            now=sunday + timedelta(days=365),
        )
        wall = time.monotonic() - started
        print(
            f"catch-up of {len(later.days)} days without activity: {wall:.2f}s "
            f"({1000 * wall / max(1, len(later.days)):.1f} ms a day)"
        )


if __name__ == "__main__":
    main()
