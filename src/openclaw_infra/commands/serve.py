"""`infra serve`: the resident recall service that `infra recall` uses when it is up."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(ctx: typer.Context) -> None:
    """Hold the embedding model and memory index and answer `infra recall` over a Unix socket
    in the data dir (0600) until SIGTERM. `infra recall` falls back to searching in-process
    when the service is down. A second instance exits 75."""
    from openclaw_infra.commands.context import settings_of
    from openclaw_infra.serve.server import serve as run

    run(settings_of(ctx))
