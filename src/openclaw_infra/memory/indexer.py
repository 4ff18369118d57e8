"""Indexing: transcripts (through the reader's cursors) and Markdown memory into the store.

Work is done a group of documents at a time under the store-write lock, so `index_files`
calls from other jobs (summarize, transcribe) interleave with a long `infra index` instead of
waiting for all of it. For each document the new chunks are diffed against the stored ones:
chunks whose range and text are unchanged keep their ids (FAISS is untouched), vectors of
known texts come from the content-hash cache, and only new texts are embedded, in one batch
per group and before any SQLite transaction opens. A document's chunks, turns and reader
cursor commit together. FAISS is
caught up and saved at the end (a crash before that loses nothing: the next open catches up).

`--rebuild` fills a new *generation* beside the active one (queries keep using the old one),
catches up once more under the lock, then switches over in one transaction.
"""

from __future__ import annotations

import re
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from openclaw_infra.core.db import transaction
from openclaw_infra.core.errors import NoInputError, UnavailableError, os_error_to_infra
from openclaw_infra.core.fsio import sha256_text
from openclaw_infra.core.locking import store_write_lock
from openclaw_infra.memory import freshness, store
from openclaw_infra.memory.chunking import (
    WINDOW_STRIDE,
    WINDOW_TURNS,
    Chunk,
    Turn,
    first_open_window,
    markdown_chunks,
    window_chunks,
)
from openclaw_infra.memory.embedder import Embedder
from openclaw_infra.memory.store import Doc, Generation
from openclaw_infra.memory.vectors import FILE_NAME, VectorIndex
from openclaw_infra.openclaw.cursors import CursorStore, ensure_cursor_schema
from openclaw_infra.serve.embedder import shared_embedder

if TYPE_CHECKING:
    from openclaw_infra.core.config import Settings
    from openclaw_infra.openclaw.batch import Source

log = structlog.get_logger("infra.memory")

CONSUMER = "index"
REBUILD_CONSUMER_PREFIX = "index-rebuild-"
SUMMARY_DIRS = ("hourly", "daily", "weekly")


@dataclass
class IndexStats:
    """What one indexing call did (printed by `infra index --json`, kept in the ledger)."""

    generation: int = 0
    model: str = ""
    rebuilt: bool = False
    sources: int = 0  # transcript sources discovered
    sources_read: int = 0  # sources with new or rewritten entries
    sources_skipped: int = 0  # cron, hook and sub-agent sessions (not the user's)
    rewritten: int = 0  # sources re-read from the start (rewritten or truncated files)
    files: int = 0  # Markdown files looked at
    files_changed: int = 0
    removed: int = 0  # documents dropped because their file or session is gone
    turns_added: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    embedded: int = 0  # texts sent to the model
    reused: int = 0  # vectors taken from the content-hash cache
    chunks_total: int = 0
    malformed: int = 0  # transcript lines skipped as unreadable (the reader logs each)
    took_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(data.pop("extra"))
        return data


# A group of documents shares one embedding batch and one hold of the store-write lock:
# big enough for the model to run at full speed, small enough for other writers to get in.
GROUP_CHUNKS = 256
GROUP_DOCS = 64


@dataclass
class _Plan:
    """One document's planned change, computed before its transaction opens."""

    key: str
    kind: str
    path: str
    chunks: list[Chunk]
    doc: Doc | None  # as stored before this change
    agent: str | None = None
    session_id: str | None = None
    fingerprint: str | None = None
    old_from: int | None = None  # stored chunks starting here or later are replaced
    restart: bool = False  # drop the stored turns first (a rewritten transcript)
    new_turns: list[Turn] = field(default_factory=list)
    first_idx: int = 0  # index of new_turns[0] among the document's turns
    cursor: tuple[Any, Any] | None = None  # (CursorStore, Cursor) to record with the change


_ADDITIVE = (
    "sources_read",
    "rewritten",
    "files_changed",
    "removed",
    "turns_added",
    "chunks_added",
    "chunks_removed",
    "embedded",
    "reused",
    "malformed",
)


def kind_of(settings: Settings, path: Path) -> str:
    """`memory/voice/…` → voice; infra's summaries → summary; other Markdown → memory."""
    try:
        rel = path.resolve().relative_to(settings.memory_dir.resolve()).parts
    except ValueError:
        return "memory"
    if rel and rel[0] == "voice":
        return "voice"
    if (rel and rel[0] in SUMMARY_DIRS) or rel == ("priorities.md",):
        return "summary"
    return "memory"


def display_path(settings: Settings, path: Path) -> str:
    """Workspace-relative path for citations (absolute when outside the workspace)."""
    try:
        return path.resolve().relative_to(settings.workspace.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


_DAY_NAME = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_WEEK_NAME = re.compile(r"(\d{4})-W(\d{2})")


def file_timestamp(settings: Settings, path: Path, mtime: float) -> float:
    """A dated file name (daily notes, summaries) dates its chunks; otherwise the mtime."""
    name = path.name
    tz = settings.tz
    match = _DAY_NAME.search(name)
    try:
        if match:
            day = date(int(match[1]), int(match[2]), int(match[3]))
            return datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()
        week = _WEEK_NAME.search(name)
        if week:
            monday = date.fromisocalendar(int(week[1]), int(week[2]), 1)
            return datetime(monday.year, monday.month, monday.day, tzinfo=tz).timestamp()
    except ValueError:
        pass  # "2026-13-45.md" is not a date: fall back to the mtime
    return mtime


class Progress:
    """A one-line progress counter on stderr, only when stderr is a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.shown = False

    def update(self, what: str, done: int, total: int) -> None:
        if self.enabled:
            sys.stderr.write(f"\rindexing {what}: {done}/{total}   ")
            sys.stderr.flush()
            self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


class _Pass:
    """One indexing pass into one generation."""

    def __init__(
        self,
        settings: Settings,
        conn: sqlite3.Connection,
        embedder: Embedder,
        gen: Generation,
        *,
        consumer: str,
        stats: IndexStats,
        lock_each: bool,
    ) -> None:
        self.settings = settings
        self.conn = conn
        self.embedder = embedder
        self.gen = gen
        self.consumer = consumer
        self.stats = stats
        self.lock_each = lock_each
        self.seen: dict[str, tuple[int, int]] = {}  # fingerprints of the files read
        self._checked_identity = False

    @contextmanager
    def unit(self) -> Iterator[None]:
        """The store-write lock for one group of documents (unless the caller holds it)."""
        with store_write_lock(self.settings.locks_dir) if self.lock_each else nullcontext():
            yield

    # --- embedding with the content-hash cache ----------------------------------------------
    def vectors_for(self, chunks: Sequence[Chunk]) -> list[bytes]:
        cached = store.cached_embeddings(
            self.conn, (c.content_hash for c in chunks), self.gen.model
        )
        missing: dict[str, str] = {}
        for c in chunks:
            if c.content_hash not in cached:
                missing.setdefault(c.content_hash, c.text)
        if missing:
            self._check_identity()
            encoded = self.embedder.encode(list(missing.values()))
            for h, row in zip(missing, encoded, strict=True):
                cached[h] = row.astype("float32").tobytes()
            self.stats.embedded += len(missing)
        self.stats.reused += len(chunks) - len(missing)
        return [cached[c.content_hash] for c in chunks]

    def _check_identity(self) -> None:
        if not self._checked_identity:
            actual = str(self.embedder.identity)
            if actual != self.gen.model:
                raise model_mismatch(self.gen.model, actual)
            self._checked_identity = True

    # --- one document -------------------------------------------------------------------------
    def sync_chunks(self, doc: Doc, new: Sequence[Chunk], old: Sequence[store.StoredChunk]) -> None:
        """Replace `old` by `new` (call inside the transaction), keeping unchanged ones."""
        keep: dict[tuple[int, int, str], list[int]] = {}
        for kept in old:
            keep.setdefault((kept.start, kept.end, kept.content_hash), []).append(kept.id)
        fresh: list[Chunk] = []
        for c in new:
            ids = keep.get((c.start, c.end, c.content_hash))
            if ids:
                ids.pop()
            else:
                fresh.append(c)
        stale = [i for ids in keep.values() for i in ids]
        store.delete_chunks(self.conn, stale)
        self.stats.chunks_removed += len(stale)
        if fresh:
            vectors = self._pending_vectors
            store.insert_chunks(
                self.conn, doc, fresh, [vectors[c.content_hash] for c in fresh], self.gen.model
            )
            self.stats.chunks_added += len(fresh)

    _pending_vectors: dict[str, bytes]

    def prepare(self, new: Sequence[Chunk]) -> None:
        """Embed (outside the transaction) whatever of `new` the store has no vector for."""
        self._pending_vectors = dict(
            zip((c.content_hash for c in new), self.vectors_for(new), strict=True)
        )

    # --- planning and committing documents --------------------------------------------------
    def run_group(self, plans: Sequence[_Plan]) -> None:
        """Embed what the plans need in one batch, then commit each document on its own."""
        self.prepare([c for p in plans for c in p.chunks])
        for plan in plans:
            self.commit(plan)

    def commit(self, plan: _Plan) -> None:
        """A document's turns, chunks and reader cursor, in one transaction."""
        with transaction(self.conn):
            if plan.restart and plan.doc is not None:
                store.clear_turns(self.conn, plan.doc.id)
            doc_id = store.upsert_doc(
                self.conn,
                self.gen.gen,
                plan.key,
                kind=plan.kind,
                path=plan.path,
                agent=plan.agent,
                session_id=plan.session_id,
                fingerprint=plan.fingerprint,
                n_turns=plan.first_idx + len(plan.new_turns),
            )
            stored = store.get_doc(self.conn, self.gen.gen, plan.key)
            assert stored is not None and stored.id == doc_id
            store.add_turns(self.conn, doc_id, plan.first_idx, plan.new_turns)
            old = [] if plan.doc is None else store.chunks_of(self.conn, doc_id, plan.old_from)
            self.sync_chunks(stored, plan.chunks, old)
            if plan.cursor is not None:
                cursors, cursor = plan.cursor
                cursors.set(plan.key, cursor)

    def grouped(
        self,
        items: Sequence[Any],
        plan: Callable[[Any], _Plan | None],
        progress: Progress,
        what: str,
    ) -> None:
        """Plan and commit `items` in groups, each under one hold of the store-write lock."""
        done = 0
        while done < len(items):
            with self.unit():
                plans: list[_Plan] = []
                size = 0
                while done < len(items) and size < GROUP_CHUNKS and len(plans) < GROUP_DOCS:
                    planned = plan(items[done])
                    done += 1
                    if planned is not None:
                        plans.append(planned)
                        size += len(planned.chunks)
                self.run_group(plans)
            progress.update(what, done, len(items))

    # --- Markdown files -----------------------------------------------------------------------
    def plan_file(self, path: Path, *, kind: str | None = None) -> _Plan | None:
        """What (re)indexing one Markdown file takes; None when unchanged or gone (a gone
        file's document is dropped here)."""
        key = "file:" + display_path(self.settings, path)
        fp = freshness.fingerprint(path)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            doc = store.get_doc(self.conn, self.gen.gen, key)
            if doc is not None:
                with transaction(self.conn):
                    self.stats.chunks_removed += store.delete_doc(self.conn, doc.id)
                self.stats.removed += 1
            return None
        except OSError as exc:
            raise os_error_to_infra(exc, path) from exc
        self.stats.files += 1
        if fp:
            self.seen[str(path)] = fp
        text = raw.decode("utf-8", errors="replace")
        digest = sha256_text(text)
        doc = store.get_doc(self.conn, self.gen.gen, key)
        if doc is not None and doc.fingerprint == digest:
            return None
        ts = file_timestamp(self.settings, path, (fp[0] / 1e9) if fp else time.time())
        self.stats.files_changed += 1
        return _Plan(
            key=key,
            kind=kind or kind_of(self.settings, path),
            path=display_path(self.settings, path),
            fingerprint=digest,
            chunks=[Chunk(c.start, c.end, ts, c.text) for c in markdown_chunks(text)],
            doc=doc,
        )

    def index_memory_tree(self, progress: Progress) -> None:
        files = list(freshness.memory_files(self.settings))
        self.grouped(files, self.plan_file, progress, "memory files")
        # files that vanished from the tree drop their chunks
        present = {"file:" + display_path(self.settings, p) for p in files}
        for doc in store.docs_with_prefix(self.conn, self.gen.gen, "file:"):
            if doc.key in present:
                continue
            file = self._doc_file(doc)
            if file is not None and file.exists():
                continue  # indexed on purpose by index_files, outside the tree
            with self.unit(), transaction(self.conn):
                self.stats.chunks_removed += store.delete_doc(self.conn, doc.id)
            self.stats.removed += 1

    def _doc_file(self, doc: Doc) -> Path | None:
        rel = doc.key.removeprefix("file:")
        path = Path(rel)
        return path if path.is_absolute() else self.settings.workspace / rel

    # --- transcripts --------------------------------------------------------------------------
    def index_transcripts(self, progress: Progress) -> None:
        from openclaw_infra.openclaw.reader import discover_sources

        cursors = CursorStore(self.conn, self.consumer)
        sources = discover_sources(self.settings)
        self.stats.sources += len(sources)
        mine = [s for s in sources if s.is_user_conversation]
        self.stats.sources_skipped += len(sources) - len(mine)
        self.grouped(
            mine, lambda source: self.plan_source(source, cursors), progress, "transcripts"
        )
        self._drop_vanished(sources, cursors)

    def plan_source(self, source: Source, cursors: Any) -> _Plan | None:
        """Read what the cursor has not seen; plan the turns and the windows they change."""
        from openclaw_infra.openclaw.reader import read_new

        cursor = cursors.get(source.key)
        batch = read_new(self.settings, source, cursor)
        self.stats.malformed += batch.stats.malformed
        if batch.stats.gone:
            return None
        if not batch.items and not batch.rewritten:
            if batch.end != cursor:
                with transaction(self.conn):  # noise only: remember we read past it
                    cursors.set(source.key, batch.end)
            return None
        doc = store.get_doc(self.conn, self.gen.gen, source.key)
        restart = batch.rewritten or doc is None
        n_old = 0 if restart or doc is None else doc.n_turns
        new_turns = [
            Turn(
                entry.position,
                entry.entry_id,
                entry.timestamp.timestamp() if entry.timestamp else None,
                entry.role,
                entry.text,
            )
            for entry, _ in batch.items
        ]
        lo = first_open_window(n_old, WINDOW_TURNS, WINDOW_STRIDE)
        tail = [] if restart or doc is None else store.load_turns(self.conn, doc.id, lo)
        region = tail + new_turns
        self.stats.sources_read += 1
        self.stats.turns_added += len(new_turns)
        self.stats.rewritten += int(batch.rewritten)
        return _Plan(
            key=source.key,
            kind="session",
            path=source.rel_path,
            agent=source.agent,
            session_id=source.session_id,
            chunks=window_chunks(region, offset=lo),
            doc=doc,
            # every stored chunk is replaced on a restart, else only those of the open tail
            old_from=None if restart or not region else region[0].position,
            restart=restart,
            new_turns=new_turns,
            first_idx=n_old,
            cursor=(cursors, batch.end),
        )

    def _drop_vanished(self, sources: Sequence[Source], cursors: Any) -> None:
        """Sessions whose file is gone, or that an agent store no longer lists, drop out.

        An agent store that lists no session at all is treated as unreadable (the reader
        logged why), never as "everything was deleted"."""
        listed = {s.key for s in sources}
        stores_with_sessions = {s.path for s in sources if s.container == "sqlite"}
        for doc in store.docs_with_prefix(
            self.conn, self.gen.gen, "jsonl:"
        ) + store.docs_with_prefix(self.conn, self.gen.gen, "sqlite:"):
            if doc.key in listed:
                continue
            if doc.key.startswith("jsonl:"):
                if (self.settings.state_dir / doc.path).exists():
                    continue  # still there, just not listed now (e.g. became background)
            else:
                db = self.settings.state_dir / doc.path
                if db not in stores_with_sessions:
                    continue
            with self.unit(), transaction(self.conn):
                self.stats.chunks_removed += store.delete_doc(self.conn, doc.id)
                cursors.forget(doc.key)
            self.stats.removed += 1


def model_mismatch(index_model: str, configured: str) -> UnavailableError:
    return UnavailableError(
        f"the memory index was built with {index_model}, but the configured embedding model "
        f"is {configured}",
        hint="run `infra index --rebuild` (or set OPENCLAW_INFRA_EMBEDDING_MODEL back)",
    )


def check_model(gen: Generation, configured: str) -> None:
    """Refuse (exit 69) when the configured model is not the one the index was built with.

    Compares names only (`Embedder.name` is known before loading), so refusing costs no
    model load; the dimension is checked as soon as the model is loaded to embed."""
    built = gen.model.rpartition(":")[0]
    if built != configured:
        raise model_mismatch(gen.model, configured)


def _save_vectors(settings: Settings, conn: sqlite3.Connection, gen: Generation) -> int:
    """Catch the FAISS file of `gen` up with SQLite and save it (caller holds the lock)."""
    path = settings.data / FILE_NAME
    vectors = VectorIndex.open(path, conn, gen)
    header = vectors.save(path)
    with transaction(conn):
        store.prune_deletions(conn, gen.gen, header.deletion_seq)
    return header.count


def _active_or_new(settings: Settings, conn: sqlite3.Connection, embedder: Embedder) -> Generation:
    with transaction(conn):
        gen = store.active_generation(conn)
        if gen is None:
            return store.create_generation(conn, str(embedder.identity), "active")
    check_model(gen, embedder.name)
    return gen


def index_files(
    settings: Settings, paths: Sequence[Path], *, embedder: Embedder | None = None
) -> IndexStats:
    """(Re)index these Markdown files now, or drop the ones that no longer exist.

    For jobs that just wrote a file (summaries, voice transcripts). Takes the store-write
    lock itself. The kind follows the path: `memory/voice/…` voice, `memory/hourly|daily|
    weekly/…` and `memory/priorities.md` summary, anything else memory."""
    started = time.monotonic()
    embedder = embedder or shared_embedder(settings)
    conn = store.open_store(settings)
    stats = IndexStats()
    try:
        with store_write_lock(settings.locks_dir):
            gen = _active_or_new(settings, conn, embedder)
            stats.generation, stats.model = gen.gen, gen.model
            work = _Pass(
                settings, conn, embedder, gen, consumer=CONSUMER, stats=stats, lock_each=False
            )
            plans = []
            for given in paths:
                path = Path(given)
                if path.suffix.lower() not in (".md", ".markdown") and path.exists():
                    raise NoInputError(f"{path}: not a Markdown file")
                planned = work.plan_file(path)
                if planned is not None:
                    plans.append(planned)
            work.run_group(plans)
            with transaction(conn):
                store.record_seen(conn, work.seen, full_scan=False, seen_at=time.time())
            stats.chunks_total = _save_vectors(settings, conn, gen)
    finally:
        conn.close()
    stats.took_s = round(time.monotonic() - started, 3)
    log.info("index.files", **stats.as_dict())
    return stats


def index_all(
    settings: Settings,
    *,
    rebuild: bool = False,
    progress: bool = False,
    embedder: Embedder | None = None,
) -> IndexStats:
    """Index everything: transcripts of every selected agent, `MEMORY.md` and
    `memory/**/*.md` (not `memory/.dreams/`). Incremental; `rebuild=True` builds a new
    generation from scratch and switches to it atomically when complete."""
    started = time.monotonic()
    embedder = embedder or shared_embedder(settings)
    conn = store.open_store(settings)
    ensure_cursor_schema(conn)
    stats = IndexStats(rebuilt=rebuild)
    bar = Progress(progress)
    try:
        if rebuild:
            _rebuild(settings, conn, embedder, stats=stats, bar=bar)
        else:
            scan_at = time.time()
            with store_write_lock(settings.locks_dir):
                gen = _active_or_new(settings, conn, embedder)
            stats.generation, stats.model = gen.gen, gen.model
            work = _Pass(
                settings, conn, embedder, gen, consumer=CONSUMER, stats=stats, lock_each=True
            )
            seen_files = freshness.scan(settings)  # fingerprints from before reading
            work.index_transcripts(bar)
            work.index_memory_tree(bar)
            with store_write_lock(settings.locks_dir):
                with transaction(conn):
                    store.record_seen(conn, seen_files, full_scan=True, seen_at=scan_at)
                stats.chunks_total = _save_vectors(settings, conn, gen)
    finally:
        bar.close()
        conn.close()
    stats.took_s = round(time.monotonic() - started, 3)
    log.info("index.all", **stats.as_dict())
    return stats


def _rebuild(
    settings: Settings,
    conn: sqlite3.Connection,
    embedder: Embedder,
    *,
    stats: IndexStats,
    bar: Progress,
) -> None:
    """Fill a new (or the interrupted) building generation, then switch over under the lock."""
    identity = str(embedder.identity)
    with store_write_lock(settings.locks_dir), transaction(conn):
        shadow = store.building_generation(conn)
        if shadow is not None and (
            shadow.model != identity or shadow.chunking != store.chunking_params()
        ):
            store.drop_generation(conn, shadow.gen)
            shadow = None
        if shadow is None:  # else: resume the one an interrupted rebuild left
            shadow = store.create_generation(conn, identity, "building")
    stats.generation, stats.model = shadow.gen, shadow.model
    consumer = f"{REBUILD_CONSUMER_PREFIX}{shadow.gen}"
    # first pass without holding the lock throughout: other writers keep working
    work = _Pass(settings, conn, embedder, shadow, consumer=consumer, stats=stats, lock_each=True)
    work.index_transcripts(bar)
    work.index_memory_tree(bar)
    with store_write_lock(settings.locks_dir):
        scan_at = time.time()
        seen_files = freshness.scan(settings)
        # the catch-up pass counts only what it changed (the first pass already counted
        # every source and file it looked at)
        caught_up = IndexStats()
        final = _Pass(
            settings, conn, embedder, shadow, consumer=consumer, stats=caught_up, lock_each=False
        )
        final.index_transcripts(bar)
        final.index_memory_tree(bar)
        # files indexed on purpose outside the tree (index_files) come along too
        old = store.active_generation(conn)
        if old is not None:
            for doc in store.docs_with_prefix(conn, old.gen, "file:"):
                if store.get_doc(conn, shadow.gen, doc.key) is None:
                    path = final._doc_file(doc)
                    planned = final.plan_file(path, kind=doc.kind) if path else None
                    if planned is not None:
                        final.run_group([planned])
        shadow_cursors = CursorStore(conn, consumer)
        live_cursors = CursorStore(conn, CONSUMER)
        with transaction(conn):
            for key in list(live_cursors.keys()):
                live_cursors.forget(key)
            for key, cursor in shadow_cursors.all().items():
                live_cursors.set(key, cursor)
                shadow_cursors.forget(key)
            store.activate(conn, shadow, old)
            if old is not None:
                store.drop_generation(conn, old.gen)
            store.record_seen(conn, seen_files, full_scan=True, seen_at=scan_at)
        for name in _ADDITIVE:
            setattr(stats, name, getattr(stats, name) + getattr(caught_up, name))
        active = store.active_generation(conn)
        assert active is not None and active.gen == shadow.gen
        stats.chunks_total = _save_vectors(settings, conn, active)
