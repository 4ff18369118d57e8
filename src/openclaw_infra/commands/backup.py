"""`infra backup`: create, list, verify, restore and drill snapshots, local and off-site
(docs/backup.md)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    help="Verified, restorable snapshots of infra's state. Without a subcommand: create one, "
    "verify it, prune old ones per retention, then copy it off-site when a restic repository "
    "is configured.",
    invoke_without_command=True,
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode=None,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
OffsiteOpt = Annotated[
    bool,
    typer.Option(
        "--offsite", help="The off-site restic repository (OPENCLAW_INFRA_RESTIC_REPOSITORY)."
    ),
]


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="backup")


def _settings(ctx: typer.Context) -> Any:
    """The Settings the root callback built (imported late: cli imports this module)."""
    from openclaw_infra.commands.context import settings_of

    return settings_of(ctx)


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, sort_keys=True))


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB"


@app.callback(invoke_without_command=True)
def create(
    ctx: typer.Context,
    as_json: JsonOpt = False,
    no_offsite: Annotated[
        bool,
        typer.Option("--no-offsite", help="Only the local snapshot, even with a repository set."),
    ] = False,
) -> None:
    """Create a snapshot: check free space (exit 73 when short), archive, verify, prune; then
    copy it off-site when OPENCLAW_INFRA_RESTIC_REPOSITORY is set (that failing exits 69 or
    78, the local snapshot kept)."""
    if ctx.invoked_subcommand is not None:
        return
    from openclaw_infra.ops.backup.create import run_backup

    result = run_backup(_settings(ctx), offsite_copy=not no_offsite)
    if as_json:
        _echo_json(result.as_json())
        return
    typer.echo(
        f"snapshot {result.snapshot.id}: {len(result.manifest['files'])} files, "
        f"{_mib(result.snapshot.size)} (from {_mib(result.source_bytes)}), verified, "
        f"{result.took_s:.1f}s -> {result.snapshot.path}"
    )
    if result.pruned:
        typer.echo(f"pruned {len(result.pruned)}: {' '.join(result.pruned)}")
    copy = result.offsite
    if copy is not None:
        made = ", repository initialised" if copy.initialised else ""
        typer.echo(
            f"off-site {copy.restic_id} in {copy.repository}: {_mib(copy.bytes_added)} added, "
            f"{copy.took_s:.1f}s{made}"
        )
        if copy.forgotten:
            typer.echo(f"off-site pruned {len(copy.forgotten)}: {' '.join(copy.forgotten)}")


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonOpt = False, remote: OffsiteOpt = False) -> None:
    """List snapshots, oldest first, with their ids (reads each manifest, not the archive);
    with --offsite, the copies in the restic repository."""
    from openclaw_infra.ops.backup.listing import describe_all

    settings = _settings(ctx)
    if remote:
        _list_offsite(settings, as_json)
        return
    rows = describe_all(settings.backups)
    if as_json:
        _echo_json({"backup_dir": str(settings.backups), "snapshots": rows})
        return
    if not rows:
        typer.echo(f"no snapshot in {settings.backups}")
    for row in rows:
        extra = row.get("error") or f"{row['files']} files  {row['reason']}"
        typer.echo(f"{row['id']}  {row['created_at']}  {_mib(row['bytes']):>10}  {extra}")


def _list_offsite(settings: Any, as_json: bool) -> None:
    from openclaw_infra.ops.backup import offsite

    offsite.require(settings)
    rows = offsite.list_offsite(settings)
    if as_json:
        where = offsite.Restic.from_settings(settings).where
        _echo_json({"repository": where, "snapshots": rows})
        return
    if not rows:
        typer.echo("no snapshot in the off-site repository")
    for row in rows:
        typer.echo(f"{row['id']}  {row['created_at'][:19]}  {row['host']}  {row['snapshot']}")


@app.command("verify")
def verify(
    ctx: typer.Context,
    snapshot_id: Annotated[
        str | None,
        typer.Argument(metavar="[ID]", help="Snapshot id or `latest`; default: every snapshot."),
    ] = None,
    as_json: JsonOpt = False,
    remote: OffsiteOpt = False,
    read_data: Annotated[
        bool, typer.Option("--read-data", help="With --offsite: read all the data now.")
    ] = False,
) -> None:
    """Read snapshots back in full: checksums, manifest, `PRAGMA integrity_check` on each
    restored database. With --offsite: `restic check`, reading 1/N of the data when due.
    Exit 65 when one fails."""
    from openclaw_infra.core.errors import DataError, UsageError
    from openclaw_infra.ops.backup import catalog
    from openclaw_infra.ops.backup.verify import scratch_dir, verify_snapshot

    settings = _settings(ctx)
    if remote or read_data:
        if snapshot_id is not None or not remote:
            raise UsageError("--offsite checks the whole repository: no ID; --read-data needs it")
        _verify_offsite(settings, as_json, read_all=read_data)
        return
    if snapshot_id is None:
        snapshots = catalog.list_snapshots(settings.backups)
    else:
        snapshots = [catalog.find_snapshot(settings.backups, snapshot_id)]
    results = [verify_snapshot(s, scratch_dir(settings.backups)) for s in snapshots]
    if as_json:
        _echo_json([r.as_json() for r in results])
    else:
        for r in results:
            verdict = "ok" if r.ok else "FAILED: " + "; ".join(r.problems[:3])
            typer.echo(f"{r.snapshot.id}  {r.files} files  {verdict}")
        if not results:
            typer.echo(f"no snapshot in {settings.backups}")
    bad = [r.snapshot.id for r in results if not r.ok]
    if bad:
        raise DataError(f"{len(bad)} snapshot(s) failed verification: {' '.join(bad)}")


def _verify_offsite(settings: Any, as_json: bool, *, read_all: bool) -> None:
    from openclaw_infra.core.errors import DataError
    from openclaw_infra.ops.backup import offsite

    offsite.require(settings)
    result = offsite.check(settings, read_all=read_all)
    if as_json:
        _echo_json(result.as_json())
    else:
        verdict = "ok" if result.ok else "FAILED: " + "; ".join(result.problems[:3])
        typer.echo(f"{result.repository}  data read: {result.read_data}  {verdict}")
    if not result.ok:
        raise DataError(f"restic check found damage in {result.repository}: {result.problems[0]}")


@app.command("restore")
def restore(
    ctx: typer.Context,
    *,
    snapshot_id: Annotated[str, typer.Argument(metavar="ID", help="Snapshot id or `latest`.")],
    target: Annotated[
        Path | None,
        typer.Option(
            "--target", help="A new or empty directory; gets data/, workspace/ and state/."
        ),
    ] = None,
    in_place: Annotated[
        bool,
        typer.Option(
            "--in-place",
            help="Restore over the live data (needs --yes); a snapshot of the "
            "current state is taken first.",
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm --in-place.")] = False,
    identity: Annotated[
        Path | None,
        typer.Option(
            "--identity",
            help="age identity file that opens the snapshot's secrets "
            "(default OPENCLAW_INFRA_BACKUP_AGE_IDENTITY_FILE).",
        ),
    ] = None,
    remote: Annotated[
        bool,
        typer.Option(
            "--offsite",
            help="ID is an off-site snapshot (its id, its local snapshot id, or `latest`).",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Restore a snapshot into a fresh directory, or over the live data with --in-place --yes.
    Stop OpenClaw's gateway and infra's cron before an in-place restore. A corrupt
    infra.sqlite is moved aside (kept) and replaced by the snapshot's. With --offsite the
    copy is fetched from the restic repository, checked, then restored the same way."""
    import contextlib

    from openclaw_infra.core.errors import UsageError
    from openclaw_infra.ops.backup import catalog, offsite
    from openclaw_infra.ops.backup.restore import restore_in_place, restore_to_target

    if (target is None) == (not in_place):
        raise UsageError("give exactly one of --target DIR and --in-place")
    if in_place and not yes:
        raise UsageError("--in-place overwrites live data: add --yes to confirm")
    settings = _settings(ctx)
    identity = identity or settings.backup_age_identity_file
    with contextlib.ExitStack() as stack:
        if remote:
            offsite.require(settings)
            snapshot, _ = stack.enter_context(offsite.fetched(settings, snapshot_id))
        else:
            snapshot = catalog.find_snapshot(settings.backups, snapshot_id)
        if target is not None:
            result = restore_to_target(snapshot, target, identity=identity)
        else:
            result = restore_in_place(settings, snapshot, identity=identity)
    if as_json:
        _echo_json(result.as_json())
        return
    if result.set_aside:
        typer.echo(f"moved the corrupt store aside, kept: {result.set_aside}")
    where = str(result.target) if result.target else "the live data"
    source = " (off-site)" if remote else ""
    typer.echo(
        f"restored {snapshot.id}{source}: {result.files} files, {_mib(result.bytes)} into {where}"
    )
    for line in result.secrets.lines():
        typer.echo(line)
    if result.pre_restore:
        typer.echo(f"the state before the restore is snapshot {result.pre_restore}")
    if result.target:
        typer.echo(
            f"use it with OPENCLAW_STATE_DIR={result.target / 'state'} "
            f"OPENCLAW_WORKSPACE_DIR={result.target / 'workspace'} "
            f"OPENCLAW_INFRA_DATA_DIR={result.target / 'data'}"
        )


class DrillSource(StrEnum):
    local = "local"
    offsite = "offsite"


@app.command("drill")
def drill(
    ctx: typer.Context,
    as_json: JsonOpt = False,
    source: Annotated[
        DrillSource | None,
        typer.Option(
            "--source",
            help="Drill this source; default: alternate local and off-site when a "
            "repository is configured.",
        ),
    ] = None,
) -> None:
    """Restore the newest snapshot into a temp dir, check every database, rebuild the memory
    index from it (`infra index --rebuild`) and compare counts; recorded in the ledger.
    Off-site drills run `restic check` first."""
    from openclaw_infra.ops.backup.drill import run_drill

    result = run_drill(_settings(ctx), source=source.value if source is not None else None)
    if as_json:
        _echo_json(result.as_json())
        return
    dbs = ", ".join(f"{k}: {v}" for k, v in result.databases.items()) or "no database"
    where = f" (off-site {result.offsite_id})" if result.offsite_id else ""
    typer.echo(
        f"drill of {result.snapshot}{where}: {result.files} files restored in "
        f"{result.restore_s:.1f}s; integrity {dbs}"
    )
    typer.echo(
        f"index rebuilt in {result.rebuild_s:.1f}s: {result.chunks_rebuilt} chunks "
        f"(snapshot's store: {result.chunks_in_snapshot})"
    )
