"""The `daily-sync` and `weekly-synthesis` jobs: settings → summariser → one ledgered,
locked run (the same shape as `summarize`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from openclaw_infra.core.config import Settings
from openclaw_infra.core.jobs import JobContext, run_job
from openclaw_infra.llm.client import LLMUnavailableError, Pricing, UsageMeter
from openclaw_infra.pipeline.daily.digest import build_day_digester
from openclaw_infra.pipeline.daily.run import DailyReport, DailyRun
from openclaw_infra.pipeline.periods import DAILY_JOB, WEEKLY_JOB
from openclaw_infra.pipeline.summarizer import ANTHROPIC, resolve_mode
from openclaw_infra.pipeline.weekly.passes import build_week_writer
from openclaw_infra.pipeline.weekly.run import WeeklyReport, WeeklyRun


@contextmanager
def _ledgered(
    settings: Settings, name: str, mode: str, meter: UsageMeter, items: Callable[[], int]
) -> Iterator[JobContext]:
    """The job context, with LLM usage and failures written to the ledger however it ends."""
    pricing = Pricing(settings.llm_price_input_per_mtok, settings.llm_price_output_per_mtok)
    with run_job(settings, name) as job:
        details: dict[str, Any] = job.run.details
        try:
            yield job
        except LLMUnavailableError:
            details["llm_failed"] = True
            raise
        finally:
            job.run.items = items()
            if mode == ANTHROPIC:
                job.run.tokens_in, job.run.tokens_out = meter.tokens_in, meter.tokens_out
                job.run.cost_usd = pricing.cost(meter.tokens_in, meter.tokens_out)
                details.update(
                    llm_retries=meter.retries, llm_errors=dict(sorted(meter.errors.items()))
                )
                details.setdefault("llm_failed", False)


def daily_sync_job(
    settings: Settings, *, now: datetime | None = None, meter: UsageMeter | None = None
) -> DailyReport:
    """Run `daily-sync` once: 78 when summarizer=anthropic has no key (before the lock), 75
    when the API stays unavailable (that day stays owed) or another run holds the lock."""
    mode = resolve_mode(settings)
    meter = meter if meter is not None else UsageMeter()
    digester = build_day_digester(settings, mode, meter)
    holder: list[DailyRun] = []
    with _ledgered(
        settings, DAILY_JOB, mode, meter, lambda: len(holder[0].report.files) if holder else 0
    ) as job:
        run = DailyRun(settings, job.conn, digester, now=now, details=job.run.details)
        holder.append(run)
        return run.run()


def weekly_synthesis_job(
    settings: Settings, *, now: datetime | None = None, meter: UsageMeter | None = None
) -> WeeklyReport:
    """Run `weekly-synthesis` once (exit codes as for daily-sync)."""
    mode = resolve_mode(settings)
    meter = meter if meter is not None else UsageMeter()
    writer = build_week_writer(settings, mode, meter)
    holder: list[WeeklyRun] = []
    with _ledgered(
        settings, WEEKLY_JOB, mode, meter, lambda: len(holder[0].report.files) if holder else 0
    ) as job:
        run = WeeklyRun(settings, job.conn, writer, now=now, details=job.run.details)
        holder.append(run)
        return run.run()
