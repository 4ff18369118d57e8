"""`infra serve`: the resident recall service that `infra recall` uses when it is up."""

from __future__ import annotations

from typing import Annotated

import typer

from openclaw_infra.core.errors import UsageError


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    ctx: typer.Context,
    ensure: Annotated[
        bool,
        typer.Option(
            "--ensure",
            help="Start the service in the background unless it runs, and return at once "
            "(what cron runs every 5 minutes and at boot).",
        ),
    ] = False,
    stop: Annotated[
        bool,
        typer.Option("--stop", help="Stop the running service (SIGTERM) and wait for it."),
    ] = False,
) -> None:
    """Hold the embedding model and memory index and answer `infra recall` over a Unix socket
    in the data dir (0600) until SIGTERM. `infra recall` falls back to searching in-process
    when the service is down. A second start says "already running (pid N)" and exits 0; a
    socket another program listens on exits 73."""
    from openclaw_infra.commands.context import settings_of

    settings = settings_of(ctx)
    if ensure and stop:
        raise UsageError("--ensure and --stop: give one, not both")
    if not (ensure or stop):
        from openclaw_infra.serve.server import serve as run

        run(settings)
        return
    from openclaw_infra.serve import supervise

    if stop:
        pid = supervise.stop(settings)
        typer.echo(
            "infra serve: not running" if pid is None else f"infra serve: stopped pid {pid}",
            err=True,
        )
        return
    state, pid = supervise.ensure(settings)
    if state == "running":
        typer.echo(f"infra serve: already running (pid {pid})", err=True)
    else:
        typer.echo(
            f"infra serve: {state} (pid {pid}; log {supervise.log_path(settings)})", err=True
        )
