"""`infra summarize`: hourly notes of new conversation into memory/hourly/YYYY-MM-DD.md."""

from __future__ import annotations

import json
from functools import partial
from typing import Annotated

import typer

from openclaw_infra.commands.context import Mode


def register(app: typer.Typer) -> None:
    app.command("summarize")(summarize)


def summarize(
    ctx: typer.Context,
    max_hours: Annotated[
        int | None,
        typer.Option(
            "--max-hours",
            min=1,
            help="Owed hours to do in this run, oldest first (default: "
            "OPENCLAW_INFRA_SUMMARIZE_MAX_HOURS_PER_RUN).",
        ),
    ] = None,
    summarizer: Annotated[
        Mode | None,
        typer.Option("--summarizer", help="Override OPENCLAW_INFRA_SUMMARIZER for this run."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run report as JSON.")] = False,
) -> None:
    """Summarise every ended hour of new conversation (all agents), oldest first: one section
    per hour and agent, each bullet linked to its session#entry. Nothing new: exit 0, no
    write. API unavailable after retries: exit 75, the hour stays owed."""
    from openclaw_infra import services
    from openclaw_infra.commands.context import settings_of
    from openclaw_infra.pipeline.hourly import HOURLY_NOTES, summarize_job

    settings = settings_of(ctx, summarizer=summarizer and summarizer.value)
    report = summarize_job(
        settings,
        services.summarizer(settings, HOURLY_NOTES),
        embedder=partial(services.writer_embedder, settings),
        max_hours=max_hours,
    )
    if as_json:
        typer.echo(json.dumps(report.as_dict(), sort_keys=True))
        return
    if not report.sections:
        owed = f"; {report.pending} hour(s) still open" if report.pending else ""
        typer.echo(f"nothing new to summarise{owed}")
        return
    cost = f", ${report.cost_usd:.4f}" if report.calls else ""
    typer.echo(
        f"summarised {report.hours} hour(s), {report.entries} entries, {report.sections} "
        f"section(s) with {report.mode} ({report.calls} LLM calls, {report.tokens_in} in / "
        f"{report.tokens_out} out{cost}) into {', '.join(report.files) or 'no file'}"
        + (f"; {report.owed_left} hour(s) still owed" if report.owed_left else "")
    )
