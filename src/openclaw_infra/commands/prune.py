"""`infra prune`: delete infra's own old records by age (ops/prune.py)."""

from __future__ import annotations

import json
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command("prune")(prune)


def prune(
    ctx: typer.Context,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="List what would be removed; remove and record nothing."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Delete infra's own records past their age: ledger runs (OPENCLAW_INFRA_PRUNE_RUNS_DAYS,
    health verdicts OPENCLAW_INFRA_PRUNE_HEALTH_DAYS; the newest runs and last success of each
    job stay), logs not written for OPENCLAW_INFRA_PRUNE_LOGS_DAYS, and quarantine older than
    OPENCLAW_INFRA_PRUNE_QUARANTINE_DAYS. Memory files, watermarks and cursors are never
    deleted. Scheduled daily after the backup."""
    from openclaw_infra.commands.context import settings_of
    from openclaw_infra.ops.prune import prune as run

    result = run(settings_of(ctx), dry_run=dry_run)
    if as_json:
        typer.echo(json.dumps(result.as_json(), indent=2, sort_keys=True))
        return
    for line in result.lines():
        typer.echo(line)
