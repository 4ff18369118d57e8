"""`infra weekly-synthesis`: each owed ISO week → `memory/weekly/YYYY-Www.md`.

The run, step by step:
1. Owed weeks come from the watermark (the last week done): every ISO week after it whose
   Sunday sync time (22:00, from the job registry) has passed, oldest first. A week waits
   (exit 0, reported) until daily-sync has done its Sunday, so no day is left out.
2. Per week: read its dailies (each bullet a passage citing `memory/daily/D.md#Ln`; the
   carried-forward copies of open items are left out, they are the same item every day).
   No daily: record the week done, write nothing. Otherwise the writer drafts, critiques
   and refines (weekly_passes.py); the grounding check keeps only bullets whose cited daily
   lines exist and support them, and counts the rest; the action items still open at the
   end of the week are carried forward into the file. Write it atomically, then commit the
   week and the watermark in one transaction (a failure before leaves the week owed).
3. Written files are indexed into the memory store.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import structlog

from openclaw_infra.core import outputs
from openclaw_infra.core.config import Settings
from openclaw_infra.core.db import transaction
from openclaw_infra.core.fsio import sha256_file, sha256_text, write_if_changed
from openclaw_infra.core.layout import WEEKLY_DIR, output_rel
from openclaw_infra.core.ledger import get_watermark, set_watermark
from openclaw_infra.llm.mapreduce import Passage
from openclaw_infra.memory.embedder import Embedder
from openclaw_infra.pipeline import digest_records
from openclaw_infra.pipeline.daily.inputs import split_links
from openclaw_infra.pipeline.daily.render import HEADINGS
from openclaw_infra.pipeline.digest_records import TrackedItem, WeekRecord
from openclaw_infra.pipeline.items import FLAGGED, OPEN, Item
from openclaw_infra.pipeline.outputs import index_pending
from openclaw_infra.pipeline.periods import (
    DAILY_JOB,
    WEEKLY_JOB,
    IsoWeek,
    owed_weeks,
    sync_time,
)
from openclaw_infra.pipeline.run import Owed, PeriodRun, run_ledgered
from openclaw_infra.pipeline.summarizer import Summarizer
from openclaw_infra.pipeline.weekly.grounding import Grounder
from openclaw_infra.pipeline.weekly.render import WeekView, render_weekly

log = structlog.get_logger("infra.weekly")

WATERMARK = "week"
SECTION_OF = {heading: key for key, heading in HEADINGS.items()}
_ID = re.compile(r"^`([AP]-[0-9a-f]{6}(?:-\d{1,4})?)` ")
CARRIED = " · carried from "


@dataclass(frozen=True)
class DailyLine:
    """One bullet of a daily digest, as the weekly passes see it."""

    day: str
    section: str
    text: str
    link: str  # memory/daily/D.md#Ln
    item_id: str | None
    carried: bool  # an open item repeated from an earlier day


def read_daily(rel: str, text: str, day: str) -> list[DailyLine]:
    section = ""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("## "):
            section = SECTION_OF.get(line[3:].strip(), line[3:].strip().lower())
            continue
        if not line.startswith("- ") or not section:
            continue
        body, _ = split_links(line)
        match = _ID.match(body)
        out.append(
            DailyLine(
                day,
                section,
                body[match.end() :] if match else body,
                f"{rel}#L{number}",
                match.group(1) if match else None,
                CARRIED in body,
            )
        )
    return out


@dataclass
class WeeklyReport:
    mode: str
    weeks: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    empty_weeks: int = 0
    waiting: list[str] = field(default_factory=list)  # ready, but their dailies are not done
    owed_left: int = 0
    kept: int = 0
    dropped: int = 0
    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    indexed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "summarizer": self.mode,
            "weeks": self.weeks,
            "files": self.files,
            "empty_weeks": self.empty_weeks,
            "waiting_for_daily": self.waiting,
            "owed_weeks": self.owed_left,
            "kept_claims": self.kept,
            "dropped_claims": self.dropped,
            "llm_calls": self.calls,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cost_usd": round(self.cost_usd, 6),
            "indexed_files": self.indexed,
        }


class WeeklyRun(PeriodRun[IsoWeek, WeeklyReport]):
    """One `weekly-synthesis` run over an open infra.sqlite connection."""

    oldest_key = "oldest_owed_week"

    def __init__(
        self,
        settings: Settings,
        conn: sqlite3.Connection,
        summarizer: Summarizer[Item],
        *,
        embedder: Callable[[], Embedder],
        now: datetime | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(settings, conn, summarizer, embedder=embedder, now=now, details=details)
        self.report = WeeklyReport(mode=summarizer.name)

    # --- the run's periods: ISO weeks ------------------------------------------------------
    def owed(self) -> Owed[IsoWeek]:
        last = get_watermark(self.conn, WEEKLY_JOB, WATERMARK)
        daily_last = get_watermark(self.conn, DAILY_JOB, "day")
        first_day = digest_records.first_day(self.conn)
        owed = owed_weeks(
            IsoWeek.parse(last) if last else None,
            IsoWeek.of(date.fromisoformat(first_day)) if first_day else None,
            daily_done_through=date.fromisoformat(daily_last) if daily_last else None,
            now=self.now,
            tz=self.tz,
            at=sync_time(WEEKLY_JOB),
        )
        self.report.waiting = [w.key() for w in owed.waiting]
        return Owed(owed.due)

    def key(self, period: IsoWeek) -> str:
        return period.key()

    def do(self, period: IsoWeek) -> None:
        self._do_week(period)

    def index(self) -> int:
        return index_pending(self.settings, self.conn, self.embedder)

    def _do_week(self, week: IsoWeek) -> None:
        days = digest_records.written_days(
            self.conn, week.monday.isoformat(), week.sunday.isoformat()
        )
        lines: list[DailyLine] = []
        sources: list[dict[str, Any]] = []
        for day, rel in days:
            path = self.settings.workspace / rel
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except FileNotFoundError:
                log.warning("weekly.daily_missing", path=rel)
                continue
            lines.extend(read_daily(rel, text, day))
            sources.append({"path": rel, "day": day, "sha256": sha256_file(path)})
        # flagged lines (instructions to the assistant) are quoted in the daily, never input
        inputs = [line for line in lines if not line.carried and line.section != FLAGGED]
        if not inputs:
            with transaction(self.conn):
                digest_records.record_week(self.conn, WeekRecord(week.key(), None, None))
                set_watermark(self.conn, WEEKLY_JOB, WATERMARK, week.key())
            self.report.weeks.append(week.key())
            self.report.empty_weeks += 1
            log.info("weekly.week", week=week.key(), written=False)
            return
        passages = [
            Passage(ref, line.text, {"day": line.day, "section": line.section})
            for ref, line in enumerate(inputs, 1)
        ]
        context = f"ISO week {week.key()}, {week.monday.isoformat()} to {week.sunday.isoformat()}"
        draft = self.summarizer.summarize(passages, context, week.monday)
        view = WeekView(week, self.tz.key, draft, sources=sources)
        grounder = Grounder(self.settings.workspace, self.embed)
        for item in draft.items:
            links = list(dict.fromkeys(inputs[ref - 1].link for ref in item.refs))
            verdict = grounder.check(item.text, links)
            if verdict.supported:
                view.kept.append((item, links))
            else:
                view.dropped[verdict.reason] = view.dropped.get(verdict.reason, 0) + 1
                log.info("weekly.claim_dropped", week=week.key(), reason=verdict.reason)
        view.open_items = self._open_items(week, lines)
        text = render_weekly(view)
        rel = output_rel(WEEKLY_DIR, f"{week.key()}.md")
        path = self.settings.workspace / rel
        outputs.refuse_foreign(self.conn, self.settings.workspace, rel, "weekly synthesis")
        write_if_changed(path, text)
        sha = sha256_text(text)
        record = WeekRecord(
            week.key(),
            rel,
            sha,
            draft.summarizer,
            draft.model,
            draft.prompt_version,
            [p.as_dict() for p in draft.passes],
            len(view.kept),
            view.dropped_total,
        )
        record.cost.add(draft.cost)
        with transaction(self.conn):
            outputs.record_write(self.conn, rel, outputs.WEEKLY, sha)
            digest_records.record_week(self.conn, record)
            set_watermark(self.conn, WEEKLY_JOB, WATERMARK, week.key())
        self._count(week, rel, record)
        log.info("weekly.week", week=week.key(), kept=record.kept, dropped=record.dropped)

    def _open_items(
        self, week: IsoWeek, lines: list[DailyLine]
    ) -> list[tuple[TrackedItem, list[str]]]:
        """Action items open at the end of the week (closed later counts as open then),
        each linked to its last mention in the week's dailies."""
        sunday = week.sunday.isoformat()
        last_mention = {line.item_id: line.link for line in lines if line.item_id}
        out = []
        for item in digest_records.load_items(self.conn):
            if item.kind != "action" or item.first_day > sunday:
                continue
            if item.status != OPEN and (item.closed_day or "") <= sunday:
                continue
            as_then = replace(item, status=OPEN, closed_day=None, closed_link=None)
            link = last_mention.get(item.id)
            out.append((as_then, [link] if link else item.sources[-1:]))
        return sorted(out, key=lambda pair: (pair[0].due or "9999", pair[0].first_day, pair[0].id))

    def _count(self, week: IsoWeek, rel: str, record: WeekRecord) -> None:
        report = self.report
        report.weeks.append(week.key())
        report.files.append(rel)
        report.kept += record.kept
        report.dropped += record.dropped
        report.calls += record.cost.calls
        report.tokens_in += record.cost.tokens_in
        report.tokens_out += record.cost.tokens_out
        report.cost_usd += record.cost.cost_usd


def weekly_synthesis_job(
    settings: Settings,
    summarizer: Summarizer[Item],
    *,
    embedder: Callable[[], Embedder],
    now: datetime | None = None,
) -> WeeklyReport:
    """Run `weekly-synthesis` once, locked and ledgered (exit codes as for daily-sync)."""
    return run_ledgered(
        settings,
        WEEKLY_JOB,
        summarizer,
        lambda conn, details: WeeklyRun(
            settings, conn, summarizer, embedder=embedder, now=now, details=details
        ),
        lambda report: len(report.files),
    )
