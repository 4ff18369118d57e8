"""`infra recall`: search past conversations and memory files (OpenClaw's agent calls this)."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
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
    from openclaw_infra.commands.context import settings_of
    from openclaw_infra.core.errors import UsageError

    settings = settings_of(ctx)
    options = search_options(ctx.params)
    if batch is not None:
        if query is not None:
            raise UsageError("give either a QUERY or --batch, not both")
        for answer in _answers(settings, _queries(batch), options, no_service):
            typer.echo(json.dumps(answer, ensure_ascii=False))
        return
    if query is None:
        raise UsageError("a QUERY (or --batch FILE) is needed", hint="infra recall --help")
    out, err = output(next(iter(_answers(settings, [query], options, no_service))), as_json)
    typer.echo(err, nl=False, err=True)
    typer.echo(out, nl=False)


OPTION_PARAMS = ("limit", "since", "until", "agent", "min_score", "max_chars")


def search_options(params: Mapping[str, Any]) -> dict[str, Any]:
    """The search options among parsed `recall` parameters (the command's and the service's)."""
    return {**{k: params[k] for k in OPTION_PARAMS}, "sources": tuple(params["source"] or ())}


def output(answer: dict[str, Any], as_json: bool) -> tuple[str, str]:
    """(stdout, stderr) of a one-query recall; the service's fast path prints the same bytes."""
    from openclaw_infra.memory import render

    if as_json:
        err = "" if answer["index"]["chunks"] else render.EMPTY_INDEX + "\n"
        return json.dumps(answer, ensure_ascii=False) + "\n", err
    return render.render_markdown(answer) + "\n", ""


@functools.cache
def _command() -> Any:
    import typer.main

    from openclaw_infra.cli import app

    return typer.main.get_command(app).commands["recall"]  # type: ignore[attr-defined]


def parse_argv(argv: Sequence[str]) -> dict[str, Any]:
    """Typer's own parse of `infra recall ARGV`, for `infra serve`'s fast path.

    Only a single query is answered that way; anything else (help, a usage error, --batch,
    --no-service) raises UsageError, and the client runs the full CLI, which reports it.
    """
    from openclaw_infra.core.errors import UsageError

    try:
        # no help option here: the service must never print help to its own stdout
        context = _command().make_context("recall", list(argv), help_option_names=[])
        params = dict(context.params)
    except Exception as exc:  # click's usage errors, "--help" among them
        raise UsageError(f"not a plain query: {exc}") from None
    if params["query"] is None or params["batch"] is not None or params["no_service"]:
        raise UsageError("not a plain query")
    return params


def _answers(
    settings: Any, queries: list[str], options: dict[str, Any], no_service: bool
) -> Iterable[dict[str, Any]]:
    """From the resident service when it answers (no heavy import here), else in-process;
    both go through `search.answer_batch`, so the results are the same."""
    if not no_service:
        from openclaw_infra.serve import client as service_client

        answers = service_client.recall(settings, queries, options)
        if answers is not None:
            return answers
    from openclaw_infra.memory import search

    return search.recall_batch(settings, queries, **options)
