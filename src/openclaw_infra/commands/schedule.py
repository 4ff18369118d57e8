"""`infra schedule`: the crontab block deploy.sh installs, or its LaunchAgents."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command("schedule")(schedule)


def _installed_infra() -> str:
    """The `infra` beside this interpreter (the venv deploy installed), else `infra`."""
    candidate = Path(sys.executable).parent / "infra"
    return str(candidate) if candidate.is_file() else "infra"


def schedule(
    ctx: typer.Context,
    infra_bin: Annotated[
        str | None,
        typer.Option("--bin", help="The `infra` the lines run [default: this venv's infra]."),
    ] = None,
    launchd: Annotated[
        Path | None,
        typer.Option(
            "--launchd",
            help="Write the LaunchAgents (one per job, and the service with KeepAlive) into "
            "this folder and print their paths, instead of printing the crontab block.",
        ),
    ] = None,
) -> None:
    """Print the crontab block deploy.sh installs: every scheduled job from the job registry
    with its schedule setting applied (OPENCLAW_INFRA_SCHEDULE_<JOB>), the line that keeps
    `infra serve` up, and every OPENCLAW_* variable of this environment that differs from its
    default (never a secret), so cron jobs see the same OpenClaw as this shell."""
    import os

    from openclaw_infra.commands.context import settings_of
    from openclaw_infra.ops.install.crontab import render_crontab

    settings = settings_of(ctx)
    exe = infra_bin or _installed_infra()
    if launchd is None:
        typer.echo(render_crontab(exe, settings, os.environ), nl=False)
        return
    from openclaw_infra.ops.install.launchd import install_launch_agents

    for path in install_launch_agents(settings, launchd, exe, os.environ):
        typer.echo(str(path))
