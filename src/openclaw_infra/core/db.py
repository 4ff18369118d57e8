"""SQLite connections to `<data>/infra.sqlite`, with the schema applied on connect.

Every table is a named migration in the one registry, `core.schema.MIGRATIONS`; `connect()`
applies the ones a database has not recorded yet, so callers just connect. A migration and its
record in `schema_migrations` commit in one transaction: a crash never leaves half a schema.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from openclaw_infra.core.errors import CantCreateError, DataError
from openclaw_infra.core.fsio import ensure_private_dir, private_umask
from openclaw_infra.core.schema import MIGRATIONS, Migration


def readonly_uri(path: Path, *, immutable: bool = False) -> str:
    """A `file:` URI that opens `path` read-only; the path is percent-encoded so names with
    `?`, `#` or `%` work."""
    return path.resolve().as_uri() + "?mode=ro" + ("&immutable=1" if immutable else "")


def connect(
    path: Path, *, readonly: bool = False, busy_timeout_ms: int = 15_000
) -> sqlite3.Connection:
    """Open infra's database: WAL, synchronous=NORMAL, busy timeout, autocommit mode, and
    (unless read-only) every registered migration applied.

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
    if not readonly:
        migrate(conn)
    return conn


def open_reader(path: Path) -> sqlite3.Connection | None:
    """A connection for queries, or None when the database does not exist.

    Read-only when the schema is current, so a query never takes a write lock; a database that
    still owes migrations gets a read-write connection that applied them.
    """
    if not path.exists():
        return None
    conn = connect(path, readonly=True)
    try:
        owed = bool(pending(conn))
    except sqlite3.OperationalError:
        owed = True  # no schema_migrations table yet
    if not owed:
        return conn
    conn.close()
    return connect(path)


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


def pending(conn: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> list[str]:
    """Names of the migrations this database has not recorded yet."""
    done = {r[0] for r in conn.execute("SELECT name FROM schema_migrations")}
    return [m.name for m in migrations if m.name not in done]


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Apply the not-yet-applied migrations in order; returns how many ran."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations"
        " (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
    )
    owed = set(pending(conn, migrations))
    ran = 0
    for mig in migrations:
        if mig.name not in owed:
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
