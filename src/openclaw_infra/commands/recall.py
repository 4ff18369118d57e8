"""`infra recall`: search past conversations and memory files (OpenClaw's agent calls this).

The options are not declared here: the command's signature is built from
`memory.query.OPTIONS`, the table the service's fast-path parser reads argv by, so the full
CLI and the fast path accept the same command lines.
"""

from __future__ import annotations

import inspect
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import typer

from openclaw_infra.memory.query import OPTIONS, Option, RecallQuery


def register(app: typer.Typer) -> None:
    app.command("recall")(recall)


# A batch is read only up to these bounds (the service takes a request of at most 1 MiB):
# more is refused rather than cut short, so no query is silently dropped.
MAX_BATCH_BYTES = 1 << 20
MAX_BATCH_QUERIES = 10_000


def _queries(batch: str) -> list[str]:
    """The batch's lines. A FILE that is not a regular file (a FIFO, a device) exits 66
    without blocking on it; more than MAX_BATCH_BYTES or MAX_BATCH_QUERIES exits 65."""
    from openclaw_infra.core.errors import DataError, NoInputError
    from openclaw_infra.core.watched import RefusedFile, open_watched

    if batch == "-":
        data = sys.stdin.buffer.read(MAX_BATCH_BYTES + 1)
    else:
        try:
            with open_watched(Path(batch), None) as fh:
                data = fh.read(MAX_BATCH_BYTES + 1)
        except RefusedFile as exc:
            raise NoInputError(
                f"{batch}: not a batch file ({exc.reason}); give a regular file or - for stdin"
            ) from None
        except OSError as exc:
            raise NoInputError(f"{batch}: cannot read the batch file ({exc.strerror})") from None
    if len(data) > MAX_BATCH_BYTES:
        raise DataError(
            f"{batch}: a batch holds at most {MAX_BATCH_BYTES:,} bytes; split it into smaller ones"
        )
    lines = data.decode("utf-8", errors="replace").splitlines()
    if len(lines) > MAX_BATCH_QUERIES:
        raise DataError(
            f"{batch}: a batch holds at most {MAX_BATCH_QUERIES:,} queries, this one "
            f"{len(lines):,}; split it into smaller ones"
        )
    return lines


def recall(ctx: typer.Context, **params: Any) -> None:
    """Search past conversations and memory files; results are untrusted notes with citations.

    Hybrid BM25 + vector search over every indexed transcript, MEMORY.md, memory/**/*.md,
    infra's summaries and voice transcripts. Plain output is a Markdown block ready for a
    prompt; --json gives text, score, kind, path, line range, time and citation per result.
    No match is not an error (exit 0). A --batch FILE that is not a regular file exits 66;
    a batch over 1 MiB or 10,000 queries exits 65.
    """
    from openclaw_infra.commands.context import settings_of
    from openclaw_infra.core.errors import UsageError
    from openclaw_infra.memory.query import query_of
    from openclaw_infra.memory.render import output

    settings = settings_of(ctx)
    batch = params["batch"]
    if batch is not None and params["query"] is not None:
        raise UsageError("give either a QUERY or --batch, not both")
    if batch is None and params["query"] is None:
        raise UsageError("a QUERY (or --batch FILE) is needed", hint="infra recall --help")
    texts = _queries(batch) if batch is not None else [params["query"]]
    query = query_of(settings, params)
    answers = _answers(settings, query, texts, params["no_service"])
    if batch is not None:
        for answer in answers:
            typer.echo(json.dumps(answer, ensure_ascii=False))
        return
    out, err = output(next(iter(answers)), params["as_json"])
    typer.echo(err, nl=False, err=True)
    typer.echo(out, nl=False)


def _parameter(option: Option) -> inspect.Parameter:
    """`option` as the Typer parameter `recall` is called with."""
    if option.kind is bool:
        info = typer.Option(option.flag, help=option.help)
        annotation: Any = Annotated[bool, info]
        default: Any = False
    else:
        info = typer.Option(
            option.flag, help=option.help, metavar=option.metavar, parser=option.convert
        )
        kind = list[option.kind] if option.repeatable else option.kind  # type: ignore[name-defined]
        annotation, default = Annotated[kind | None, info], None
    return inspect.Parameter(
        option.name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
    )


recall.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [
        inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context),
        inspect.Parameter(
            "query",
            inspect.Parameter.KEYWORD_ONLY,
            annotation=Annotated[
                str | None, typer.Argument(help="What to look for.", show_default=False)
            ],
            default=None,
        ),
        *map(_parameter, OPTIONS),
    ]
)


def _answers(
    settings: Any, query: RecallQuery, texts: list[str], no_service: bool
) -> Iterable[dict[str, Any]]:
    """From the resident service when it answers (no heavy import here), else in-process;
    both go through `search.answer_batch`, so the results are the same."""
    if not no_service:
        from openclaw_infra.serve import client as service_client

        answers = service_client.recall(settings, query, texts)
        if answers is not None:
            return answers
    from openclaw_infra.memory import search

    return search.recall_batch(settings, query, texts)
