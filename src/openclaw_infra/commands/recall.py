"""`infra recall`: search past conversations and memory files (OpenClaw's agent calls this)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import typer


def register(app: typer.Typer) -> None:
    app.command("recall")(recall)


def _queries(batch: str) -> list[str]:
    from openclaw_infra.core.errors import NoInputError

    if batch == "-":
        text = sys.stdin.read()
    else:
        try:
            text = Path(batch).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise NoInputError(f"{batch}: cannot read the batch file ({exc.strerror})") from None
    return text.splitlines()


def recall(
    ctx: typer.Context,
    *,
    query: Annotated[
        str | None, typer.Argument(help="What to look for.", show_default=False)
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, max=200, help="Results (default 8).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Only notes from this date on: YYYY-MM-DD, ISO time, "
            "today, yesterday, or an age such as 7d.",
        ),
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Only notes up to this date (inclusive).")
    ] = None,
    source: Annotated[
        list[str] | None,
        typer.Option(
            "--source", help="Only this kind: session, memory, summary or voice (repeatable)."
        ),
    ] = None,
    agent: Annotated[
        str | None, typer.Option("--agent", help="Only this agent's sessions.")
    ] = None,
    min_score: Annotated[
        float | None, typer.Option("--min-score", help="Drop results scoring below this (0-1).")
    ] = None,
    max_chars: Annotated[
        int | None,
        typer.Option(
            "--max-chars",
            min=1,
            help="Cap the total characters of returned texts "
            "(later results dropped, the last one cut).",
        ),
    ] = None,
    batch: Annotated[
        str | None,
        typer.Option(
            "--batch",
            metavar="FILE|-",
            help="One query per line; prints one JSON object per line, in order.",
        ),
    ] = None,
    no_service: Annotated[
        bool,
        typer.Option(
            "--no-service",
            help="Search in this process even when `infra serve` is up (same results, slower).",
        ),
    ] = False,
) -> None:
    """Search past conversations and memory files; results are untrusted notes with citations.

    Hybrid BM25 + vector search over every indexed transcript, MEMORY.md, memory/**/*.md,
    infra's summaries and voice transcripts. Plain output is a Markdown block ready for a
    prompt; --json gives text, score, kind, path, line range, time and citation per result.
    No match is not an error (exit 0).
    """
    from openclaw_infra.cli import settings_of
    from openclaw_infra.core.errors import UsageError
    from openclaw_infra.memory import render

    settings = settings_of(ctx)
    options = {
        "limit": limit,
        "since": since,
        "until": until,
        "sources": tuple(source or ()),
        "agent": agent,
        "min_score": min_score,
        "max_chars": max_chars,
    }
    if batch is not None:
        if query is not None:
            raise UsageError("give either a QUERY or --batch, not both")
        for answer in _answers(settings, _queries(batch), options, no_service):
            typer.echo(json.dumps(answer, ensure_ascii=False))
        return
    if query is None:
        raise UsageError("a QUERY (or --batch FILE) is needed", hint="infra recall --help")
    answer = next(iter(_answers(settings, [query], options, no_service)))
    if as_json:
        if not answer["index"]["chunks"]:
            typer.echo(render.EMPTY_INDEX, err=True)
        typer.echo(json.dumps(answer, ensure_ascii=False))
    else:
        typer.echo(render.render_markdown(answer))


def _answers(
    settings: Any, queries: list[str], options: dict[str, Any], no_service: bool
) -> Iterable[dict[str, Any]]:
    """From the resident service when it answers (no heavy import here), else in-process;
    both go through `search.answer_batch`, so the results are the same."""
    if not no_service:
        from openclaw_infra.memory import service_client

        answers = service_client.recall(settings, queries, options)
        if answers is not None:
            return answers
    from openclaw_infra.memory import search

    return search.recall_batch(settings, queries, **options)
