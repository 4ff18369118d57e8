"""Every table infra keeps in `<data>/infra.sqlite`, as one ordered list of named migrations.

`core.db.connect()` applies the ones a database has not recorded in `schema_migrations`, so
each module just connects and finds its tables in place. The names are what existing
databases have recorded: never rename, edit or reorder a migration once released.

To add a table or change one: append a new `Migration("<area>-NNN-<what>", (sql, ...))` at the
END of `MIGRATIONS` (a new, unique name; its statements run in one transaction with its record).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    name: str  # globally unique and permanent, e.g. "ledger-001-runs"
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    # --- run ledger and watermarks (core/ledger.py) -----------------------------------
    Migration(
        "ledger-001-runs",
        (
            """CREATE TABLE runs (
                run_id TEXT PRIMARY KEY, job TEXT NOT NULL, started_at REAL NOT NULL,
                ended_at REAL, status TEXT NOT NULL, exit_code INTEGER, items INTEGER DEFAULT 0,
                tokens_in INTEGER DEFAULT 0, tokens_out INTEGER DEFAULT 0, cost_usd REAL DEFAULT 0,
                error TEXT, pid INTEGER, host TEXT, details TEXT)""",
            "CREATE INDEX runs_job_started ON runs(job, started_at)",
            """CREATE TABLE watermarks (
                job TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, updated_at REAL NOT NULL,
                PRIMARY KEY(job, key))""",
        ),
    ),
    # --- transcript read positions per consumer (openclaw/cursors.py) -----------------
    Migration(
        "reader-001-cursors",
        (
            """CREATE TABLE reader_cursors (
                consumer TEXT NOT NULL, source_key TEXT NOT NULL, cursor_json TEXT NOT NULL,
                updated_at REAL NOT NULL, PRIMARY KEY(consumer, source_key))""",
        ),
    ),
    # --- memory store: generations, docs, turns, chunks, FTS5 (memory/store.py) -------
    Migration(
        "store-001-chunks",
        (
            """CREATE TABLE memory_generations (
                gen INTEGER PRIMARY KEY AUTOINCREMENT,
                model TEXT NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('building', 'active', 'retired')),
                chunking TEXT NOT NULL,
                created_at REAL NOT NULL,
                activated_at REAL)""",
            # at most one active and one building generation
            """CREATE UNIQUE INDEX memory_generations_state ON memory_generations(state)
               WHERE state IN ('active', 'building')""",
            """CREATE TABLE memory_docs (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                gen INTEGER NOT NULL REFERENCES memory_generations(gen),
                key TEXT NOT NULL,
                kind TEXT NOT NULL,
                path TEXT NOT NULL,
                agent TEXT,
                session_id TEXT,
                fingerprint TEXT,
                n_turns INTEGER NOT NULL DEFAULT 0,
                indexed_at REAL NOT NULL,
                UNIQUE (gen, key))""",
            """CREATE TABLE memory_turns (
                doc_id INTEGER NOT NULL REFERENCES memory_docs(id) ON DELETE CASCADE,
                idx INTEGER NOT NULL,
                position INTEGER NOT NULL,
                entry_id TEXT NOT NULL,
                ts REAL,
                role TEXT NOT NULL,
                text TEXT NOT NULL,
                PRIMARY KEY (doc_id, idx))""",
            """CREATE TABLE memory_chunks (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                gen INTEGER NOT NULL,
                doc_id INTEGER NOT NULL REFERENCES memory_docs(id),
                kind TEXT NOT NULL,
                path TEXT NOT NULL,
                agent TEXT,
                session_id TEXT,
                start INTEGER NOT NULL,
                end INTEGER NOT NULL,
                ts REAL,
                text TEXT NOT NULL,
                content_hash TEXT NOT NULL,
                model TEXT NOT NULL,
                embedding BLOB NOT NULL)""",
            "CREATE INDEX memory_chunks_doc ON memory_chunks(doc_id, start)",
            "CREATE INDEX memory_chunks_hash ON memory_chunks(content_hash, model)",
            "CREATE INDEX memory_chunks_gen ON memory_chunks(gen, id)",
            "CREATE INDEX memory_chunks_ts ON memory_chunks(gen, ts)",
            """CREATE TABLE memory_deletions (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                gen INTEGER NOT NULL,
                chunk_id INTEGER NOT NULL)""",
            """CREATE VIRTUAL TABLE memory_fts USING fts5(
                text, content='memory_chunks', content_rowid='id',
                tokenize='porter unicode61 remove_diacritics 2')""",
            """CREATE TRIGGER memory_chunks_ai AFTER INSERT ON memory_chunks BEGIN
                INSERT INTO memory_fts(rowid, text) VALUES (new.id, new.text);
               END""",
            """CREATE TRIGGER memory_chunks_ad AFTER DELETE ON memory_chunks BEGIN
                INSERT INTO memory_fts(memory_fts, rowid, text) VALUES ('delete', old.id, old.text);
                INSERT INTO memory_deletions(gen, chunk_id) VALUES (old.gen, old.id);
               END""",
            # file fingerprints as last read by the indexer: the basis of `stale` and `lag_s`
            """CREATE TABLE memory_seen (
                path TEXT PRIMARY KEY,
                mtime_ns INTEGER NOT NULL,
                size INTEGER NOT NULL,
                seen_at REAL NOT NULL)""",
        ),
    ),
    Migration(
        "store-002-meta",
        # small facts about the store, e.g. how far the deletion log has been pruned
        ("CREATE TABLE IF NOT EXISTS memory_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",),
    ),
    # --- what summarize wrote (pipeline/records.py) -----------------------------------
    Migration(
        "summary-001-hours",
        (
            """CREATE TABLE summary_sections (
                id INTEGER PRIMARY KEY,
                day TEXT NOT NULL,            -- the user's date, YYYY-MM-DD
                hour_start TEXT NOT NULL,     -- UTC instant the local hour starts
                hour_label TEXT NOT NULL,     -- '14:00–15:00 CET'
                timezone TEXT NOT NULL,
                agent TEXT NOT NULL,
                part INTEGER NOT NULL,        -- >1 only for entries that arrived late
                summarizer TEXT NOT NULL,     -- 'anthropic' or 'extractive'
                model TEXT,
                prompt_version TEXT NOT NULL,
                entries INTEGER NOT NULL,
                tokens_in INTEGER NOT NULL DEFAULT 0,
                tokens_out INTEGER NOT NULL DEFAULT 0,
                cost_usd REAL NOT NULL DEFAULT 0,
                llm_calls INTEGER NOT NULL DEFAULT 0,
                flags TEXT NOT NULL DEFAULT '[]',
                sources TEXT NOT NULL,        -- JSON list of SourceRef
                body TEXT NOT NULL,           -- the rendered bullets
                created_at REAL NOT NULL,
                UNIQUE(hour_start, agent, part))""",
            "CREATE INDEX summary_sections_day ON summary_sections(day)",
            """CREATE TABLE summary_covered (
                agent TEXT NOT NULL, session_id TEXT NOT NULL, entry_id TEXT NOT NULL,
                section_id INTEGER NOT NULL REFERENCES summary_sections(id),
                PRIMARY KEY(agent, session_id, entry_id)) WITHOUT ROWID""",
            """CREATE TABLE summary_files (
                day TEXT PRIMARY KEY, path TEXT NOT NULL, sha256 TEXT NOT NULL,
                indexed_sha256 TEXT, updated_at REAL NOT NULL)""",
        ),
    ),
    # --- what daily-sync and weekly-synthesis did (pipeline/digest_records.py) --------
    Migration(
        "digest-001-days-weeks-items",
        (
            """CREATE TABLE digest_days (
                day TEXT PRIMARY KEY,          -- the user's date
                path TEXT,                     -- NULL: no input that day, nothing written
                sha256 TEXT,
                summarizer TEXT, model TEXT, prompt_version TEXT,
                inputs INTEGER NOT NULL DEFAULT 0,
                items TEXT NOT NULL DEFAULT '{}',   -- JSON: count per section
                tokens_in INTEGER NOT NULL DEFAULT 0, tokens_out INTEGER NOT NULL DEFAULT 0,
                cost_usd REAL NOT NULL DEFAULT 0, llm_calls INTEGER NOT NULL DEFAULT 0,
                flags TEXT NOT NULL DEFAULT '[]',
                created_at REAL NOT NULL)""",
            """CREATE TABLE digest_used (
                kind TEXT NOT NULL,            -- hourly | compaction | voice
                key TEXT NOT NULL,
                day TEXT NOT NULL,             -- the digest that used it
                PRIMARY KEY(kind, key)) WITHOUT ROWID""",
            """CREATE TABLE tracked_items (
                id TEXT PRIMARY KEY,           -- A-xxxxxx (action) or P-xxxxxx (priority)
                kind TEXT NOT NULL,
                text TEXT NOT NULL,
                owner TEXT, due TEXT,
                status TEXT NOT NULL,          -- open | done
                first_day TEXT NOT NULL, last_day TEXT NOT NULL,
                closed_day TEXT, closed_link TEXT,
                sources TEXT NOT NULL DEFAULT '[]',  -- JSON: provenance links, oldest first
                daily_ref TEXT,                -- memory/daily/D.md#Ln of its latest mention
                updated_at REAL NOT NULL)""",
            "CREATE INDEX tracked_items_status ON tracked_items(kind, status)",
            """CREATE TABLE digest_weeks (
                week TEXT PRIMARY KEY,         -- 2026-W53
                path TEXT, sha256 TEXT,
                summarizer TEXT, model TEXT, prompt_version TEXT,
                passes TEXT NOT NULL DEFAULT '[]',
                kept INTEGER NOT NULL DEFAULT 0, dropped INTEGER NOT NULL DEFAULT 0,
                tokens_in INTEGER NOT NULL DEFAULT 0, tokens_out INTEGER NOT NULL DEFAULT 0,
                cost_usd REAL NOT NULL DEFAULT 0, llm_calls INTEGER NOT NULL DEFAULT 0,
                created_at REAL NOT NULL)""",
            """CREATE TABLE digest_files (
                path TEXT PRIMARY KEY,         -- relative to the workspace
                sha256 TEXT,                   -- what infra last wrote (committed)
                pending_sha256 TEXT,           -- about to write, or offered beside it
                indexed_sha256 TEXT,
                updated_at REAL NOT NULL)""",
        ),
    ),
    # --- audio files the voice inbox handled (voice/records.py) -----------------------
    Migration(
        "voice-001-files",
        (
            """CREATE TABLE voice_files (
                id INTEGER PRIMARY KEY,
                path TEXT NOT NULL,
                size INTEGER NOT NULL,
                mtime_ns INTEGER NOT NULL,
                sha256 TEXT,
                status TEXT NOT NULL CHECK (status IN
                    ('transcribed', 'no_speech', 'duplicate', 'quarantined', 'refused')),
                output TEXT,
                moved_to TEXT,
                reason TEXT,
                duration_s REAL,
                backend TEXT,
                model TEXT,
                processed_at REAL NOT NULL)""",
            "CREATE INDEX voice_files_key ON voice_files(path, size, mtime_ns)",
            "CREATE INDEX voice_files_sha ON voice_files(sha256)",
        ),
    ),
    # --- every file infra writes into the workspace (core/outputs.py) ------------------
    # replaces summary_files (hourly, by day) and digest_files (daily, weekly, priorities),
    # carrying their rows over so a file infra wrote stays its own and is not re-indexed
    Migration(
        "outputs-001-owned-files",
        (
            """CREATE TABLE owned_files (
                path TEXT PRIMARY KEY,         -- relative to the workspace
                kind TEXT NOT NULL,            -- hourly | daily | weekly | priorities | voice
                sha256 TEXT,                   -- what infra last wrote (committed)
                pending_sha256 TEXT,           -- claimed before a write, or offered beside it
                indexed_sha256 TEXT,           -- what the memory index was given
                updated_at REAL NOT NULL)""",
            """INSERT OR IGNORE INTO owned_files(path, kind, sha256, indexed_sha256, updated_at)
               SELECT path, 'hourly', sha256, indexed_sha256, updated_at FROM summary_files""",
            """INSERT OR IGNORE INTO owned_files(
                   path, kind, sha256, pending_sha256, indexed_sha256, updated_at)
               SELECT path,
                      CASE WHEN path LIKE 'memory/daily/%' THEN 'daily'
                           WHEN path LIKE 'memory/weekly/%' THEN 'weekly'
                           ELSE 'priorities' END,
                      sha256, pending_sha256, indexed_sha256, updated_at FROM digest_files""",
            "DROP TABLE summary_files",
            "DROP TABLE digest_files",
        ),
    ),
    # --- a covered entry's identity that survives a rewrite's new ids (pipeline/records.py)
    # NULL on rows recorded before: see records.legacy_last_hour for how those are read
    Migration(
        "summary-002-covered-content",
        (
            "ALTER TABLE summary_covered ADD COLUMN content TEXT",
            "CREATE INDEX summary_covered_content ON summary_covered(agent, session_id, content)",
        ),
    ),
    # --- clocks at each run's start, to measure sleep (core/clocks.py) ---------------
    # NULL on rows recorded before: health counts no sleep for them
    Migration(
        "ledger-002-run-clocks",
        (
            "ALTER TABLE runs ADD COLUMN since_boot_s REAL",
            "ALTER TABLE runs ADD COLUMN awake_s REAL",
            "ALTER TABLE runs ADD COLUMN boot_id TEXT",
        ),
    ),
    # --- feedback records (feedback/) ------------------------------------------------
    Migration(
        "feedback-001-records",
        (
            # one row per accepted verdict; token_id is a hash of the button value (NULL for
            # feedback recorded in words), so a replayed button is found, never stored twice
            """CREATE TABLE feedback (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                created_at REAL NOT NULL,
                channel TEXT,
                target TEXT NOT NULL,
                verdict TEXT NOT NULL CHECK (verdict IN ('good', 'bad', 'fix')),
                note TEXT,
                token_id TEXT UNIQUE)""",
            "CREATE INDEX feedback_target_time ON feedback(target, created_at)",
            "CREATE INDEX feedback_time ON feedback(created_at)",
            # a target too long for a 64-byte button travels as this digest
            """CREATE TABLE feedback_targets (
                digest TEXT PRIMARY KEY, target TEXT NOT NULL UNIQUE, created_at REAL NOT NULL)""",
            # refused values, counted per UTC day and reason (never the value itself)
            """CREATE TABLE feedback_refused (
                day TEXT NOT NULL, reason TEXT NOT NULL, count INTEGER NOT NULL,
                last_at REAL NOT NULL, PRIMARY KEY(day, reason))""",
            # one lesson per target, merged from its bad and fix feedback (feedback/lessons.py)
            """CREATE TABLE feedback_lessons (
                target TEXT PRIMARY KEY,
                said TEXT,
                links_json TEXT NOT NULL,
                notes_json TEXT NOT NULL,
                wording TEXT,
                bad INTEGER NOT NULL DEFAULT 0,
                fix INTEGER NOT NULL DEFAULT 0,
                first_at REAL NOT NULL,
                last_at REAL NOT NULL)""",
        ),
    ),
    # --- context packs and signals (context/) --------------------------------------------
    Migration(
        "context-001-signals",
        (
            """CREATE TABLE context_signals (
                id INTEGER PRIMARY KEY,
                day TEXT NOT NULL,              -- the user's date of the touching turn
                agent TEXT NOT NULL,            -- whose conversation touched the target
                citation TEXT NOT NULL,         -- session#entry of that turn
                target TEXT NOT NULL,           -- tracked item id, or a decision's citation
                target_agents TEXT NOT NULL,    -- JSON: the agents the target belongs to
                target_citation TEXT NOT NULL,
                how TEXT NOT NULL,              -- entity | embedding
                matched TEXT NOT NULL,          -- the entity, or the similarity
                text TEXT NOT NULL,             -- the target's text
                notified_at REAL,
                notify_error TEXT,
                created_at REAL NOT NULL,
                UNIQUE(target, agent, day))""",
            "CREATE INDEX context_signals_day ON context_signals(day)",
        ),
    ),
    # append new migrations here
)
