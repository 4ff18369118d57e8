"""`infra backup drill`: prove the newest snapshot restores, weekly, and record the proof.

A backup that was never restored is a hope. The drill restores the newest snapshot into a
private temporary directory (checksums on every file), runs `PRAGMA integrity_check` on every
restored database, then rebuilds the memory index from the restored tree alone by running
`infra index --rebuild --json` as a separate process whose state, workspace and data
directories all point into that tree, and compares the rebuilt chunk count with the count
the snapshot's store held. The FAISS file is not in snapshots; this is what shows it need
not be. The result goes into the ledger as a run of the `backup-drill` job.

With an off-site repository configured, drills alternate between the newest local snapshot
and the newest off-site one (the source of the previous finished drill decides); an
off-site drill first runs `restic check` (with its scheduled data read), then restores the
copy through `offsite.fetched`, so the very same restore, checks and rebuild run on it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from openclaw_infra.core import ledger
from openclaw_infra.core.config import Settings
from openclaw_infra.core.db import connect
from openclaw_infra.core.errors import (
    DataError,
    TempFailError,
    UnavailableError,
    os_error_to_infra,
)
from openclaw_infra.core.jobs import run_job
from openclaw_infra.core.layout import DataPaths
from openclaw_infra.ops.backup import catalog, offsite
from openclaw_infra.ops.backup.archive import read_manifest
from openclaw_infra.ops.backup.restore import restore_to_target
from openclaw_infra.ops.backup.sources import integrity_check

Source = Literal["local", "offsite"]
REBUILD_TIMEOUT_S = 3600
# what the rebuild must not inherit: any path that leads back to the live installation
_PATH_VARS = (
    "OPENCLAW_STATE_DIR",
    "OPENCLAW_WORKSPACE_DIR",
    "OPENCLAW_PROFILE",
    "OPENCLAW_CONFIG_PATH",
    "OPENCLAW_INFRA_DATA_DIR",
    "OPENCLAW_INFRA_BACKUP_DIR",
    "OPENCLAW_INFRA_VOICE_DROP_DIR",
    "OPENCLAW_INFRA_VOICE_INBOX_DIRS",
)


@dataclass
class DrillResult:
    snapshot: str
    files: int = 0
    bytes: int = 0
    databases: dict[str, str] = field(default_factory=dict)
    chunks_in_snapshot: int | None = None
    chunks_rebuilt: int | None = None
    counts_compared: bool = False
    index: dict[str, Any] | None = None
    restore_s: float = 0.0
    rebuild_s: float = 0.0
    source: Source = "local"
    offsite_id: str | None = None  # the restic snapshot, for an off-site drill
    offsite_check: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "offsite_id": self.offsite_id,
            "offsite_check": self.offsite_check,
            "snapshot": self.snapshot,
            "files": self.files,
            "bytes": self.bytes,
            "databases": self.databases,
            "chunks_in_snapshot": self.chunks_in_snapshot,
            "chunks_rebuilt": self.chunks_rebuilt,
            "counts_compared": self.counts_compared,
            "restore_s": self.restore_s,
            "rebuild_s": self.rebuild_s,
            "index": self.index,
        }


def active_chunks(db: Path) -> int | None:
    """Chunks of the active index generation in a restored store; None when never indexed."""
    from openclaw_infra.memory import store

    if not db.is_file():
        return None
    conn = connect(db, readonly=True)
    try:
        gen = store.active_generation(conn)
        return None if gen is None else store.chunk_count(conn, gen.gen)
    except sqlite3.OperationalError:
        return None  # the store's tables do not exist: infra never indexed anything
    finally:
        conn.close()


def rebuild_env(settings: Settings, tree: Path) -> dict[str, str]:
    """The environment of the rebuild: the live one minus every path, plus the restored
    tree's (its own `config.env` is read from there, as on the live machine)."""
    env = {k: v for k, v in os.environ.items() if k not in _PATH_VARS}
    env.update(
        {
            "OPENCLAW_STATE_DIR": str(tree / "state"),
            "OPENCLAW_WORKSPACE_DIR": str(tree / "workspace"),
            "OPENCLAW_INFRA_DATA_DIR": str(tree / "data"),
            "OPENCLAW_INFRA_TIMEZONE": settings.tz.key,
        }
    )
    return env


def rebuild_index(settings: Settings, tree: Path) -> dict[str, Any]:
    """Run `infra index --rebuild --json` against the restored tree; its JSON answer."""
    argv = [sys.executable, "-m", "openclaw_infra", "index", "--rebuild", "--json"]
    try:
        proc = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            env=rebuild_env(settings, tree),
            cwd=tree,
            timeout=REBUILD_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise TempFailError(f"the drill's index rebuild ran over {REBUILD_TIMEOUT_S}s") from exc
    last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
    if proc.returncode == 2 and "index" in proc.stderr and "No such command" in proc.stderr:
        raise UnavailableError(
            "this install has no `infra index`: the drill cannot rebuild the memory index"
        )
    if proc.returncode != 0:
        raise DataError(
            f"`infra index --rebuild` on the restored snapshot failed "
            f"(exit {proc.returncode}): {last}"
        )
    try:
        answer = json.loads(proc.stdout)
    except ValueError as exc:
        raise DataError(f"`infra index --rebuild --json` printed no JSON: {exc}") from exc
    return answer if isinstance(answer, dict) else {"answer": answer}


def drill_snapshot(
    settings: Settings, snapshot: catalog.Snapshot, *, rebuild: bool = True
) -> DrillResult:
    """Restore, check and rebuild one snapshot in a temporary directory (removed after)."""
    result = DrillResult(snapshot.id)
    try:
        scratch = tempfile.TemporaryDirectory(prefix="infra-drill-")
    except OSError as exc:
        raise os_error_to_infra(exc, tempfile.gettempdir()) from exc
    with scratch as tmp:
        tree = Path(tmp) / "restore"
        start = time.monotonic()
        restored = restore_to_target(snapshot, tree)
        result.files, result.bytes = restored.files, restored.bytes
        for name in restored.databases:
            result.databases[name] = integrity_check(tree / name)
        result.restore_s = round(time.monotonic() - start, 3)
        bad = {k: v for k, v in result.databases.items() if v != "ok"}
        if bad:
            name, why = next(iter(bad.items()))
            raise DataError(f"drill of {snapshot.id}: {name} failed integrity_check: {why}")
        if not rebuild:
            return result
        result.chunks_in_snapshot = active_chunks(DataPaths(tree / "data").db)
        start = time.monotonic()
        result.index = rebuild_index(settings, tree)
        result.rebuild_s = round(time.monotonic() - start, 3)
        result.chunks_rebuilt = active_chunks(DataPaths(tree / "data").db)
    _compare(read_manifest(snapshot.path), result)
    return result


def _compare(manifest: dict[str, Any], result: DrillResult) -> None:
    """The rebuilt index must hold at least what the snapshot's store held. More is fine
    (sources written after the last index run); fewer means the snapshot cannot reproduce
    its own index. A snapshot taken without OpenClaw's transcripts cannot rebuild their
    chunks, so there the counts are recorded but not compared."""
    before, after = result.chunks_in_snapshot, result.chunks_rebuilt
    included = manifest.get("include", {}).get("openclaw", True)
    if not included or before is None:
        return
    result.counts_compared = True
    if after is None or after < before:
        raise DataError(
            f"drill of {result.snapshot}: the rebuilt index has {after} chunks, "
            f"the snapshot's store had {before}"
        )


def next_source(settings: Settings, conn: sqlite3.Connection) -> Source:
    """Local when no repository is configured; otherwise the other source than the last
    finished drill's (ok or failed, so each source comes round every other drill)."""
    if not offsite.configured(settings):
        return "local"
    for row in ledger.last_runs(conn, "backup-drill", 20):
        if row["status"] == "running":
            continue
        try:
            details = json.loads(row["details"] or "{}")
        except ValueError:
            details = {}
        last = details.get("source", "local") if isinstance(details, dict) else "local"
        return "local" if last == "offsite" else "offsite"
    return "local"


def _drill_offsite(settings: Settings, result_of: dict[str, Any], *, rebuild: bool) -> DrillResult:
    checked = offsite.check(settings)
    if not checked.ok:
        raise DataError(
            f"off-site drill: restic check found damage in {checked.repository}: "
            f"{checked.problems[0]}"
        )
    with offsite.fetched(settings, catalog.LATEST) as (snapshot, row):
        result_of["snapshot"] = f"{snapshot.id} (off-site {row['id']})"
        result = drill_snapshot(settings, snapshot, rebuild=rebuild)
    result.source, result.offsite_id = "offsite", row["id"]
    result.offsite_check = checked.as_json()
    return result


def run_drill(
    settings: Settings, *, rebuild: bool = True, source: Source | None = None
) -> DrillResult:
    """`infra backup drill` as the `backup-drill` job, recorded: the newest snapshot of
    `source`, by default alternating local and off-site (`next_source`)."""
    with run_job(settings, "backup-drill") as job:
        chosen = source or next_source(settings, job.conn)
        if chosen == "offsite":
            offsite.require(settings)
            job.run.details = {"source": "offsite"}
            result = _drill_offsite(settings, job.run.details, rebuild=rebuild)
        else:
            snapshot = catalog.find_snapshot(settings.backups, catalog.LATEST)
            job.run.details = {"source": "local", "snapshot": snapshot.id}
            result = drill_snapshot(settings, snapshot, rebuild=rebuild)
        job.run.items = result.files
        job.run.details = result.as_json()
    return result
