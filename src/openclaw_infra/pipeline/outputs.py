"""The one indexing step for every file infra writes (summaries, digests, priorities, voice
notes): each writer records its file as pending in `owned_files` (core/outputs.py) and calls
this at the end of its run, so what it wrote is recallable as soon as it exits; `infra index`
calls it too, for whatever a failed run left pending."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from openclaw_infra.core import outputs
from openclaw_infra.core.config import Settings
from openclaw_infra.core.db import transaction
from openclaw_infra.memory.embedder import Embedder


def index_pending(
    settings: Settings, conn: sqlite3.Connection, embedder: Callable[[], Embedder]
) -> int:
    """Index the files written since they were last indexed; returns how many.
    `embedder` is called only when there are some."""
    pending = outputs.files_to_index(conn)
    if not pending:
        return 0
    from openclaw_infra.memory.indexer import index_files

    index_files(settings, [settings.workspace / rel for rel, _ in pending], embedder=embedder())
    with transaction(conn):
        for rel, sha in pending:
            outputs.mark_indexed(conn, rel, sha)
    return len(pending)
