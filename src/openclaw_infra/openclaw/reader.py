"""The transcript reader every consumer (index, summarize, daily) uses.

`discover_sources` lists every transcript of every agent in both containers (JSONL files and
the SQLite `transcript_events` table, detected per agent); `read_new` reads what a cursor has
not seen yet, `read_conversations` that for every user conversation, `read_all` a whole
source. Entries come out normalised and noise-filtered, each
with the cursor just after it, so a consumer commits exactly what it covered.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import structlog

from openclaw_infra.core import watched
from openclaw_infra.core.config import Settings
from openclaw_infra.core.errors import InfraError
from openclaw_infra.core.watched import RefusedFile
from openclaw_infra.openclaw import paths
from openclaw_infra.openclaw.batch import Batch, Source
from openclaw_infra.openclaw.cursors import Cursor, CursorStore
from openclaw_infra.openclaw.jsonl import read_jsonl
from openclaw_infra.openclaw.noise import background_kind
from openclaw_infra.openclaw.sqlite_events import list_sessions, open_readonly, read_sqlite

MAX_LINE_BYTES = 16 * 1024 * 1024  # longer lines/events are counted as oversized and skipped

log = structlog.get_logger("infra.reader")


def _jsonl_session_keys(settings: Settings, agent: str) -> dict[str, tuple[str, bool]]:
    """session id (and session file name) → (session key, spawned) from sessions.json."""
    out: dict[str, tuple[str, bool]] = {}
    for key, entry in paths.load_sessions_json(settings, agent).items():
        spawned = bool(entry.get("spawnedBy") or entry.get("parentSessionKey"))
        sid = entry.get("sessionId")
        if isinstance(sid, str) and sid:
            out.setdefault(sid, (key, spawned))
        session_file = entry.get("sessionFile")
        if isinstance(session_file, str) and session_file:
            out.setdefault(Path(session_file).name, (key, spawned))
    return out


def jsonl_sources(
    settings: Settings, agent: str, *, refused: list[RefusedFile] | None = None
) -> list[Source]:
    """The agent's JSONL sessions; files that must not be read are logged and added to
    `refused` (when given) for the caller's report."""
    keys = _jsonl_session_keys(settings, agent)
    out = []
    skipped: list[RefusedFile] = []
    for path in paths.jsonl_files(settings, agent, refused=skipped):
        session_id = path.stem
        key, spawned = (
            keys.get(path.name)
            or keys.get(session_id)
            or keys.get(paths.base_session_id(session_id))
            or (None, False)
        )
        kind = background_kind(key, session_id, "spawned" if spawned else None)
        rel = paths.relative_to_state(settings, path)
        out.append(
            Source(
                key=f"jsonl:{rel}",
                agent=agent,
                container="jsonl",
                path=path,
                session_id=session_id,
                is_user_conversation=kind is None,
                session_key=key,
                rel_path=rel,
            )
        )
    for file in skipped:
        log.warning("transcript file skipped", file=str(file.path), reason=file.reason)
    if refused is not None:
        refused.extend(skipped)
    return out


def sqlite_sources(
    settings: Settings, agent: str, *, refused: list[RefusedFile] | None = None
) -> list[Source]:
    db = paths.sqlite_path(settings, agent)
    if not db.is_file():
        return []
    reason = watched.refusal(db, (paths.agent_dir(settings, agent),))
    if reason is not None:  # a link out of the agent's folder is not its store
        log.warning("OpenClaw store skipped", file=str(db), reason=reason)
        if refused is not None:
            refused.append(RefusedFile(db, reason))
        return []
    rel = paths.relative_to_state(settings, db)
    try:
        conn = open_readonly(db)
    except InfraError as exc:
        log.warning("OpenClaw store not readable", file=str(db), error=str(exc))
        return []
    try:
        sessions = list_sessions(conn)
    except sqlite3.DatabaseError as exc:
        log.warning("OpenClaw store not readable", file=str(db), error=str(exc))
        return []
    finally:
        conn.close()
    return [
        Source(
            key=f"sqlite:{agent}:{s.session_id}",
            agent=agent,
            container="sqlite",
            path=db,
            session_id=s.session_id,
            is_user_conversation=s.is_user_conversation,
            session_key=s.session_key,
            rel_path=rel,
            raw_id=s.raw_id,
        )
        for s in sessions
    ]


def discover_sources(
    settings: Settings, *, refused: list[RefusedFile] | None = None
) -> list[Source]:
    """Every transcript source of every (selected) agent, JSONL first, in a stable order.
    Session files that must not be read (`paths.jsonl_files`) go to `refused`.

    An agent may have both containers (files from before an upgrade, the store after it):
    both are listed. A session OpenClaw imported from JSONL into SQLite keeps its file in
    `session-sqlite-import-archive/`, which is not listed; a copy left in `sessions/` under
    the same session id is skipped too, so no session is read twice.
    """
    sources: list[Source] = []
    for agent in paths.discover_agents(settings):
        in_store = sqlite_sources(settings, agent, refused=refused)
        imported = {s.session_id for s in in_store}
        for source in jsonl_sources(settings, agent, refused=refused):
            if source.session_id in imported:
                # a file left behind after OpenClaw imported it: the store holds the session
                log.info(
                    "JSONL session also in the SQLite store; reading the store",
                    file=str(source.path),
                    session=source.session_id,
                )
                continue
            sources.append(source)
        sources.extend(in_store)
    return sources


def read_new(
    settings: Settings,
    source: Source,
    cursor: Cursor | None,
    *,
    max_line_bytes: int = MAX_LINE_BYTES,
    now: datetime | None = None,
) -> Batch:
    """What `source` holds after `cursor` (None: from the start). A rewritten source (new
    inode, shorter file, changed last line or event) is read from the start with
    `rewritten=True`, so the consumer replaces what it had instead of adding to it."""
    if source.container == "jsonl":
        return read_jsonl(source, cursor, max_line_bytes=max_line_bytes, now=now)
    if source.container == "sqlite":
        return read_sqlite(source, cursor, max_line_bytes=max_line_bytes, now=now)
    raise ValueError(f"unknown container {source.container!r}")


def read_conversations(
    settings: Settings,
    cursors: CursorStore,
    *,
    job: str,
    errors: list[InfraError],
    now: datetime | None = None,
) -> Iterator[tuple[Source, Cursor | None, Batch]]:
    """What each user conversation (background runs left out) holds after its cursor in
    `cursors`, source by source. One unreadable transcript must not hold back the others:
    it is logged as `<job>.source_failed` and added to `errors` for the caller to report
    at the end. A source gone since discovery is skipped."""
    for source in discover_sources(settings):
        if not source.is_user_conversation:
            continue
        stored = cursors.get(source.key)
        try:
            batch = read_new(settings, source, stored, now=now)
        except InfraError as exc:
            log.error(f"{job}.source_failed", source=source.key, error=str(exc))
            errors.append(exc)
            continue
        if not batch.stats.gone:
            yield source, stored, batch


def read_all(
    settings: Settings,
    source: Source,
    *,
    max_line_bytes: int = MAX_LINE_BYTES,
    now: datetime | None = None,
) -> Batch:
    """The whole source from its start (for rebuilds)."""
    return read_new(settings, source, None, max_line_bytes=max_line_bytes, now=now)
