"""`infra summarize`: new conversation → one Markdown section per hour and agent.

The run, step by step:
1. Read every user conversation from its `summarize` cursor (noise already filtered by the
   reader), drop entries some section already covers, and file each entry under an hour of
   the user's timezone (entries without a usable timestamp go next to their neighbours).
2. Owed hours are the ended hours with uncovered entries; the oldest `cap` are done now.
3. Per hour, oldest first: summarise each agent's entries, rebuild that day's file from the
   recorded sections plus the new ones, write it atomically, then commit the sections, the
   entries they cover and the cursors they allow in one transaction. A crash in between
   costs a repeated LLM call, never a duplicate or lost section.
4. Cursors of transcripts that held only noise move to the end of what was read.
5. Files written since they were last indexed go to the memory store.

An LLM failure after retries ends the run with exit 75: that hour writes nothing and keeps
its cursors; hours finished before it stay done.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from openclaw_infra.core.config import Settings
from openclaw_infra.core.db import transaction
from openclaw_infra.core.errors import CantCreateError, InfraError
from openclaw_infra.core.fsio import sha256_text, write_if_changed
from openclaw_infra.core.logging import get_logger
from openclaw_infra.llm.mapreduce import Passage
from openclaw_infra.openclaw.batch import Batch, Source
from openclaw_infra.openclaw.cursors import Cursor, CursorStore
from openclaw_infra.openclaw.entries import Entry
from openclaw_infra.openclaw.reader import read_conversations
from openclaw_infra.pipeline import records
from openclaw_infra.pipeline.bullets import render_bullet
from openclaw_infra.pipeline.hours import Hour, owed_hours, place
from openclaw_infra.pipeline.records import SectionRecord, SourceRef
from openclaw_infra.pipeline.render import GENERATOR, render_hourly_day
from openclaw_infra.pipeline.summarizer import Summarizer, Summary

log = get_logger("infra.summarize")

CONSUMER = "summarize"
HOURLY_DIR = "hourly"


@dataclass
class Item:
    entry: Entry
    cursor: Cursor  # the source's cursor just after this entry
    at: datetime  # the instant it is filed under
    hour: Hour
    done: bool  # covered by a recorded section


@dataclass
class SourceWork:
    """One transcript's unread entries and how far its cursor may move."""

    source: Source
    batch: Batch
    items: list[Item]
    stored: Cursor | None

    def target_cursor(self) -> Cursor | None:
        """After the longest run of covered entries from the start, or the end of what was
        read once every entry is covered (trailing noise included)."""
        last: Cursor | None = None
        for item in self.items:
            if not item.done:
                return last
            last = item.cursor
        return self.batch.end


@dataclass
class SummarizeReport:
    mode: str
    hours: int = 0
    sections: int = 0
    entries: int = 0
    files: list[str] = field(default_factory=list)
    owed_left: int = 0  # ended hours still owed after this run (beyond the cap)
    pending: int = 0  # hours with entries that have not ended yet
    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    indexed: int = 0
    flags: dict[str, int] = field(default_factory=dict)
    read: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "summarizer": self.mode,
            "hours": self.hours,
            "sections": self.sections,
            "entries": self.entries,
            "files": self.files,
            "owed_hours": self.owed_left,
            "pending_hours": self.pending,
            "llm_calls": self.calls,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cost_usd": round(self.cost_usd, 6),
            "indexed_files": self.indexed,
            "flags": dict(sorted(self.flags.items())),
            "read": dict(sorted(self.read.items())),
        }


def _entry_hash(entries: list[Entry]) -> str:
    digest = hashlib.sha256()
    for entry in entries:
        digest.update(f"{entry.citation}\t{entry.text}\n".encode("utf-8", "replace"))
    return digest.hexdigest()


def _mtime(path: Path, now: datetime) -> datetime:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    except OSError:
        return now


class HourlyRun:
    """One `summarize` run over an open infra.sqlite connection."""

    def __init__(
        self,
        settings: Settings,
        conn: sqlite3.Connection,
        summarizer: Summarizer,
        *,
        now: datetime | None = None,
        max_hours: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.conn = records.open_records(conn)
        self.cursors = CursorStore(conn, CONSUMER)
        self.summarizer = summarizer
        self.now = now or datetime.now(UTC)
        self.tz = settings.tz
        self.cap = max_hours or settings.summarize_max_hours_per_run
        self.details = details if details is not None else {}
        self.report = SummarizeReport(mode=summarizer.name)
        self.errors: list[InfraError] = []

    # --- reading -------------------------------------------------------------------------
    def read(self) -> list[SourceWork]:
        works: list[SourceWork] = []
        seen: set[tuple[str, str, str]] = set()
        for source, stored, batch in read_conversations(
            self.settings, self.cursors, job="summarize", errors=self.errors, now=self.now
        ):
            for key, value in batch.stats.as_dict().items():
                if isinstance(value, int) and not isinstance(value, bool) and value:
                    self.report.read[key] = self.report.read.get(key, 0) + value
            works.append(self._work(source, batch, stored, seen))
        return works

    def _work(
        self, source: Source, batch: Batch, stored: Cursor | None, seen: set[tuple[str, str, str]]
    ) -> SourceWork:
        entries = batch.entries
        covered = records.covered_entries(
            self.conn, source.agent, source.session_id, [e.entry_id for e in entries]
        )
        placement = place(
            [e.timestamp for e in entries], now=self.now, fallback=_mtime(source.path, self.now)
        )
        for name, count in (("undated", placement.undated), ("future", placement.future)):
            if count:
                self.report.flags[name] = self.report.flags.get(name, 0) + count
        items = []
        for (entry, cursor), at in zip(batch.items, placement.times, strict=True):
            key = (entry.agent, entry.session_id, entry.entry_id)
            done = entry.entry_id in covered or key in seen  # a duplicate id is read once
            seen.add(key)
            items.append(Item(entry, cursor, at, Hour.of(at, self.tz), done))
        return SourceWork(source, batch, items, stored)

    # --- the run -------------------------------------------------------------------------
    def run(self) -> SummarizeReport:
        works = self.read()
        owed = owed_hours(
            (i.hour for w in works for i in w.items if not i.done),
            now=self.now,
            tz=self.tz,
            cap=self.cap,
        )
        self.report.owed_left = len(owed.due) + len(owed.deferred)
        self.report.pending = len(owed.pending)
        self._progress(owed.due + owed.deferred)
        for position, hour in enumerate(owed.due):
            self._do_hour(hour, works)
            self.report.owed_left -= 1
            self._progress((owed.due + owed.deferred)[position + 1 :])
        self._advance_idle(works)
        self._index_pending()
        if self.errors:
            raise self.errors[0]
        return self.report

    def _progress(self, owed: list[Hour]) -> None:
        """What health reads from the ledger, kept current even if the run fails next."""
        # tokens and cost go to the ledger's own columns (the job fills them), not details
        self.details.update(
            {
                k: v
                for k, v in self.report.as_dict().items()
                if k not in ("tokens_in", "tokens_out", "cost_usd")
            }
        )
        self.details["oldest_owed_hour"] = owed[0].key() if owed else None

    def _do_hour(self, hour: Hour, works: list[SourceWork]) -> None:
        by_agent: dict[str, list[tuple[SourceWork, Item]]] = {}
        for work in works:
            for item in work.items:
                if not item.done and item.hour == hour:
                    by_agent.setdefault(work.source.agent, []).append((work, item))
        new: list[tuple[SectionRecord, list[Item]]] = []
        for agent in sorted(by_agent):
            pairs = sorted(
                by_agent[agent], key=lambda p: (p[1].at, p[0].source.key, p[1].entry.position)
            )
            new.append((self._section(hour, agent, pairs), [item for _, item in pairs]))
        day = hour.day(self.tz).isoformat()
        written = self._write_day(day, [section for section, _ in new])
        with transaction(self.conn):
            for section, items in new:
                records.insert_section(
                    self.conn,
                    section,
                    ((i.entry.agent, i.entry.session_id, i.entry.entry_id) for i in items),
                )
            if written is not None:
                records.record_file(self.conn, day, *written)
            for _, items in new:
                for item in items:
                    item.done = True
            self._set_cursors(works)
        self.report.hours += 1
        if written is not None and written[0] not in self.report.files:
            self.report.files.append(written[0])
        log.info("summarize.hour", hour=hour.key(), day=day, sections=len(new))

    def _section(
        self, hour: Hour, agent: str, pairs: list[tuple[SourceWork, Item]]
    ) -> SectionRecord:
        entries = [item.entry for _, item in pairs]
        conversations: dict[str, int] = {}
        passages = []
        for ref, (work, item) in enumerate(pairs, 1):
            number = conversations.setdefault(work.source.key, len(conversations) + 1)
            passages.append(
                Passage(
                    ref,
                    item.entry.text,
                    {
                        "role": item.entry.role,
                        "time": item.at.astimezone(self.tz).strftime("%H:%M"),
                        "conversation": str(number),
                    },
                )
            )
        label = hour.label(self.tz)
        summary = self.summarizer.summarize(
            passages, f"{label} on {hour.day(self.tz).isoformat()}, agent {agent}"
        )
        self._count(summary, len(entries))
        body = "\n".join(
            render_bullet(b, [entries[ref - 1].citation for ref in b.refs]) for b in summary.bullets
        )
        return SectionRecord(
            day=hour.day(self.tz).isoformat(),
            hour_start=hour.key(),
            hour_label=label,
            timezone=self.tz.key,
            agent=agent,
            part=records.next_part(self.conn, hour.key(), agent),
            summarizer=summary.summarizer,
            model=summary.model,
            prompt_version=summary.prompt_version,
            entries=len(entries),
            body=body,
            sources=self._sources(pairs),
            tokens_in=summary.tokens_in,
            tokens_out=summary.tokens_out,
            cost_usd=summary.cost_usd,
            llm_calls=summary.calls,
            flags=tuple(summary.flags),
        )

    def _count(self, summary: Summary, entries: int) -> None:
        report = self.report
        report.sections += 1
        report.entries += entries
        report.calls += summary.calls
        report.tokens_in += summary.tokens_in
        report.tokens_out += summary.tokens_out
        report.cost_usd += summary.cost_usd
        for flag in summary.flags:
            name = flag.split(":", 1)[0]
            report.flags[name] = report.flags.get(name, 0) + 1

    @staticmethod
    def _sources(pairs: list[tuple[SourceWork, Item]]) -> tuple[SourceRef, ...]:
        grouped: dict[str, tuple[Source, list[Entry]]] = {}
        for work, item in pairs:
            grouped.setdefault(work.source.key, (work.source, []))[1].append(item.entry)
        refs = []
        for source, entries in grouped.values():
            ordered = sorted(entries, key=lambda e: e.position)
            refs.append(
                SourceRef(
                    agent=source.agent,
                    session_id=source.session_id,
                    path=ordered[0].source or source.rel_path,
                    container=source.container,
                    entries=len(ordered),
                    first_entry=ordered[0].entry_id,
                    last_entry=ordered[-1].entry_id,
                    sha256=_entry_hash(ordered),
                )
            )
        return tuple(sorted(refs, key=lambda r: (r.agent, r.session_id, r.path)))

    # --- output --------------------------------------------------------------------------
    def _write_day(self, day: str, new: list[SectionRecord]) -> tuple[str, str] | None:
        """Rebuild the day's file from its recorded sections plus `new`: (relative path,
        sha256), or None when the day has nothing to show (every section came out empty)."""
        sections = [s for s in records.sections_for_day(self.conn, day) + new if s.body]
        if not sections:
            return None
        path = self.settings.memory_dir / HOURLY_DIR / f"{day}.md"
        self._refuse_foreign(path, day)
        text = render_hourly_day(date.fromisoformat(day), sections)
        write_if_changed(path, text)
        return f"memory/{HOURLY_DIR}/{day}.md", sha256_text(text)

    def _refuse_foreign(self, path: Path, day: str) -> None:
        """infra never rewrites a file it did not create."""
        if not path.exists() or records.known_file(self.conn, day):
            return
        try:
            head = path.read_text(encoding="utf-8", errors="replace")[:4096]
        except OSError as exc:
            raise CantCreateError(f"{path}: cannot read ({exc.strerror})") from exc
        if f"generated_by: {GENERATOR}" not in head:
            raise CantCreateError(
                f"{path} exists and was not written by infra; it is left untouched",
                hint="move it aside so infra can write its hourly notes there",
            )

    def _set_cursors(self, works: list[SourceWork]) -> None:
        for work in works:
            target = work.target_cursor()
            if target is not None and target != work.stored:
                self.cursors.set(work.source.key, target)
                work.stored = target

    def _advance_idle(self, works: list[SourceWork]) -> None:
        """Transcripts with only noise or only covered entries: move past what was read."""
        if any(w.target_cursor() not in (None, w.stored) for w in works):
            with transaction(self.conn):
                self._set_cursors(works)

    def _index_pending(self) -> None:
        pending = records.files_to_index(self.conn)
        if not pending:
            return
        from openclaw_infra.memory.indexer import index_files  # loads the embedder: late

        index_files(self.settings, [self.settings.workspace / rel for _, rel, _ in pending])
        with transaction(self.conn):
            for day, _, sha in pending:
                records.mark_indexed(self.conn, day, sha)
        self.report.indexed += len(pending)
