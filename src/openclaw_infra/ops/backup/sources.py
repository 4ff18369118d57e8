"""What goes into a snapshot, and consistent copies of live SQLite databases.

Archive paths start with the role of their root, never an absolute path, so a snapshot
restores onto another machine or into a scratch directory:

- `data/`: infra's `infra.sqlite` and `config.env` (the FAISS file is derived and left out:
  `infra index --rebuild` recreates it, and the drill proves that it does); `config.env`
  without its secret values, and those and the secret files only ever age-encrypted, as
  `data/secrets.age` (`secrets.py`),
- `workspace/`: the Markdown infra writes (`memory/hourly|daily|weekly|voice`), plus
  `MEMORY.md` and the whole `memory/` tree when `backup_include_workspace` is on,
- `state/`: OpenClaw's transcripts (`agents/<agent>/sessions/*.jsonl`, `sessions.json`, and
  `agents/<agent>/agent/openclaw-agent.sqlite`) when `backup_include_openclaw` is on.

A live database is never copied as a file (a copy taken mid-write is torn, and its WAL holds
committed pages the main file lacks): it is opened read-only and copied with SQLite's online
backup API in one step, which reads one consistent snapshot while writers carry on.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from openclaw_infra.core.config import Settings
from openclaw_infra.core.db import readonly_uri
from openclaw_infra.core.errors import CantCreateError, DataError, TempFailError
from openclaw_infra.core.fsio import TMP_PREFIX
from openclaw_infra.core.layout import DB_FILE, FAISS_FILE
from openclaw_infra.openclaw import paths as oc_paths
from openclaw_infra.ops.backup import secrets

Kind = Literal["file", "sqlite"]
ROOTS = ("data", "state", "workspace")
DB_ARCNAME = f"data/{DB_FILE}"
FAISS_ARCNAME = f"data/{FAISS_FILE}"  # derived, never archived
BUSY_TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class Source:
    arcname: str  # path inside the archive, e.g. "data/infra.sqlite"
    path: Path  # the live file
    kind: Kind


@dataclass
class Selection:
    sources: list[Source] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # symlinks, sockets: named, not copied
    secrets: dict[str, Any] = field(default_factory=dict)  # the manifest's `secrets` section
    # private temp dir holding the generated members (redacted config.env, secrets.age),
    # made only when needed: no plain secret is ever in it; removed by close(), or when the
    # selection is collected (a SIGKILLed run leaves it to the system's temp cleaning)
    staging: Path | None = None

    def close(self) -> None:
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None

    def __enter__(self) -> Selection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def root_paths(settings: Settings) -> dict[str, Path]:
    """Where each archive root lives on this machine (restore --in-place maps back here)."""
    return {"data": settings.data, "state": settings.state_dir, "workspace": settings.workspace}


def _add_file(sel: Selection, root: str, base: Path, path: Path) -> None:
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    rel = f"{root}/{path.relative_to(base).as_posix()}"
    if stat.S_ISREG(mode):
        sel.sources.append(Source(rel, path, "file"))
    else:
        sel.skipped.append(rel)


def _add_tree(sel: Selection, root: str, base: Path, top: Path) -> None:
    """Every regular file under `top`, sorted, without following symlinks."""
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            if not name.startswith(TMP_PREFIX):
                _add_file(sel, root, base, Path(dirpath) / name)
        for name in dirnames:
            if (Path(dirpath) / name).is_symlink():
                sel.skipped.append(f"{root}/{(Path(dirpath) / name).relative_to(base).as_posix()}")


def select_sources(settings: Settings) -> Selection:
    """The files of one snapshot, in archive order."""
    sel = Selection()
    data = settings.data
    if settings.db_path.is_file():
        sel.sources.append(Source(DB_ARCNAME, settings.db_path, "sqlite"))
    _add_file(sel, "data", data, settings.config_file)
    protected = _protect_secrets(settings, sel)

    ws = settings.workspace
    if settings.backup_include_workspace:
        _add_file(sel, "workspace", ws, ws / "MEMORY.md")
        _add_tree(sel, "workspace", ws, settings.memory_dir)
    else:
        for folder in (
            settings.hourly_dir,
            settings.daily_dir,
            settings.weekly_dir,
            settings.voice_dir,
        ):
            _add_tree(sel, "workspace", ws, folder)

    if settings.backup_include_openclaw:
        state = settings.state_dir
        for agent in oc_paths.discover_agents(settings, every=True):
            for jsonl in oc_paths.jsonl_files(settings, agent):
                _add_file(sel, "state", state, jsonl)
            _add_file(
                sel, "state", state, oc_paths.sessions_dir(settings, agent) / oc_paths.SESSIONS_JSON
            )
            db = oc_paths.sqlite_path(settings, agent)
            if db.is_file():
                sel.sources.append(
                    Source(f"state/{db.relative_to(state).as_posix()}", db, "sqlite")
                )
    # a secret file that also lies in a selected tree is never archived in plain text
    sel.sources = [s for s in sel.sources if s.path.absolute() not in protected]
    return sel


def _protect_secrets(settings: Settings, sel: Selection) -> set[Path]:
    """Swap the live config.env for its redacted copy, add `data/secrets.age` after it, and
    fill `sel.secrets`; returns the secret files' paths, which no source may name."""

    def staging() -> Path:
        if sel.staging is None:
            sel.staging = Path(tempfile.mkdtemp(prefix="infra-secrets-"))
            weakref.finalize(sel, shutil.rmtree, sel.staging, ignore_errors=True)
        return sel.staging

    try:
        protected = secrets.stage(settings, staging)
    except BaseException:
        sel.close()
        raise
    if protected.config is not None:
        sel.sources = [
            Source(s.arcname, protected.config, "file")
            if s.arcname == secrets.CONFIG_ARCNAME
            else s
            for s in sel.sources
        ]
    if protected.sealed is not None:
        sel.sources.append(Source(secrets.SECRETS_ARCNAME, protected.sealed, "file"))
    sel.secrets = protected.section
    return protected.exclude


def estimated_bytes(sources: list[Source]) -> int:
    """Bytes a snapshot may need: each file once in the archive (compression only shrinks
    it, tar adds a header a file), each database once more for its staged copy."""
    total = 1 << 20
    for src in sources:
        try:
            size = src.path.stat().st_size
            if src.kind == "sqlite":
                wal = src.path.with_name(src.path.name + "-wal")
                size += wal.stat().st_size if wal.exists() else 0
                size *= 2
        except FileNotFoundError:
            continue
        total += size + 1024
    return total


def copy_sqlite(src: Path, dst: Path) -> None:
    """Copy a live database into the new file `dst` with the online backup API.

    The source is opened read-only (infra never writes OpenClaw's databases). `pages=-1`
    copies everything in one step inside one read transaction: the copy is the database as
    of one commit, whatever other processes write meanwhile.
    """
    try:
        source = sqlite3.connect(readonly_uri(src), uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise DataError(f"cannot open {src} read-only: {exc}") from exc
    try:
        source.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        target = sqlite3.connect(dst)
        try:
            source.backup(target, pages=-1)
        finally:
            target.close()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise TempFailError(f"{src} stayed locked: {exc}") from exc
        if "full" in str(exc):
            raise CantCreateError(f"cannot write the copy of {src} to {dst}: {exc}") from exc
        raise DataError(f"cannot back up {src}: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        raise DataError(f"{src} is not a readable SQLite database: {exc}") from exc
    finally:
        source.close()


def open_copy(path: Path) -> sqlite3.Connection:
    """Open a static copy (staged or restored) without locks, WAL or side files."""
    return sqlite3.connect(readonly_uri(path, immutable=True), uri=True)


def integrity_check(path: Path) -> str:
    """`PRAGMA integrity_check` of a copy: "ok", or SQLite's first complaints."""
    try:
        conn = open_copy(path)
        try:
            rows = [str(r[0]) for r in conn.execute("PRAGMA integrity_check(20)")]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return f"not a database: {exc}"
    return "ok" if rows == ["ok"] else "; ".join(rows)


def db_facts(path: Path) -> dict[str, Any]:
    """Schema version, applied migrations and row counts of a copy, for the manifest: the
    schema versions say what code can read it, the counts are what the drill compares."""
    conn = open_copy(path)
    try:
        facts: dict[str, Any] = {
            "user_version": int(conn.execute("PRAGMA user_version").fetchone()[0]),
        }
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
                "AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name"
            )
        ]
        # names come from sqlite_master and are quoted as identifiers
        facts["tables"] = {}
        for t in tables:
            sql = f'SELECT count(*) FROM "{t.replace(chr(34), chr(34) * 2)}"'  # noqa: S608
            facts["tables"][t] = int(conn.execute(sql).fetchone()[0])
        if "schema_migrations" in tables:
            facts["migrations"] = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM schema_migrations ORDER BY applied_at, name"
                )
            ]
    finally:
        conn.close()
    return facts
