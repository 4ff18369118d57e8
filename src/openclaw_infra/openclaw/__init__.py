"""OpenClaw integration: paths, transcript readers (JSONL and SQLite), noise filter, cursors.

Light to import: `zstandard` loads only when a compressed event is read.
"""

from openclaw_infra.openclaw.batch import Batch, ReadStats, Source
from openclaw_infra.openclaw.cursors import Cursor, CursorStore
from openclaw_infra.openclaw.entries import Entry
from openclaw_infra.openclaw.reader import discover_sources, read_all, read_new

__all__ = [
    "Batch",
    "Cursor",
    "CursorStore",
    "Entry",
    "ReadStats",
    "Source",
    "discover_sources",
    "read_all",
    "read_new",
]
