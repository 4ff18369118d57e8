"""`infra health`: Nagios-style status of the whole pipeline (exit 0/1/2/3)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command("health")(health)


def health(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON.")] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", help="Print nothing; record the verdict in the run ledger (for cron)."
        ),
    ] = False,
    notify: Annotated[
        bool,
        typer.Option(
            "--notify",
            help="Alert the user (OPENCLAW_INFRA_ALERT_TARGET, or OPENCLAW_INFRA_ALERT_COMMAND) "
            "when the overall state changed since the last alert, and every "
            "OPENCLAW_INFRA_ALERT_REMIND_HOURS while CRITICAL lasts; records this verdict too.",
        ),
    ] = False,
) -> None:
    """Check settings, permissions, disk and job freshness; exit 0 OK, 1 WARNING, 2 CRITICAL,
    3 UNKNOWN. The first line is Nagios-style with perfdata."""
    from openclaw_infra.core.errors import CantCreateError, ConfigError, DataError
    from openclaw_infra.ops import health as core

    notification = None
    obj = ctx.find_root().obj
    if isinstance(obj, ConfigError):
        report = core.config_failure_report(str(obj))
    else:
        try:
            report = core.run_checks(obj)
        except Exception as exc:  # health's own failure is UNKNOWN, never a traceback
            report = core.Report(core.UNKNOWN, [core.Check("health", core.UNKNOWN, repr(exc))], 0)
    if quiet or notify:
        from openclaw_infra.ops.health_record import record_verdict

        try:
            if isinstance(obj, ConfigError):  # still record and alert, with what validates
                from openclaw_infra.ops.alert_config import alert_settings

                obj = alert_settings()
            notification = record_verdict(obj, report, notify=notify)
        except (DataError, CantCreateError, ConfigError) as exc:  # corrupt store, full disk
            from openclaw_infra.core.logging import redact_text

            typer.echo(
                f"infra: verdict not recorded, no alert sent: {redact_text(str(exc))}", err=True
            )
    if quiet:
        raise typer.Exit(report.state)
    if as_json:
        data = report.as_json()
        if notification is not None:
            data["notification"] = notification.details()["notification"]
        typer.echo(json.dumps(data, indent=2, sort_keys=True))
    else:
        typer.echo(report.first_line())
        if notification is not None and notification.failed:
            typer.echo(notification.line())
        if sys.stdout.isatty():
            typer.echo(report.table())
    raise typer.Exit(report.state)
