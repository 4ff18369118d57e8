"""Every file infra writes into the workspace, in one table (`owned_files`, core/schema.py).

A row per path (relative to the workspace): its kind, the SHA-256 of what infra last wrote,
the one it is about to write (claimed before the write, so a crash in between leaves a file
infra still knows), and the one the memory index was last given.

- Ownership: infra never overwrites a file it did not create. A file is infra's when the
  table has its path, or, when the table lost it (infra.sqlite restored from an older backup,
  a crash before the first record), when its frontmatter names infra as `generated_by`. The
  whole frontmatter block is read, so a long one (a day of many hourly sections) still counts.
- Indexing: a write is pending until the memory index holds it; every writer indexes what is
  pending at the end of its run (pipeline/outputs.py), and `infra index` takes what is left.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from openclaw_infra.core.errors import CantCreateError

GENERATOR = "openclaw-infra"
HOURLY, DAILY, WEEKLY, PRIORITIES, VOICE = "hourly", "daily", "weekly", "priorities", "voice"

_MARKER = f"generated_by: {GENERATOR}".encode()
# far above any frontmatter infra writes (a day of hourly sections is tens of kilobytes),
# and a bound on what a file that opens `---` and never closes it costs to read
FRONTMATTER_LIMIT = 4 << 20


@dataclass(frozen=True)
class FileState:
    sha256: str | None  # what infra last wrote (committed)
    pending_sha256: str | None  # claimed before a write, or offered beside the file
    indexed_sha256: str | None

    def holds(self, sha: str) -> bool:
        """Whether bytes hashing to `sha` are infra's own (committed or about to be)."""
        return sha in (self.sha256, self.pending_sha256)


def file_state(conn: sqlite3.Connection, rel: str) -> FileState | None:
    row = conn.execute(
        "SELECT sha256, pending_sha256, indexed_sha256 FROM owned_files WHERE path=?", (rel,)
    ).fetchone()
    return None if row is None else FileState(row[0], row[1], row[2])


def claim(conn: sqlite3.Connection, rel: str, kind: str, sha: str) -> None:
    """Before the write, committed on its own: the path is infra's even if the run dies
    before `record_write`. For files without infra's frontmatter marker."""
    conn.execute(
        "INSERT INTO owned_files(path, kind, pending_sha256, updated_at) VALUES (?,?,?,?) "
        "ON CONFLICT(path) DO UPDATE SET pending_sha256=excluded.pending_sha256, "
        "updated_at=excluded.updated_at",
        (rel, kind, sha, time.time()),
    )


def record_write(conn: sqlite3.Connection, rel: str, kind: str, sha: str) -> None:
    """What infra wrote, in the transaction that commits the run's work; pending until
    indexed."""
    conn.execute(
        "INSERT INTO owned_files(path, kind, sha256, updated_at) VALUES (?,?,?,?) "
        "ON CONFLICT(path) DO UPDATE SET kind=excluded.kind, sha256=excluded.sha256, "
        "pending_sha256=NULL, updated_at=excluded.updated_at",
        (rel, kind, sha, time.time()),
    )


def files_to_index(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """(path, sha256) of the files written since the index was last given them."""
    rows = conn.execute(
        "SELECT path, sha256 FROM owned_files WHERE sha256 IS NOT NULL AND "
        "(indexed_sha256 IS NULL OR indexed_sha256 != sha256) ORDER BY path"
    )
    return [(str(r[0]), str(r[1])) for r in rows]


def mark_indexed(conn: sqlite3.Connection, rel: str, sha: str) -> None:
    conn.execute("UPDATE owned_files SET indexed_sha256=? WHERE path=?", (sha, rel))


def marked(path: Path) -> bool:
    """Whether the file opens with a YAML frontmatter block that has infra's `generated_by`
    key, read up to its closing `---` (at most FRONTMATTER_LIMIT bytes)."""
    with path.open("rb") as handle:
        if handle.readline(8).rstrip(b"\r\n") != b"---":
            return False
        budget = FRONTMATTER_LIMIT
        while budget > 0:
            line = handle.readline(budget)
            if not line:
                return False
            budget -= len(line)
            line = line.rstrip(b"\r\n")
            if line == b"---":
                return False
            if line == _MARKER or line.startswith(_MARKER + b" "):
                return True
    return False


def owned(conn: sqlite3.Connection, workspace: Path, rel: str) -> bool:
    """Whether infra may write `rel`: absent, recorded as infra's, or marked as infra's."""
    path = workspace / rel
    if not path.exists() or file_state(conn, rel) is not None:
        return True
    try:
        return marked(path)
    except OSError as exc:
        raise CantCreateError(f"{path}: cannot read ({exc.strerror})") from exc


def refuse_foreign(conn: sqlite3.Connection, workspace: Path, rel: str, what: str) -> None:
    """CantCreateError (73) when `rel` exists and infra did not create it."""
    if not owned(conn, workspace, rel):
        raise CantCreateError(
            f"{workspace / rel} exists and was not written by infra; it is left untouched",
            hint=f"move it aside so infra can write its {what} there",
        )
