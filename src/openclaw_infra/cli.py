"""The `infra` command: registers subcommands, builds Settings once, maps errors to exit codes.

Command modules are thin and import nothing heavy at module level, so `infra --help` and
`infra health` stay fast (a test inspects sys.modules).
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from openclaw_infra import __version__
from openclaw_infra.core.errors import InfraError

try:  # typer 0.2x carries its own copy of click
    from typer._click.exceptions import NoSuchOption
except ImportError:  # pragma: no cover - older typer runs on click itself
    from click.exceptions import NoSuchOption  # type: ignore[assignment]

SUGGEST_ALL_UP_TO = 6  # with no close name, a command with this few options lists them all


def closest_options(typed: str, names: list[str]) -> list[str]:
    """The real options `typed` most likely meant: those it is a prefix of (or that are a
    prefix of it), then those spelled alike, whole or one word of them, then those with its
    first letter (`--to` -> `--target`, where difflib alone offers `--json` for the shared
    dashes), else every one of a short list. Compared without dashes, case-insensitive."""
    bare = typed.lstrip("-").lower()
    if not bare:
        return []
    plain = {name: name.lstrip("-").lower() for name in names}
    picks = [
        n for n, p in plain.items() if p.startswith(bare) or (len(p) > 1 and bare.startswith(p))
    ]
    alike = difflib.get_close_matches(bare, list(plain.values()), n=3, cutoff=0.6)
    picks += [n for p in alike for n, q in plain.items() if q == p]
    if not picks:  # one word of a longer name: `--hourz` -> `--max-hours`
        picks = [
            n
            for n, p in plain.items()
            if difflib.get_close_matches(bare, p.split("-"), n=1, cutoff=0.75)
        ]
    if not picks:
        picks = [n for n, p in plain.items() if p[0] == bare[0]]
    if not picks and len(names) <= SUGGEST_ALL_UP_TO:
        picks = list(names)
    return list(dict.fromkeys(picks))


def _suggest(exc: NoSuchOption) -> None:
    """Replace click's suggestion (difflib with the dashes, cutoff 0.6) with ours, named
    from the options of the command that failed to parse; Typer prints it as usual."""
    ctx = exc.ctx
    if ctx is None:
        return
    names = [
        name
        for param in ctx.command.get_params(ctx)
        if not getattr(param, "hidden", False)
        for name in (*param.opts, *param.secondary_opts)
        if name.startswith("-") and name not in ctx.help_option_names
    ]
    exc.possibilities = closest_options(exc.option_name, names)


class _InfraGroup(TyperGroup):
    """The root command: an unknown option of any command below it passes through here
    (each subcommand parses inside the root's invoke), so one place names the real option."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except NoSuchOption as exc:
            _suggest(exc)
            raise

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except NoSuchOption as exc:
            _suggest(exc)
            raise


app = typer.Typer(
    cls=_InfraGroup,
    name="infra",
    help="Memory and operations toolkit for the OpenClaw assistant.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"infra {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Memory and operations toolkit for the OpenClaw assistant."""
    from openclaw_infra.core.config import load_settings
    from openclaw_infra.core.errors import ConfigError
    from openclaw_infra.core.logging import configure_logging, register_secret
    from openclaw_infra.openclaw.timezone import with_user_timezone

    try:
        settings = with_user_timezone(load_settings())
    except ConfigError as exc:
        # kept for the command: `infra health` reports it as CRITICAL, others exit 78
        ctx.obj = exc
        configure_logging(None)
        return
    register_secret(settings.api_key)
    try:
        configure_logging(
            settings.logs_dir,
            level=settings.log_level,
            max_bytes=settings.log_max_bytes,
            backups=settings.log_backups,
        )
    except InfraError:
        configure_logging(None, level=settings.log_level)  # health reports the unwritable dir
    ctx.obj = settings


def _register() -> None:
    """Commands in the order of the pipeline; each registered only once it works."""
    from openclaw_infra.commands import (
        backup,
        daily_sync,
        eval,
        feedback,
        health,
        index,
        lessons,
        pack,
        prune,
        recall,
        schedule,
        serve,
        summarize,
        transcribe,
        weekly_synthesis,
    )

    for module in (
        summarize,
        daily_sync,
        weekly_synthesis,
        lessons,
        index,
        eval,
        recall,
        pack,
        serve,
        transcribe,
        feedback,
        backup,
        prune,
        health,
        schedule,
    ):
        module.register(app)


_register()


def _fail(code: int, message: str) -> None:
    from openclaw_infra.core.logging import redact_text  # an error may quote what it was sent

    sys.stderr.write(f"infra: error: {redact_text(message)}\n")
    sys.stderr.flush()
    raise SystemExit(code)


def _sqlite_failure(exc: Exception) -> InfraError | None:
    """A corrupt store (65) or a full disk (73) that escaped a query, as its documented
    error; infra.sqlite is named only when it is the database that fails its check."""
    import sqlite3

    if not isinstance(exc, sqlite3.Error):
        return None
    from openclaw_infra.core import db
    from openclaw_infra.core.config import load_settings

    try:
        path: Path | None = load_settings().db_path
    except InfraError:
        path = None
    if path is not None and db.is_corrupt(exc) and db.probe(path, thorough=True) is None:
        path = None  # some other database (OpenClaw's) is the damaged one
    return db.sqlite_error(exc, path)


def main(argv: list[str] | None = None) -> Any:
    """Entry point: one outer handler turns every failure into one stderr line and its code.

    Typer's standalone mode handles usage errors (exit 2) and --help; our own errors
    propagate out of it and are mapped here.
    """
    try:
        return app(args=argv, prog_name="infra", standalone_mode=True)
    except InfraError as exc:
        _fail(exc.exit_code, str(exc))
    except KeyboardInterrupt:
        _fail(130, "interrupted")
    except BrokenPipeError:
        raise SystemExit(0) from None
    except Exception as exc:
        known = _sqlite_failure(exc)
        if known is not None:
            _fail(known.exit_code, str(known))
        import structlog

        from openclaw_infra.core.logging import configure_logging, is_configured

        if not is_configured():
            configure_logging(None)  # never let structlog's default print to stdout
        structlog.get_logger("infra").exception("internal_error")
        _fail(1, f"internal error: {type(exc).__name__}: {exc} (traceback in the log)")
    return None
