"""Output rules shared by the daily and weekly digests: never rewrite a file infra did not
create, and index what was written into the memory store."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from openclaw_infra.core.config import Settings
from openclaw_infra.core.db import transaction
from openclaw_infra.core.errors import CantCreateError
from openclaw_infra.pipeline import digest_records
from openclaw_infra.pipeline.render import GENERATOR


def refuse_foreign(path: Path, what: str) -> None:
    """CantCreateError (73) when `path` exists without infra's `generated_by` marker; a file
    infra wrote (a finished run's, or one a failed run left before its commit) is replaced."""
    if not path.exists():
        return
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:8192]
    except OSError as exc:
        raise CantCreateError(f"{path}: cannot read ({exc.strerror})") from exc
    if f"generated_by: {GENERATOR}" not in head:
        raise CantCreateError(
            f"{path} exists and was not written by infra; it is left untouched",
            hint=f"move it aside so infra can write its {what} there",
        )


def index_pending(settings: Settings, conn: sqlite3.Connection) -> int:
    """Index the digest files written since they were last indexed; returns how many."""
    pending = digest_records.files_to_index(conn)
    if not pending:
        return 0
    from openclaw_infra.memory.indexer import index_files  # loads the embedder: late

    index_files(settings, [settings.workspace / rel for rel, _ in pending])
    with transaction(conn):
        for rel, sha in pending:
            digest_records.mark_indexed(conn, rel, sha)
    return len(pending)
