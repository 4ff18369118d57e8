"""SQLite connections to `<data>/infra.sqlite`, with the schema applied on connect.

Every table is a named migration in the one registry, `core.schema.MIGRATIONS`; `connect()`
applies the ones a database has not recorded yet, so callers just connect. A migration and its
record in `schema_migrations` commit in one transaction: a crash never leaves half a schema.

`sqlite_error` is the one mapping of SQLite's corruption and disk-full errors to exit codes
(65 and 73), used by `connect()` and by the CLI's outer handler for whatever escapes a query;
`probe` and `set_aside` are what health, `backup restore --in-place` and `index --rebuild`
share to find a corrupt store and move it out of the way (kept, never deleted).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from openclaw_infra.core.errors import CantCreateError, DataError, InfraError, TempFailError
from openclaw_infra.core.fsio import FILE_MODE, ensure_private_dir, fsync_dir, private_umask
from openclaw_infra.core.locking import store_write_lock
from openclaw_infra.core.schema import MIGRATIONS, Migration

# SQLite's primary result codes (the low byte of Python 3.11's `sqlite_errorcode`)
SQLITE_BUSY, SQLITE_LOCKED = 5, 6
SQLITE_IOERR, SQLITE_CORRUPT, SQLITE_FULL, SQLITE_NOTADB = 10, 11, 13, 26
# what the same errors say, for exceptions that carry no code
CORRUPT_TEXTS = ("database disk image is malformed", "file is not a database")
FULL_TEXT, IOERR_TEXT = "database or disk is full", "disk I/O error"
# an I/O error with less than this free beside the database is taken for ENOSPC, which
# SQLite reports as SQLITE_IOERR on some write paths (fsync, WAL index) instead of SQLITE_FULL
FULL_MARGIN_BYTES = 8 << 20
RECOVER_HINT = (
    "run `infra backup restore latest --in-place --yes`, or `infra index --rebuild` when "
    "there is no snapshot; either moves the damaged file aside and keeps it"
)
SIDE_FILES = ("-wal", "-shm", "-journal")


def _primary_code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def is_corrupt(exc: sqlite3.Error) -> bool:
    """SQLITE_CORRUPT or SQLITE_NOTADB: the file's content is damaged or not a database."""
    code = _primary_code(exc)
    if code is not None:
        return code in (SQLITE_CORRUPT, SQLITE_NOTADB)
    return any(text in str(exc) for text in CORRUPT_TEXTS)


def _low_on_space(path: Path | None) -> bool:
    folder = path.parent if path is not None else None
    while folder is not None and not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return folder is not None and shutil.disk_usage(folder).free < FULL_MARGIN_BYTES
    except OSError:
        return False


def is_full(exc: sqlite3.Error, path: Path | None) -> bool:
    """SQLITE_FULL, or an I/O error while the disk holding `path` is (nearly) full."""
    code = _primary_code(exc)
    if code == SQLITE_FULL or (code is None and FULL_TEXT in str(exc)):
        return True
    io_error = code == SQLITE_IOERR or (code is None and IOERR_TEXT in str(exc))
    return io_error and _low_on_space(path)


def sqlite_error(exc: sqlite3.Error, path: Path | None) -> InfraError | None:
    """The infra error for a corrupt database (65, with the command that recovers) or a
    full disk (73, the work stays owed); None for any other SQLite error."""
    where = str(path) if path is not None else "a database"
    if is_corrupt(exc):
        return DataError(f"{where} is corrupt ({exc})", hint=RECOVER_HINT if path else None)
    if is_full(exc, path):
        return CantCreateError(
            f"cannot write {where}: the disk is full ({exc}); nothing was lost and the work "
            "stays owed for the next run",
            hint="free some space",
        )
    return None


def readonly_uri(path: Path, *, immutable: bool = False) -> str:
    """A `file:` URI that opens `path` read-only; the path is percent-encoded so names with
    `?`, `#` or `%` work."""
    return path.resolve().as_uri() + "?mode=ro" + ("&immutable=1" if immutable else "")


def is_busy(exc: sqlite3.Error) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED: another connection holds a lock we need."""
    code = _primary_code(exc)
    if code is not None:
        return code in (SQLITE_BUSY, SQLITE_LOCKED)
    return "database is locked" in str(exc)


def _until_unlocked(conn: sqlite3.Connection, sql: str, timeout_ms: int) -> None:
    """Run `sql`, retrying while the database is locked, up to `timeout_ms`.

    Switching a database to WAL needs an exclusive lock, and SQLite answers SQLITE_BUSY
    at once (without calling the busy handler) when another connection is creating or
    switching the same fresh file: eight processes opening a new store together hit it.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    delay = 0.005
    while True:
        try:
            conn.execute(sql)
            return
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.25)


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
            _until_unlocked(conn, "PRAGMA journal_mode=WAL", busy_timeout_ms)
            conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
    except sqlite3.DatabaseError as exc:
        if is_busy(exc):
            raise TempFailError(
                f"{path} stayed locked by another process for {busy_timeout_ms / 1000:.0f} s",
                hint="run again; the work stays owed",
            ) from exc
        raise sqlite_error(exc, path) or CantCreateError(f"cannot open {path}: {exc}") from exc
    conn.row_factory = sqlite3.Row
    if not readonly:
        try:
            migrate(conn)
        except sqlite3.DatabaseError as exc:
            conn.close()
            mapped = sqlite_error(exc, path)
            if mapped is None:
                raise
            raise mapped from exc
    return conn


def probe(path: Path, *, thorough: bool = False) -> str | None:
    """Why the database at `path` is corrupt, or None (also when it does not exist).

    The light probe reads the header and the schema; `thorough` adds `PRAGMA quick_check`,
    which reads every page: what restore and rebuild decide on, and what health runs only
    once a check has failed. Errors other than corruption (a lock, permissions) are None:
    the caller's own open reports them.
    """
    if not path.is_file():
        return None
    try:
        conn = sqlite3.connect(readonly_uri(path), uri=True, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout=5000")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            if thorough:
                rows = [str(r[0]) for r in conn.execute("PRAGMA quick_check(3)")]
                if rows != ["ok"]:
                    return "; ".join(rows)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        if is_corrupt(exc):
            return str(exc)
    return None


def set_aside(path: Path, locks_dir: Path, *, derived: Sequence[Path] = ()) -> Path:
    """Move a corrupt database out of the way as `<name>.corrupt-<UTC time>`, with its
    `-wal`/`-shm`/`-journal` under the matching names (0600, kept, never deleted), holding
    the store-write lock. `derived` files (the FAISS index) are removed first: they name
    rows by ids that the fresh database will reuse. Side files go before the database: a
    stale WAL left beside the fresh database would be replayed onto it."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{stamp}.{n}")
        n += 1
    with store_write_lock(locks_dir):
        for stale in derived:
            stale.unlink(missing_ok=True)
        for suffix in (*SIDE_FILES, ""):
            src = path.with_name(path.name + suffix)
            if not src.exists():
                continue
            dst = target.with_name(target.name + suffix)
            os.replace(src, dst)
            dst.chmod(FILE_MODE)
        fsync_dir(path.parent)
    return target


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
        # after SQLITE_FULL or an I/O error SQLite may have rolled back already; a second
        # ROLLBACK would fail and hide the error that says what happened
        if conn.in_transaction:
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
