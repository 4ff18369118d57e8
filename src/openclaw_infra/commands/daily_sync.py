"""`infra daily-sync`: each owed day's digest into memory/daily/, and memory/priorities.md."""

from __future__ import annotations

import json
from functools import partial
from typing import TYPE_CHECKING, Annotated

import typer

from openclaw_infra.commands.context import Mode

if TYPE_CHECKING:
    from openclaw_infra.pipeline.daily.brief import Delivery


def register(app: typer.Typer) -> None:
    app.command("daily-sync")(daily_sync)


def daily_sync(
    ctx: typer.Context,
    summarizer: Annotated[
        Mode | None,
        typer.Option("--summarizer", help="Override OPENCLAW_INFRA_SUMMARIZER for this run."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run report as JSON.")] = False,
) -> None:
    """Digest every owed day (from the last one done, oldest first, once its 21:00 has
    passed) into memory/daily/YYYY-MM-DD.md: summary, decisions, action items, open
    questions, priorities, people and projects, each linked to its sources; update
    memory/priorities.md. A day with no activity is recorded done and writes nothing. API
    unavailable after retries: exit 75, that day stays owed. ✅ / ❌ answers from the daily
    brief close open action items first. With OPENCLAW_INFRA_DAILY_BRIEF_ENABLED and a
    target, the newest day's brief (decisions and action items with feedback buttons) is
    sent afterwards; a failed send is reported and retried by the next run, never an error."""
    from openclaw_infra import services
    from openclaw_infra.commands.context import settings_of
    from openclaw_infra.pipeline.daily.digest import DAILY_DIGEST
    from openclaw_infra.pipeline.daily.run import daily_sync_job

    settings = settings_of(ctx, summarizer=summarizer and summarizer.value)
    report = daily_sync_job(
        settings,
        services.summarizer(settings, DAILY_DIGEST),
        embedder=partial(services.writer_embedder, settings),
    )
    if as_json:
        typer.echo(json.dumps(report.as_dict(), sort_keys=True))
        return
    brief = _brief_line(report.brief)
    if not report.days:
        typer.echo("no day owed" + brief)
        return
    cost = f", ${report.cost_usd:.4f}" if report.calls else ""
    line = (
        f"digested {len(report.days)} day(s) ({report.empty_days} without activity) with "
        f"{report.mode} ({report.calls} LLM calls{cost}) into "
        f"{', '.join(report.files) or 'no file'}"
    )
    if report.priorities == "conflict":
        line += (
            "; memory/priorities.md was edited since infra wrote it: the update is in "
            "memory/priorities.md.infra-update"
        )
    typer.echo(line + brief)


def _brief_line(delivery: Delivery) -> str:
    """What happened to the daily brief, as the end of the run's line."""
    if delivery.status == "sent":
        return f"; daily brief of {delivery.day} sent"
    if delivery.status == "failed":
        return f"; daily brief of {delivery.day} NOT sent: {delivery.error}"
    if delivery.status == "stale":
        return f"; daily brief of {delivery.day} not sent: {delivery.error}"
    return ""
