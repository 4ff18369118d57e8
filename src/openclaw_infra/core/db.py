"""SQLite connections and named migrations for `<data>/infra.sqlite`.

Each component (ledger, store, summaries, voice, backup) owns a tuple of named migrations and
applies them on open; a migration and its record in `schema_migrations` commit in one
transaction, so a crash never leaves a half-applied schema.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from openclaw_infra.core.errors import CantCreateError, DataError
from openclaw_infra.core.fsio import ensure_private_dir, private_umask


@dataclass(frozen=True)
class Migration:
    name: str  # globally unique, e.g. "ledger-001-runs"
    statements: tuple[str, ...]


def readonly_uri(path: Path, *, immutable: bool = False) -> str:
    """A `file:` URI that opens `path` read-only; the path is percent-encoded so names with
    `?`, `#` or `%` work."""
    return path.resolve().as_uri() + "?mode=ro" + ("&immutable=1" if immutable else "")


def connect(
    path: Path, *, readonly: bool = False, busy_timeout_ms: int = 15_000
) -> sqlite3.Connection:
    """Open infra's database: WAL, synchronous=NORMAL, busy timeout, autocommit mode.

    Autocommit (isolation_level=None) so transactions are explicit (`transaction()`).
    """
    try:
        if readonly:
            conn = sqlite3.connect(
                readonly_uri(path), uri=True, isolation_level=None, check_same_thread=False
            )
        else:
            ensure_private_dir(path.parent)
            with private_umask():
                conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
                path.chmod(0o600)
        conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        if not readonly:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc) or "malformed" in str(exc):
            raise DataError(f"{path}: not a valid SQLite database ({exc})") from exc
        raise CantCreateError(f"cannot open {path}: {exc}") from exc
    conn.row_factory = sqlite3.Row
    return conn


@contextmanager
def transaction(
    conn: sqlite3.Connection, *, immediate: bool = True
) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any exception."""
    conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration]) -> int:
    """Apply the not-yet-applied migrations in order; returns how many ran."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations"
        " (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
    )
    done = {r[0] for r in conn.execute("SELECT name FROM schema_migrations")}
    ran = 0
    for mig in migrations:
        if mig.name in done:
            continue
        with transaction(conn):
            # re-check inside the write lock: another process may have just applied it
            if conn.execute("SELECT 1 FROM schema_migrations WHERE name=?", (mig.name,)).fetchone():
                continue
            for stmt in mig.statements:
                conn.execute(stmt)
            conn.execute(
                "INSERT INTO schema_migrations(name, applied_at) VALUES (?, ?)",
                (mig.name, time.time()),
            )
            count = conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0]
            conn.execute(f"PRAGMA user_version={int(count)}")
        ran += 1
    return ran


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])
