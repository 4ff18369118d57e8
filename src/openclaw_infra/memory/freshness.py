"""Which files feed the index, and whether any changed since the indexer last read them.

Kept to the standard library: `infra recall` reports `stale`/`lag_s` with every answer and
`infra health` reports the index lag, and neither may pay for more than a directory walk and
some `stat` calls. The indexer records the same fingerprints (mtime, size) it read, so the
two sides agree by construction.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from openclaw_infra.openclaw import paths

if TYPE_CHECKING:
    from openclaw_infra.core.config import Settings


def transcript_files(settings: Settings) -> Iterator[Path]:
    """JSONL session files and agent databases (with their WAL) that may hold transcripts,
    chosen by the reader's own rules (`openclaw.paths`) so both sides see the same files."""
    for agent in paths.discover_agents(settings):
        yield from paths.jsonl_files(settings, agent)
        db = paths.sqlite_path(settings, agent)
        for path in (db, db.with_name(db.name + "-wal")):
            if path.is_file():
                yield path


def memory_files(settings: Settings) -> Iterator[Path]:
    """`MEMORY.md` and `memory/**/*.md` of the workspace, without `memory/.dreams/`."""
    top = settings.workspace / "MEMORY.md"
    if top.is_file():
        yield top
    root = settings.memory_dir
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        # hidden folders (.dreams is OpenClaw's machine state) are not content
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(".md") and not name.startswith("."):
                yield Path(dirpath) / name


def fingerprint(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def scan(settings: Settings) -> dict[str, tuple[int, int]]:
    """(mtime_ns, size) of every source file, keyed by absolute path."""
    out: dict[str, tuple[int, int]] = {}
    for path in (*transcript_files(settings), *memory_files(settings)):
        fp = fingerprint(path)
        if fp is not None:
            out[str(path)] = fp
    return out


@dataclass(frozen=True)
class Freshness:
    stale: bool
    lag_s: float  # how long the oldest unindexed change has waited (by file mtime)
    changed: int  # files new, changed or gone since they were indexed


def freshness(
    conn: sqlite3.Connection | None, settings: Settings, now: float | None = None
) -> Freshness:
    """Compare the files now with what the indexer last read (`memory_seen`)."""
    now = time.time() if now is None else now
    current = scan(settings)
    seen: dict[str, tuple[int, int, float]] = {}
    if conn is not None:
        try:
            seen = {
                r[0]: (int(r[1]), int(r[2]), float(r[3]))
                for r in conn.execute("SELECT path, mtime_ns, size, seen_at FROM memory_seen")
            }
        except sqlite3.OperationalError:
            seen = {}
    oldest: float | None = None
    changed = 0
    for path, (mtime_ns, size) in current.items():
        before = seen.get(path)
        if before is not None and before[:2] == (mtime_ns, size):
            continue
        changed += 1
        when = mtime_ns / 1e9
        oldest = when if oldest is None else min(oldest, when)
    for path, (_, _, seen_at) in seen.items():
        if path not in current:
            changed += 1
            oldest = seen_at if oldest is None else min(oldest, seen_at)
    if not changed:
        return Freshness(False, 0.0, 0)
    return Freshness(
        True, round(max(0.0, now - (oldest if oldest is not None else now)), 1), changed
    )
