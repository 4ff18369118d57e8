"""`infra feedback`: signed button values, recording feedback, the log (docs/feedback.md)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

app = typer.Typer(
    help="The feedback log: signed button values, what the user said was right or wrong.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

TargetOpt = Annotated[
    str | None,
    typer.Option(
        "--target", help="A digest item id (A-1b2c3d4e) or a citation (<session>#<entry>)."
    ),
]
VerdictOpt = Annotated[str | None, typer.Option("--verdict", help="good, bad or fix.")]
ChannelOpt = Annotated[
    str | None, typer.Option("--channel", help="Where the feedback came from (telegram, ...).")
]


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="feedback")


def _settings(ctx: typer.Context) -> Any:
    from openclaw_infra.commands.context import settings_of

    return settings_of(ctx)


@app.command("token")
def token(
    ctx: typer.Context,
    target: TargetOpt = None,
    verdict: VerdictOpt = None,
    ttl_days: Annotated[
        int | None,
        typer.Option(
            "--ttl-days",
            min=1,
            max=90,
            help="Days the button stays valid (default OPENCLAW_INFRA_FEEDBACK_TOKEN_TTL_DAYS).",
        ),
    ] = None,
) -> None:
    """Print a signed button value (at most 64 bytes, starting `ifb`) for VERDICT on TARGET;
    the key is created on first use in the data directory."""
    from openclaw_infra.core.errors import UsageError
    from openclaw_infra.feedback.tokens import DAY_S, issue

    if target is None or verdict is None:
        raise UsageError("feedback token needs --target and --verdict")
    ttl_s = None if ttl_days is None else ttl_days * DAY_S
    typer.echo(issue(_settings(ctx), target, verdict, ttl_s=ttl_s))


@app.command("record")
def record(
    ctx: typer.Context,
    value: Annotated[
        str | None,
        typer.Argument(help="A button value as it arrived (`callback_data: ` allowed)."),
    ] = None,
    *,
    target: TargetOpt = None,
    verdict: VerdictOpt = None,
    note: Annotated[
        str | None, typer.Option("--note", help="What the user said (with --target).")
    ] = None,
    channel: ChannelOpt = None,
) -> None:
    """Record one verdict: a pressed button's VALUE, or --target and --verdict [--note] for
    what the user said in words. Prints one line; a replay prints "already recorded" (0).
    Refused: forged, expired or malformed value 65, rate limit 75, bad option 2."""
    from openclaw_infra.core.errors import UsageError
    from openclaw_infra.feedback import intake

    settings = _settings(ctx)
    if value is not None:
        if target is not None or verdict is not None or note is not None:
            raise UsageError("give a button VALUE, or --target and --verdict, not both")
        recorded = intake.record_value(settings, value, channel=channel)
    elif target is not None and verdict is not None:
        recorded = intake.record_words(settings, target, verdict, note=note, channel=channel)
    else:
        raise UsageError("feedback record needs a button VALUE, or --target and --verdict")
    typer.echo(intake.answer(recorded))


@app.command("list")
def list_(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option("--since", help="YYYY-MM-DD, an ISO time, today, yesterday or 7d."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Newest records shown.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print the records as JSON.")] = False,
) -> None:
    """List feedback records, newest first."""
    from openclaw_infra.core.db import open_reader
    from openclaw_infra.feedback.store import list_records
    from openclaw_infra.feedback.view import record_line
    from openclaw_infra.memory.query import parse_when

    settings = _settings(ctx)
    moment = parse_when(since, settings.tz)
    conn = open_reader(settings.db_path)
    rows = []
    if conn is not None:
        try:
            rows = list_records(
                conn, since=None if moment is None else moment.timestamp(), limit=limit
            )
        finally:
            conn.close()
    if as_json:
        typer.echo(json.dumps([r.as_json() for r in rows], indent=2, sort_keys=True))
        return
    if not rows:
        typer.echo("no feedback recorded" + (f" since {since}" if since else ""))
    for row in rows:
        typer.echo(record_line(row))


@app.command("rotate-key")
def rotate_key(
    ctx: typer.Context,
    revoke: Annotated[
        bool,
        typer.Option(
            "--revoke",
            help="Also stop the old key at once (a leaked key): unanswered buttons stop working.",
        ),
    ] = False,
) -> None:
    """Sign new buttons with a new key. The old key keeps verifying its buttons until they
    expire, unless --revoke."""
    from openclaw_infra.feedback.keys import fingerprint, rotate

    keys = rotate(_settings(ctx), revoke=revoke)
    line = f"feedback key rotated: new key {fingerprint(keys.current)}"
    if keys.previous is not None:
        line += f"; buttons signed by {fingerprint(keys.previous)} work until they expire"
    else:
        line += "; no earlier key is honoured"
    typer.echo(line)
