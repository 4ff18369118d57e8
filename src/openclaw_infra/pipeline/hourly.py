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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import structlog

from openclaw_infra.core import outputs
from openclaw_infra.core.config import Settings
from openclaw_infra.core.db import transaction
from openclaw_infra.core.errors import InfraError
from openclaw_infra.core.fsio import sha256_text, write_if_changed
from openclaw_infra.core.layout import HOURLY_DIR, output_rel
from openclaw_infra.llm.mapreduce import Passage
from openclaw_infra.memory.embedder import Embedder
from openclaw_infra.openclaw.batch import Batch, Source
from openclaw_infra.openclaw.cursors import Cursor, CursorStore
from openclaw_infra.openclaw.entries import Entry
from openclaw_infra.openclaw.reader import read_conversations
from openclaw_infra.pipeline import records
from openclaw_infra.pipeline.bullets import Bullet, parse_bullets, render_bullet
from openclaw_infra.pipeline.extractive import EXTRACTIVE_VERSION, summarize_extractive
from openclaw_infra.pipeline.hours import Hour, owed_hours, place
from openclaw_infra.pipeline.outputs import index_pending
from openclaw_infra.pipeline.prompts import HOURLY
from openclaw_infra.pipeline.records import SectionRecord, SourceRef
from openclaw_infra.pipeline.render import render_hourly_day
from openclaw_infra.pipeline.run import Owed, PeriodRun, run_ledgered
from openclaw_infra.pipeline.summarizer import Summarizer, Summary, SummaryKind

log = structlog.get_logger("infra.summarize")

CONSUMER = JOB = "summarize"


def _extract(passages: Sequence[Passage], day: date) -> list[Bullet]:
    return summarize_extractive(passages)


HOURLY_NOTES = SummaryKind(
    prompts=HOURLY,
    parse=parse_bullets,
    extract=_extract,
    extractive_version=EXTRACTIVE_VERSION,
    dropped_flag="uncited_bullets_dropped",
)


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


class HourlyRun(PeriodRun[Hour, "SummarizeReport"]):
    """One `summarize` run over an open infra.sqlite connection."""

    oldest_key = "oldest_owed_hour"

    def __init__(
        self,
        settings: Settings,
        conn: sqlite3.Connection,
        summarizer: Summarizer[Bullet],
        *,
        embedder: Callable[[], Embedder],
        now: datetime | None = None,
        max_hours: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(settings, conn, summarizer, embedder=embedder, now=now, details=details)
        self.cursors = CursorStore(conn, CONSUMER)
        self.cap = max_hours or settings.summarize_max_hours_per_run
        self.report = SummarizeReport(mode=summarizer.name)
        self.errors: list[InfraError] = []
        self.works: list[SourceWork] = []

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
        agent, session = source.agent, source.session_id
        covered = records.covered_entries(self.conn, agent, session, [e.entry_id for e in entries])
        identities = [records.content_identity(e) for e in entries]
        same = records.covered_contents(self.conn, agent, session, identities)
        # a rewrite of a transcript covered before content identities: see records
        legacy = records.legacy_last_hour(self.conn, agent, session) if batch.rewritten else None
        placement = place(
            [e.timestamp for e in entries], now=self.now, fallback=_mtime(source.path, self.now)
        )
        for name, count in (("undated", placement.undated), ("future", placement.future)):
            if count:
                self.report.flags[name] = self.report.flags.get(name, 0) + count
        items = []
        for (entry, cursor), at, identity in zip(
            batch.items, placement.times, identities, strict=True
        ):
            key = (entry.agent, entry.session_id, entry.entry_id)
            hour = Hour.of(at, self.tz)
            done = (
                entry.entry_id in covered
                or identity in same  # the same turn under a new id
                or (legacy is not None and hour.key() <= legacy)
                or key in seen  # a duplicate id is read once
            )
            seen.add(key)
            items.append(Item(entry, cursor, at, hour, done))
        return SourceWork(source, batch, items, stored)

    # --- the run's periods: hours ------------------------------------------------------
    def owed(self) -> Owed[Hour]:
        self.works = self.read()
        owed = owed_hours(
            (i.hour for w in self.works for i in w.items if not i.done),
            now=self.now,
            tz=self.tz,
            cap=self.cap,
        )
        self.report.pending = len(owed.pending)
        return Owed(owed.due, owed.deferred)

    def key(self, period: Hour) -> str:
        return period.key()

    def do(self, period: Hour) -> None:
        self._do_hour(period, self.works)

    def after_periods(self) -> None:
        self._advance_idle(self.works)

    def index(self) -> int:
        return index_pending(self.settings, self.conn, self.embedder)

    def kept_errors(self) -> list[InfraError]:
        return self.errors

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
                records.insert_section(self.conn, section, (i.entry for i in items))
            if written is not None:
                outputs.record_write(self.conn, written[0], outputs.HOURLY, written[1])
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
        day = hour.day(self.tz)
        summary = self.summarizer.summarize(
            passages, f"{label} on {day.isoformat()}, agent {agent}", day
        )
        self._count(summary, len(entries))
        cost = summary.cost
        body = "\n".join(
            render_bullet(b, [entries[ref - 1].citation for ref in b.refs]) for b in summary.items
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
            tokens_in=cost.tokens_in,
            tokens_out=cost.tokens_out,
            cost_usd=cost.cost_usd,
            llm_calls=cost.calls,
            flags=tuple(summary.flags),
        )

    def _count(self, summary: Summary[Bullet], entries: int) -> None:
        report, cost = self.report, summary.cost
        report.sections += 1
        report.entries += entries
        report.calls += cost.calls
        report.tokens_in += cost.tokens_in
        report.tokens_out += cost.tokens_out
        report.cost_usd += cost.cost_usd
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
        rel = output_rel(HOURLY_DIR, f"{day}.md")
        outputs.refuse_foreign(self.conn, self.settings.workspace, rel, "hourly notes")
        text = render_hourly_day(date.fromisoformat(day), sections)
        write_if_changed(self.settings.workspace / rel, text)
        return rel, sha256_text(text)

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


def summarize_job(
    settings: Settings,
    summarizer: Summarizer[Bullet],
    *,
    embedder: Callable[[], Embedder],
    max_hours: int | None = None,
    now: datetime | None = None,
) -> SummarizeReport:
    """Run `summarize` once, locked and ledgered: exit 75 when the API stays unavailable
    (the hour stays owed) or another run holds the lock."""
    return run_ledgered(
        settings,
        JOB,
        summarizer,
        lambda conn, details: HourlyRun(
            settings,
            conn,
            summarizer,
            embedder=embedder,
            now=now,
            max_hours=max_hours,
            details=details,
        ),
        lambda report: report.sections,
    )
