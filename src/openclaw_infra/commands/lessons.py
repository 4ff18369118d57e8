"""`infra lessons`: new bad and fix feedback into memory/lessons/MEMORY.md (docs/feedback.md)."""

from __future__ import annotations

import json
from functools import partial
from typing import Annotated

import typer

from openclaw_infra.commands.context import Mode


def register(app: typer.Typer) -> None:
    app.command("lessons")(lessons)


def lessons(
    ctx: typer.Context,
    summarizer: Annotated[
        Mode | None,
        typer.Option("--summarizer", help="Override OPENCLAW_INFRA_SUMMARIZER for this run."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run report as JSON.")] = False,
) -> None:
    """Turn the bad and fix feedback recorded since the last run into memory/lessons/MEMORY.md:
    one lesson per target, deduplicated, with its sources and a count, newest first, within
    OPENCLAW_INFRA_LESSONS_MAX_CHARS; worded by the configured model (Claude when a key is
    set, or OPENCLAW_INFRA_SUMMARIZER=openai-compatible), quoted otherwise.
    API unavailable after retries: exit 75, the feedback stays owed."""
    from openclaw_infra import services
    from openclaw_infra.commands.context import settings_of
    from openclaw_infra.feedback.lessons import lessons_job
    from openclaw_infra.llm.client import UsageMeter
    from openclaw_infra.pipeline.injection import looks_like_instruction
    from openclaw_infra.pipeline.outputs import index_pending
    from openclaw_infra.pipeline.summarizer import EXTRACTIVE

    settings = settings_of(ctx, summarizer=summarizer and summarizer.value)
    meter = UsageMeter()
    llm = None
    mode = services.summary_mode(settings)
    if mode != EXTRACTIVE:
        llm = services.llm_client(settings, meter)
    embedder = partial(services.writer_embedder, settings)
    report = lessons_job(
        settings,
        screen=looks_like_instruction,
        llm=llm,
        llm_mode=mode,
        meter=meter if llm is not None else None,
        pricing=services.pricing(settings) if llm is not None else None,
        index=lambda conn: index_pending(settings, conn, embedder),
    )
    if as_json:
        typer.echo(json.dumps(report.as_dict(), sort_keys=True))
        return
    if not report.lessons:
        typer.echo(f"no lessons: {report.new_feedback} new bad/fix feedback")
        return
    state = "written" if report.written else "unchanged"
    typer.echo(
        f"{report.new_feedback} new bad/fix feedback; {report.lessons} lesson(s) "
        f"({report.changed} changed, {report.shown} shown, {report.mode}); "
        f"{report.path} {state}"
    )
