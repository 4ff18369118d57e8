"""`infra weekly-synthesis`: each owed ISO week's grounded synthesis into memory/weekly/."""

from __future__ import annotations

import json
from functools import partial
from typing import Annotated

import typer

from openclaw_infra.commands.context import Mode


def register(app: typer.Typer) -> None:
    app.command("weekly-synthesis")(weekly_synthesis)


def weekly_synthesis(
    ctx: typer.Context,
    summarizer: Annotated[
        Mode | None,
        typer.Option("--summarizer", help="Override OPENCLAW_INFRA_SUMMARIZER for this run."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run report as JSON.")] = False,
) -> None:
    """Synthesise every owed ISO week (once its Sunday 22:00 has passed and daily-sync has
    done its days) into memory/weekly/YYYY-Www.md: draft, critique and refine passes, then a
    grounding check that keeps only bullets their cited dailies support (dropped ones are
    counted in the frontmatter); open action items carry forward. API unavailable after
    retries: exit 75, the week stays owed."""
    from openclaw_infra import services
    from openclaw_infra.commands.context import settings_of
    from openclaw_infra.pipeline.weekly.passes import WEEKLY_SYNTHESIS
    from openclaw_infra.pipeline.weekly.run import weekly_synthesis_job

    settings = settings_of(ctx, summarizer=summarizer and summarizer.value)
    report = weekly_synthesis_job(
        settings,
        services.summarizer(settings, WEEKLY_SYNTHESIS),
        embedder=partial(services.writer_embedder, settings),
    )
    if as_json:
        typer.echo(json.dumps(report.as_dict(), sort_keys=True))
        return
    waiting = f"; waiting for daily-sync: {', '.join(report.waiting)}" if report.waiting else ""
    if not report.weeks:
        typer.echo("no week owed" + waiting)
        return
    cost = f", ${report.cost_usd:.4f}" if report.calls else ""
    typer.echo(
        f"synthesised {len(report.weeks)} week(s) ({report.empty_weeks} without dailies) with "
        f"{report.mode} ({report.calls} LLM calls{cost}; {report.kept} claims kept, "
        f"{report.dropped} dropped by the grounding check) into "
        f"{', '.join(report.files) or 'no file'}{waiting}"
    )
