"""`infra context` (the context pack after a compaction) and `infra signals` (across agents);
docs/context.md."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]

signals_app = typer.Typer(
    help="Signals across agents: a conversation with one agent touched another agent's open "
    "items or recent decisions.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


def register(app: typer.Typer) -> None:
    app.command("context")(context)
    app.add_typer(signals_app, name="signals")


def _settings(ctx: typer.Context) -> Any:
    from openclaw_infra.commands.context import settings_of

    return settings_of(ctx)


def context(
    ctx: typer.Context,
    *,
    agent: Annotated[str, typer.Option("--agent", help="The agent the pack is for.")] = "main",
    session: Annotated[
        str | None,
        typer.Option(
            "--session",
            help="Session id: its newest compaction summary is the recall query.",
            show_default=False,
        ),
    ] = None,
    budget: Annotated[
        int | None,
        typer.Option(
            "--budget",
            min=300,
            max=20000,
            help="Characters at most (default: the OPENCLAW_INFRA_CONTEXT_BUDGET_CHARS setting).",
            show_default=False,
        ),
    ] = None,
    if_compacted: Annotated[
        bool,
        typer.Option(
            "--if-compacted",
            help="Print nothing unless the --session was compacted (the OpenClaw hook's mode).",
        ),
    ] = False,
    service_only: Annotated[
        bool,
        typer.Option(
            "--service-only",
            help="Recall only through `infra serve` (no hits while it is down), never loading "
            "the embedding model here: the OpenClaw hook's mode, to stay fast.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Print the context pack for an agent: open action items and priorities, recent
    decisions, the latest lessons and, for a compacted --session, the top recall hits for
    its compaction summary; within a budget, every line cited, marked as untrusted notes.

    An unknown --agent or --if-compacted without --session exits 2. A session that was never
    compacted gives an empty pack with --if-compacted (exit 0).
    """
    from openclaw_infra.context.pack import any_recall, build, service_recall
    from openclaw_infra.core.errors import UsageError

    settings = _settings(ctx)
    if if_compacted and session is None:
        raise UsageError("--if-compacted needs --session")
    recall = service_recall if service_only else any_recall
    pack = build(
        settings, agent, session, budget=budget, recall=recall, only_if_compacted=if_compacted
    )
    if as_json:
        typer.echo(json.dumps(pack.as_dict(), ensure_ascii=False, indent=2))
        return
    typer.echo(pack.text, nl=False)


@signals_app.command("scan")
def signals_scan(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Read the turns since the last scan; record each one that touches another agent's open
    items or recent decisions (by name or by meaning), at most a few a day, each once, and
    send it through the alert sender. Scheduled every 30 minutes; exit 75 while another
    scan runs."""
    from openclaw_infra.context.signals import scan_job

    report = scan_job(_settings(ctx))
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    typer.echo(
        f"{report.turns} new turns against {report.targets} targets: "
        f"{len(report.recorded)} signals recorded, {report.notified} sent"
        + (f", {report.capped} over the daily cap" if report.capped else "")
        + (f", {len(report.notify_errors)} not sent" if report.notify_errors else "")
    )


@signals_app.command("list")
def signals_list(
    ctx: typer.Context,
    days: Annotated[
        int, typer.Option("--days", min=1, max=365, help="Signals of this many days.")
    ] = 7,
    as_json: JsonOpt = False,
) -> None:
    """List the signals of the last --days days, newest first, with both citations."""
    from datetime import datetime, timedelta

    from openclaw_infra.context.signals import listed
    from openclaw_infra.core.db import connect

    settings = _settings(ctx)
    since = (datetime.now(settings.tz).date() - timedelta(days=days - 1)).isoformat()
    conn = connect(settings.db_path)
    try:
        rows = listed(conn, since)
    finally:
        conn.close()
    if as_json:
        typer.echo(json.dumps({"since": since, "signals": rows}, ensure_ascii=False, indent=2))
        return
    if not rows:
        typer.echo(f"no signals since {since}")
    for row in rows:
        sent = "sent" if row["notified_at"] else (row["notify_error"] or "not sent")
        typer.echo(
            f"{row['day']}  {row['agent']} -> {', '.join(row['target_agents'])}  "
            f"{row['text']} [{row['target_citation']}] (turn {row['citation']}, "
            f"{row['how']} {row['matched']}, {sent})"
        )
