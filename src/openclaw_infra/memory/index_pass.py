"""One indexing pass into one generation: plan each document's change, embed, commit.

Work is done a group of documents at a time under the store-write lock, so `index_files`
calls from other jobs (summarize, transcribe) interleave with a long `infra index` instead of
waiting for all of it. For each document the new chunks are diffed against the stored ones:
chunks whose range and text are unchanged keep their ids (FAISS is untouched), vectors of
known texts come from the content-hash cache, and only new texts are embedded, in one batch
per group and before any SQLite transaction opens. A document's chunks, turns and reader
cursor commit together.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from openclaw_infra.core.db import transaction
from openclaw_infra.core.errors import os_error_to_infra
from openclaw_infra.core.fsio import sha256_text
from openclaw_infra.core.locking import store_write_lock
from openclaw_infra.core.watched import RefusedFile, read_watched
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
from openclaw_infra.memory.index_report import IndexStats, Progress
from openclaw_infra.memory.markdown_docs import (
    display_path,
    doc_file,
    doc_key,
    file_timestamp,
    found_path,
    kind_of,
)
from openclaw_infra.memory.model_check import model_mismatch
from openclaw_infra.memory.store import Doc, Generation
from openclaw_infra.openclaw import paths
from openclaw_infra.openclaw.cursors import Cursor, CursorStore

if TYPE_CHECKING:
    from openclaw_infra.core.config import Settings
    from openclaw_infra.openclaw.batch import Source

log = structlog.get_logger("infra.memory")

# A group of documents shares one embedding batch and one hold of the store-write lock:
# big enough for the model to run at full speed, small enough for other writers to get in.
GROUP_CHUNKS = 256
GROUP_DOCS = 64


@dataclass
class DocPlan:
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
    cursor: tuple[CursorStore, Cursor] | None = None  # reader cursor to record with it


class IndexPass:
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
        self._pending_vectors: dict[str, bytes] = {}  # the current group's, by content hash

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

    def prepare(self, new: Sequence[Chunk]) -> None:
        """Embed (outside the transaction) whatever of `new` the store has no vector for."""
        self._pending_vectors = dict(
            zip((c.content_hash for c in new), self.vectors_for(new), strict=True)
        )

    # --- planning and committing documents --------------------------------------------------
    def run_group(self, plans: Sequence[DocPlan]) -> None:
        """Embed what the plans need in one batch, then commit each document on its own."""
        self.prepare([c for p in plans for c in p.chunks])
        for plan in plans:
            self.commit(plan)

    def commit(self, plan: DocPlan) -> None:
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
        plan: Callable[[Any], DocPlan | None],
        progress: Progress,
        what: str,
    ) -> None:
        """Plan and commit `items` in groups, each under one hold of the store-write lock."""
        done = 0
        while done < len(items):
            with self.unit():
                plans: list[DocPlan] = []
                size = 0
                while done < len(items) and size < GROUP_CHUNKS and len(plans) < GROUP_DOCS:
                    planned = plan(items[done])
                    done += 1
                    if planned is not None:
                        plans.append(planned)
                        size += len(planned.chunks)
                self.run_group(plans)
            progress.update(what, done, len(items))

    def drop(self, doc: Doc, cursors: CursorStore | None = None) -> None:
        """Drop a document whose file or session is gone (and its reader cursor)."""
        with self.unit(), transaction(self.conn):
            self.stats.chunks_removed += store.delete_doc(self.conn, doc.id)
            if cursors is not None:
                cursors.forget(doc.key)
        self.stats.removed += 1

    # --- Markdown files -----------------------------------------------------------------------
    def plan_file(self, path: Path, *, kind: str | None = None) -> DocPlan | None:
        """What (re)indexing one Markdown file takes; None when unchanged or gone (a gone
        file's document is dropped here)."""
        key = doc_key(self.settings, path)
        fp = freshness.fingerprint(path)
        try:
            raw = read_watched(path, self.file_roots, max_bytes=self.settings.index_max_file_bytes)
        except FileNotFoundError:
            self._drop_gone(key)
            return None
        except RefusedFile as refused:
            # counted and named in the run's figures (infra health warns); what the file
            # held before is not what it holds now, so its chunks go
            where = found_path(self.settings, path)
            self.stats.refuse(where, refused.reason)
            log.warning("memory file skipped", file=where, reason=refused.reason)
            for stale in {key, "file:" + where}:  # a link's key is where it leads
                self._drop_gone(stale)
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
        return DocPlan(
            key=key,
            kind=kind or kind_of(self.settings, path),
            path=display_path(self.settings, path),
            fingerprint=digest,
            chunks=[Chunk(c.start, c.end, ts, c.text) for c in markdown_chunks(text)],
            doc=doc,
        )

    @property
    def file_roots(self) -> tuple[Path, Path]:
        """Where a Markdown file may really live: a link out of these is not read."""
        return (self.settings.workspace, self.settings.memory_dir)

    def _drop_gone(self, key: str) -> None:
        doc = store.get_doc(self.conn, self.gen.gen, key)
        if doc is not None:
            with transaction(self.conn):
                self.stats.chunks_removed += store.delete_doc(self.conn, doc.id)
            self.stats.removed += 1

    def index_memory_tree(self, progress: Progress) -> None:
        files = list(freshness.memory_files(self.settings))
        self.grouped(files, self.plan_file, progress, "memory files")
        # files that vanished from the tree drop their chunks
        present = {doc_key(self.settings, p) for p in files}
        for doc in store.docs_with_prefix(self.conn, self.gen.gen, "file:"):
            if doc.key in present:
                continue
            if doc_file(self.settings, doc.key).exists():
                continue  # indexed on purpose by index_files, outside the tree
            self.drop(doc)

    # --- transcripts --------------------------------------------------------------------------
    def index_transcripts(self, progress: Progress) -> None:
        from openclaw_infra.openclaw.reader import discover_sources

        cursors = CursorStore(self.conn, self.consumer)
        refused: list[RefusedFile] = []
        sources = discover_sources(self.settings, refused=refused)
        for file in refused:
            self.stats.refuse(paths.relative_to_state(self.settings, file.path), file.reason)
        self.stats.sources += len(sources)
        mine = [s for s in sources if s.is_user_conversation]
        self.stats.sources_skipped += len(sources) - len(mine)
        self.grouped(
            mine, lambda source: self.plan_source(source, cursors), progress, "transcripts"
        )
        self._drop_vanished(sources, cursors)

    def plan_source(self, source: Source, cursors: CursorStore) -> DocPlan | None:
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
        return DocPlan(
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

    def _drop_vanished(self, sources: Sequence[Source], cursors: CursorStore) -> None:
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
            self.drop(doc, cursors)
