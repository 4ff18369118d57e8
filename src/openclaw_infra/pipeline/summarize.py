"""The `summarize` job: settings → summariser → one ledgered, locked run of `HourlyRun`."""

from __future__ import annotations

from datetime import datetime

from openclaw_infra.core.config import Settings
from openclaw_infra.core.jobs import run_job
from openclaw_infra.llm.client import LLMUnavailableError, Pricing, UsageMeter
from openclaw_infra.pipeline.hourly import HourlyRun, SummarizeReport
from openclaw_infra.pipeline.summarizer import ANTHROPIC, build_summarizer, resolve_mode

JOB = "summarize"


def summarize_job(
    settings: Settings,
    *,
    max_hours: int | None = None,
    now: datetime | None = None,
    meter: UsageMeter | None = None,
) -> SummarizeReport:
    """Run `summarize` once. Exit codes come from the errors raised: 78 when
    summarizer=anthropic has no key (checked before the lock), 75 when the API stays
    unavailable or another run holds the lock. `meter` (optional) receives the LLM usage
    of the run, for callers that measure it (the benchmark)."""
    mode = resolve_mode(settings)
    meter = meter if meter is not None else UsageMeter()
    pricing = Pricing(settings.llm_price_input_per_mtok, settings.llm_price_output_per_mtok)
    summarizer = build_summarizer(settings, mode, meter)  # config errors: before the lock
    with run_job(settings, JOB) as job:
        details = job.run.details
        run = HourlyRun(
            settings, job.conn, summarizer, now=now, max_hours=max_hours, details=details
        )
        try:
            report = run.run()
        except LLMUnavailableError:
            details["llm_failed"] = True
            raise
        finally:
            job.run.items = run.report.sections
            if mode == ANTHROPIC:
                # the meter counts every billed call, those of a failed hour included
                job.run.tokens_in, job.run.tokens_out = meter.tokens_in, meter.tokens_out
                job.run.cost_usd = pricing.cost(meter.tokens_in, meter.tokens_out)
                details.update(
                    llm_retries=meter.retries,
                    llm_waited_s=round(meter.waited_s, 3),
                    llm_s=round(meter.elapsed_s, 3),
                    llm_errors=dict(sorted(meter.errors.items())),
                )
                details.setdefault("llm_failed", False)
        return report
