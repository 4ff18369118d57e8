"""`infra backup list`: each snapshot with what its manifest says (first few KB only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openclaw_infra.core.errors import DataError
from openclaw_infra.ops.backup import catalog
from openclaw_infra.ops.backup.archive import read_manifest


def describe(snapshot: catalog.Snapshot) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": snapshot.id,
        "path": str(snapshot.path),
        "created_at": snapshot.created.isoformat().replace("+00:00", "Z"),
        "bytes": snapshot.size,
    }
    try:
        manifest = read_manifest(snapshot.path)
    except DataError as exc:
        row["error"] = exc.message  # listed anyway: `verify` says more, `restore` refuses it
        return row
    files = manifest.get("files") or []
    row.update(
        {
            "files": len(files),
            "source_bytes": sum(int(f.get("size", 0)) for f in files if isinstance(f, dict)),
            "reason": manifest.get("reason"),
            "host": manifest.get("host"),
            "infra_version": manifest.get("infra_version"),
        }
    )
    return row


def describe_all(directory: Path) -> list[dict[str, Any]]:
    return [describe(s) for s in catalog.list_snapshots(directory)]
