"""Indexing: transcripts (through the reader's cursors) and Markdown memory into the store.

The caller hands in the embedder (the composition root picks the resident service's model or
this process's own); it is asked for vectors only when a text is new, so a run with nothing
new loads no model. Documents are indexed a group at a time (`index_pass`); FAISS is caught
up and saved at the end (a crash before that loses nothing: the next open catches up).

`--rebuild` fills a new *generation* beside the active one (queries keep using the old one),
catches up once more under the lock, then switches over in one transaction. When the user
has a private evaluation set (`infra eval`), the new generation is scored first and switched
to only if recall on the set does not drop by more than a margin (`eval_guard`); otherwise
it is dropped (see `_refuse`) and the old index stays.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from openclaw_infra.core.db import connect, transaction
from openclaw_infra.core.errors import NoInputError, UnavailableError
from openclaw_infra.core.locking import store_write_lock
from openclaw_infra.memory import freshness, store
from openclaw_infra.memory.embedder import Embedder
from openclaw_infra.memory.eval_guard import Verdict, judge, record_verdict
from openclaw_infra.memory.evalset import load_set
from openclaw_infra.memory.index_pass import IndexPass
from openclaw_infra.memory.index_report import IndexStats, Progress
from openclaw_infra.memory.markdown_docs import doc_file
from openclaw_infra.memory.model_check import check_model
from openclaw_infra.memory.store import Generation
from openclaw_infra.memory.vectors import VectorIndex
from openclaw_infra.openclaw.cursors import CursorStore

if TYPE_CHECKING:
    from openclaw_infra.core.config import Settings

log = structlog.get_logger("infra.memory")

CONSUMER = "index"
REBUILD_CONSUMER_PREFIX = "index-rebuild-"


def save_vectors(settings: Settings, conn: sqlite3.Connection, gen: Generation) -> int:
    """Catch the FAISS file of `gen` up with SQLite and save it (caller holds the lock)."""
    path = settings.faiss_path
    vectors = VectorIndex.of(settings, conn, gen)
    header = vectors.save(path)
    with transaction(conn):
        store.prune_deletions(conn, gen.gen, header.deletion_seq)
    return header.count


def _active_or_new(conn: sqlite3.Connection, embedder: Embedder) -> Generation:
    with transaction(conn):
        gen = store.active_generation(conn)
        if gen is None:
            return store.create_generation(conn, str(embedder.identity), "active")
    check_model(gen, embedder.name)
    return gen


def index_files(settings: Settings, paths: Sequence[Path], *, embedder: Embedder) -> IndexStats:
    """(Re)index these Markdown files now, or drop the ones that no longer exist.

    For jobs that just wrote a file (summaries, voice transcripts). Takes the store-write
    lock itself. The kind follows the path: `memory/voice/…` voice, `memory/hourly|daily|
    weekly/…` and `memory/priorities.md` summary, anything else memory."""
    started = time.monotonic()
    conn = connect(settings.db_path)
    stats = IndexStats()
    try:
        with store_write_lock(settings.locks_dir):
            gen = _active_or_new(conn, embedder)
            stats.generation, stats.model = gen.gen, gen.model
            work = IndexPass(
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
            stats.chunks_total = save_vectors(settings, conn, gen)
    finally:
        conn.close()
    stats.took_s = round(time.monotonic() - started, 3)
    log.info("index.files", **stats.as_dict())
    return stats


def index_all(
    settings: Settings,
    *,
    embedder: Embedder,
    rebuild: bool = False,
    force: bool = False,
    progress: bool = False,
) -> IndexStats:
    """Index everything: transcripts of every selected agent, `MEMORY.md` and
    `memory/**/*.md` (not `memory/.dreams/`). Incremental; `rebuild=True` builds a new
    generation from scratch and switches to it atomically when complete and not worse on
    the evaluation set (`force=True`: even when worse)."""
    started = time.monotonic()
    conn = connect(settings.db_path)
    stats = IndexStats(rebuilt=rebuild)
    bar = Progress(progress)
    try:
        if rebuild:
            _rebuild(settings, conn, embedder, stats=stats, bar=bar, force=force)
        else:
            scan_at = time.time()
            with store_write_lock(settings.locks_dir):
                gen = _active_or_new(conn, embedder)
            stats.generation, stats.model = gen.gen, gen.model
            work = IndexPass(
                settings, conn, embedder, gen, consumer=CONSUMER, stats=stats, lock_each=True
            )
            seen_files = freshness.scan(settings)  # fingerprints from before reading
            work.index_transcripts(bar)
            work.index_memory_tree(bar)
            with store_write_lock(settings.locks_dir):
                with transaction(conn):
                    store.record_seen(conn, seen_files, full_scan=True, seen_at=scan_at)
                stats.chunks_total = save_vectors(settings, conn, gen)
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
    force: bool = False,
) -> None:
    """Fill a new (or the interrupted) building generation, then switch over under the lock
    unless the evaluation set says it is worse (UnavailableError, exit 69)."""
    identity = str(embedder.identity)
    evalset = load_set(settings)  # read first: an unreadable one fails before the work
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
    work = IndexPass(
        settings, conn, embedder, shadow, consumer=consumer, stats=stats, lock_each=True
    )
    work.index_transcripts(bar)
    work.index_memory_tree(bar)
    # scored outside the lock (a few hundred queries): the catch-up below adds only what
    # arrived meanwhile, which the evaluation set, built earlier, does not cite
    old = store.active_generation(conn)
    verdict = judge(settings, evalset, shadow, old, embedder, force=force)
    if not verdict.activate:
        _refuse(settings, conn, shadow, consumer, verdict)
    with store_write_lock(settings.locks_dir):
        scan_at = time.time()
        seen_files = freshness.scan(settings)
        # the catch-up pass counts only what it changed (the first pass already counted
        # every source and file it looked at)
        caught_up = IndexStats()
        final = IndexPass(
            settings, conn, embedder, shadow, consumer=consumer, stats=caught_up, lock_each=False
        )
        final.index_transcripts(bar)
        final.index_memory_tree(bar)
        # files indexed on purpose outside the tree (index_files) come along too
        old = store.active_generation(conn)
        if old is not None:
            for doc in store.docs_with_prefix(conn, old.gen, "file:"):
                if store.get_doc(conn, shadow.gen, doc.key) is None:
                    planned = final.plan_file(doc_file(settings, doc.key), kind=doc.kind)
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
        stats.add_changes(caught_up)
        active = store.active_generation(conn)
        assert active is not None and active.gen == shadow.gen
        stats.chunks_total = save_vectors(settings, conn, active)
    record_verdict(settings, verdict)
    if verdict.outcome != "no-set":
        stats.extra["eval"] = verdict.as_dict()


def _refuse(
    settings: Settings,
    conn: sqlite3.Connection,
    shadow: Generation,
    consumer: str,
    verdict: Verdict,
) -> None:
    """Drop the refused generation and say why (exit 69). Dropped rather than kept: a
    second generation doubles the store and sends every unfiltered BM25 query through the
    slower join while it exists, and a kept one would be resumed (and refused again) by the
    next rebuild; `--force` rebuilds it, with every unchanged text's vector from the cache
    when the model is the same."""
    with store_write_lock(settings.locks_dir), transaction(conn):
        store.drop_generation(conn, shadow.gen)
        cursors = CursorStore(conn, consumer)
        for key in list(cursors.keys()):
            cursors.forget(key)
    record_verdict(settings, verdict)
    log.warning("index.rebuild_refused", **verdict.as_dict())
    raise UnavailableError(verdict.message, hint=verdict.hint)
