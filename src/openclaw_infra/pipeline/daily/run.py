"""`infra daily-sync`: each owed day → `memory/daily/YYYY-MM-DD.md` and `memory/priorities.md`.

The run, step by step:
1. Owed days come from the watermark (the last day done) in the user's timezone: every day
   after it whose sync time (21:00, from the job registry) has passed, oldest first. A first
   run starts at the oldest day with input.
2. Per day: gather its unused inputs (daily_inputs.py). No input: record the day done, write
   nothing. Otherwise digest them (LLM or extractive), apply the action items and
   priorities to the tracker (priorities.py), render the daily, write it and
   priorities.md atomically, then commit the day record, the consumed inputs, the tracked
   items, the compaction cursors and the watermark in one transaction. A failure before
   that commit (LLM unavailable: exit 75) leaves the day owed; its rerun replaces any file
   the failed attempt wrote, so nothing is half-written or duplicated.
   Before digesting, the user's answers from the daily brief close open action items
   (priorities.Tracker.apply_feedback): the day's digest and priorities.md show them closed.
3. The newest written day's brief (brief.py), when enabled, is queued with its day and sent
   after the last day; a failed send is recorded and retried, never fails the run.
4. Written files are indexed into the memory store.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import structlog

from openclaw_infra.core import outputs
from openclaw_infra.core.config import Settings
from openclaw_infra.core.db import transaction
from openclaw_infra.core.errors import InfraError
from openclaw_infra.core.fsio import sha256_file, sha256_text, write_if_changed
from openclaw_infra.core.layout import DAILY_DIR, PRIORITIES_REL, output_rel
from openclaw_infra.core.ledger import get_watermark, set_watermark
from openclaw_infra.feedback.store import latest_verdicts
from openclaw_infra.llm.mapreduce import Passage
from openclaw_infra.memory.embedder import Embedder
from openclaw_infra.openclaw.cursors import CursorStore
from openclaw_infra.pipeline import digest_records
from openclaw_infra.pipeline.daily import brief as daily_brief
from openclaw_infra.pipeline.daily.digest import DayContext
from openclaw_infra.pipeline.daily.inputs import (
    COMPACTION,
    CONSUMER,
    HOURLY,
    VOICE,
    DayInputs,
    InputCollector,
    Note,
)
from openclaw_infra.pipeline.daily.priorities import Matcher, Tracker
from openclaw_infra.pipeline.daily.priorities_file import (
    PrioritiesWrite,
    render_priorities,
    write_priorities,
)
from openclaw_infra.pipeline.daily.render import DayView, render_daily
from openclaw_infra.pipeline.digest_records import DayRecord, TrackedItem
from openclaw_infra.pipeline.items import (
    ACTION,
    DECISION,
    FLAGGED,
    OPEN,
    PERSON,
    PRIORITY,
    PROJECT,
    QUESTION,
    SUMMARY,
    Item,
)
from openclaw_infra.pipeline.outputs import index_pending
from openclaw_infra.pipeline.periods import DAILY_JOB, owed_days, sync_time
from openclaw_infra.pipeline.run import Owed, PeriodRun, run_ledgered
from openclaw_infra.pipeline.summarizer import Summarizer, Summary

log = structlog.get_logger("infra.daily")

Links = Callable[[Item], list[str]]

WATERMARK = "day"
ROLE_OF = {HOURLY: "note", COMPACTION: "compaction", VOICE: "voice"}
INPUT_NAMES = {HOURLY: "hourly_sections", COMPACTION: "compaction_summaries", VOICE: "voice_notes"}
LABELS = {
    SUMMARY: "Topic",
    DECISION: "Decision",
    QUESTION: "Question",
    PERSON: "Person",
    PROJECT: "Project",
    ACTION: "Action item",
    PRIORITY: "Priority",
}


@dataclass
class DailyReport:
    mode: str
    days: list[str] = field(default_factory=list)  # every day done by this run
    files: list[str] = field(default_factory=list)
    empty_days: int = 0
    owed_left: int = 0
    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    items: dict[str, int] = field(default_factory=dict)
    priorities: str = "untouched"  # written | conflict | untouched
    indexed: int = 0
    flags: dict[str, int] = field(default_factory=dict)
    answered: int = 0  # open action items closed by the user's answers from the brief
    brief: daily_brief.Delivery = field(default_factory=lambda: daily_brief.Delivery("off"))

    def as_dict(self) -> dict[str, Any]:
        return {
            "summarizer": self.mode,
            "days": self.days,
            "files": self.files,
            "empty_days": self.empty_days,
            "owed_days": self.owed_left,
            "llm_calls": self.calls,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cost_usd": round(self.cost_usd, 6),
            "items": dict(sorted(self.items.items())),
            "priorities": self.priorities,
            "indexed_files": self.indexed,
            "flags": dict(sorted(self.flags.items())),
            "answered_items": self.answered,
            "brief": self.brief.as_dict(),
        }


class DailyRun(PeriodRun[date, DailyReport]):
    """One `daily-sync` run over an open infra.sqlite connection."""

    oldest_key = "oldest_owed_day"

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
        self.report = DailyReport(mode=summarizer.name)
        self.matcher = Matcher(self.embed)
        self.collector = InputCollector(settings, conn, self.now)
        self.tracker = Tracker(digest_records.load_items(conn), self.matcher)
        self.answered: list[TrackedItem] = []  # closed by the user, not yet in a digest

    # --- the run's periods: days -----------------------------------------------------------
    def owed(self) -> Owed[date]:
        last = get_watermark(self.conn, DAILY_JOB, WATERMARK)
        owed = owed_days(
            date.fromisoformat(last) if last else None,
            self.collector.first_input_day(),
            now=self.now,
            tz=self.tz,
            at=sync_time(DAILY_JOB),
        )
        return Owed(owed)

    def key(self, period: date) -> str:
        return period.isoformat()

    def do(self, period: date) -> None:
        self._do_day(period, self.collector, self.tracker)

    def index(self) -> int:
        return index_pending(self.settings, self.conn, self.embedder)

    def kept_errors(self) -> list[InfraError]:
        return self.collector.errors

    def after_periods(self) -> None:
        """Send the brief owed (this run's newest day, or one an earlier run failed to send)."""
        self.report.brief = daily_brief.deliver(self.settings, self.conn, now=self.now)
        self.details["brief"] = self.report.brief.as_dict()  # the ledger, for health

    def _apply_answers(self, day: date, tracker: Tracker) -> list[TrackedItem]:
        """The user's ✅ / ❌ on open action items, applied before the day is digested."""
        open_ids = [item.id for item in tracker.open_items(ACTION)]
        verdicts = latest_verdicts(self.conn, open_ids) if open_ids else {}
        closed = tracker.apply_feedback(day.isoformat(), verdicts)
        self.report.answered += len(closed)
        self.answered += closed
        return closed

    def _do_day(self, day: date, collector: InputCollector, tracker: Tracker) -> None:
        answered = self._apply_answers(day, tracker)
        inputs = collector.for_day(day)
        key = day.isoformat()
        if inputs.empty:
            priorities = None
            if answered:  # no digest today, but priorities.md shows the answers now
                priorities = write_priorities(
                    self.settings, self.conn, render_priorities(tracker.items, day)
                )
                self._count_priorities(priorities.conflict)
            self._commit(inputs, DayRecord(key, None, None), tracker, None, priorities)
            collector.committed(inputs)
            self.report.days.append(key)
            self.report.empty_days += 1
            log.info("daily.day", day=key, written=False)
            return
        passages = [
            Passage(
                ref,
                note.text,
                {
                    "role": ROLE_OF[note.kind],
                    "agent": note.agent or "voice",
                    "day": note.day,
                    "time": note.when,
                },
            )
            for ref, note in enumerate(inputs.notes, 1)
        ]
        context = DayContext(day, inputs.agents, tracker.open_items())
        digest = self.summarizer.summarize(passages, context.text(), day)
        view = self._view(day, inputs, digest, tracker)
        self.answered = []  # shown in this digest
        text, item_lines = render_daily(view)
        rel = output_rel(DAILY_DIR, f"{key}.md")
        outputs.refuse_foreign(self.conn, self.settings.workspace, rel, "daily digest")
        write_if_changed(self.settings.workspace / rel, text)
        by_id = {i.id: i for i in tracker.items}
        for item_id, line in item_lines.items():
            by_id[item_id].daily_ref = f"{rel}#L{line}"
        priorities = write_priorities(
            self.settings, self.conn, render_priorities(tracker.items, day)
        )
        record = DayRecord(
            key,
            rel,
            sha256_text(text),
            digest.summarizer,
            digest.model,
            digest.prompt_version,
            len(inputs.notes),
            view.counts(),
            digest.cost,
            tuple(sorted(digest.flags)),
        )
        brief, failed = daily_brief.prepare(self.settings, day, view, rel, now=self.now)
        self.report.brief = failed or self.report.brief
        self._commit(inputs, record, tracker, (rel, record.sha256 or ""), priorities, brief=brief)
        collector.committed(inputs)
        self._count(key, rel, view, digest, priorities.conflict)
        log.info("daily.day", day=key, written=True, items=view.counts())

    def _commit(
        self,
        inputs: DayInputs,
        record: DayRecord,
        tracker: Tracker,
        daily: tuple[str, str] | None,
        priorities: PrioritiesWrite | None,
        *,
        brief: daily_brief.Brief | None = None,
    ) -> None:
        cursors = CursorStore(self.conn, CONSUMER)
        with transaction(self.conn):
            if daily is not None:
                outputs.record_write(self.conn, daily[0], outputs.DAILY, daily[1])
            if priorities is not None and not priorities.conflict:
                outputs.record_write(
                    self.conn, PRIORITIES_REL, outputs.PRIORITIES, priorities.sha256
                )
            digest_records.save_items(self.conn, tracker.items)
            for kind, keys in inputs.used.items():
                digest_records.mark_used(self.conn, kind, sorted(keys), record.day)
            for source_key, cursor in inputs.cursors.items():
                cursors.set(source_key, cursor)
            digest_records.record_day(self.conn, record)
            set_watermark(self.conn, DAILY_JOB, WATERMARK, record.day)
            if brief is not None:
                daily_brief.queue(self.conn, brief)

    def _count(
        self, day: str, rel: str, view: DayView, digest: Summary[Item], conflict: bool
    ) -> None:
        report = self.report
        report.days.append(day)
        report.files.append(rel)
        report.calls += digest.cost.calls
        report.tokens_in += digest.cost.tokens_in
        report.tokens_out += digest.cost.tokens_out
        report.cost_usd += digest.cost.cost_usd
        for name, count in view.counts().items():
            report.items[name] = report.items.get(name, 0) + count
        for flag in digest.flags:
            name = flag.split(":", 1)[0]
            report.flags[name] = report.flags.get(name, 0) + 1
        self._count_priorities(conflict)

    def _count_priorities(self, conflict: bool) -> None:
        if conflict:
            self.report.priorities = "conflict"
        elif self.report.priorities != "conflict":
            self.report.priorities = "written"

    # --- the day's view --------------------------------------------------------------------
    def _view(
        self, day: date, inputs: DayInputs, digest: Summary[Item], tracker: Tracker
    ) -> DayView:
        notes = inputs.notes

        def links(item: Item) -> list[str]:
            return list(dict.fromkeys(link for ref in item.refs for link in notes[ref - 1].links))

        view = DayView(day, self.tz.key, digest, inputs.agents)
        for item in digest.items:
            pair = (item, links(item))
            if item.section == SUMMARY:
                view.summary.append(pair)
            elif item.section == DECISION:
                view.decisions.append(pair)
            elif item.section == QUESTION:
                view.questions.append(pair)
            elif item.section in (PERSON, PROJECT):
                view.people.append(pair)
            elif item.section == FLAGGED and pair not in view.flagged:
                view.flagged.append(pair)
        if view.flagged:
            digest.flags.append(f"instructions_flagged:{len(view.flagged)}")
        view.actions = self._tracked(
            day, ACTION, digest.items, links, tracker, answered=self.answered
        )
        view.priorities = self._tracked(day, PRIORITY, digest.items, links, tracker)
        followed = [i for i in digest.items if i.section != FLAGGED]
        view.cross = self._cross(notes, followed, links, inputs.agents)
        view.inputs = {INPUT_NAMES[kind]: len(keys) for kind, keys in inputs.used.items()}
        view.sources = self._sources(inputs)
        return view

    @staticmethod
    def _tracked(
        day: date,
        kind: str,
        items: list[Item],
        links: Links,
        tracker: Tracker,
        *,
        answered: Sequence[TrackedItem] = (),
    ) -> list[tuple[TrackedItem, list[str], str | None]]:
        """Today's mentions applied to the tracker, then the open items carried forward,
        then those the user closed from the brief since the last digest."""
        key = day.isoformat()
        rows: dict[str, tuple[TrackedItem, list[str], str | None]] = {}
        for mention in (i for i in items if i.section == kind):
            touched = tracker.update(key, mention, links(mention))
            note = "new" if touched.new else ("closed today" if touched.closed_today else None)
            if touched.item.id in rows:
                _, earlier, earlier_note = rows[touched.item.id]
                merged = list(dict.fromkeys(earlier + touched.links))
                rows[touched.item.id] = (touched.item, merged, earlier_note or note)
            else:
                rows[touched.item.id] = (touched.item, touched.links, note)
        for item in tracker.open_items(kind):
            if item.id not in rows:
                rows[item.id] = (item, item.sources[-2:], f"carried from {item.last_day}")
        for item in answered:
            if item.id not in rows and item.status != OPEN:
                rows[item.id] = (item, item.sources[-1:], "answered in the daily brief")
        return list(rows.values())

    def _cross(
        self, notes: list[Note], items: list[Item], links: Links, agents: list[str]
    ) -> list[tuple[str, list[str]]]:
        """Topics, people and decisions that more than one agent's conversations touched."""
        if len(agents) < 2:
            return []

        def agents_of(item: Item) -> set[str]:
            return {a for ref in item.refs if (a := notes[ref - 1].agent)}

        out: list[tuple[str, list[str]]] = []
        shown: set[int] = set()
        for index, item in enumerate(items):
            spread = sorted(agents_of(item))
            if len(spread) > 1:
                out.append(
                    (f"{LABELS[item.section]}: {item.text} ({', '.join(spread)})", links(item))
                )
                shown.add(index)
        # the same topic written once per agent: pairs of one section that mean the same
        for index, item in enumerate(items):
            if index in shown or item.section not in (SUMMARY, DECISION, QUESTION):
                continue
            mine = agents_of(item)
            for other_index in range(index + 1, len(items)):
                other = items[other_index]
                if other_index in shown or other.section != item.section:
                    continue
                theirs = agents_of(other)
                if (
                    mine
                    and theirs
                    and not mine & theirs
                    and self.matcher.same(item.text, other.text)
                ):
                    spread = sorted(mine | theirs)
                    out.append(
                        (
                            f"{LABELS[item.section]}: {item.text} ({', '.join(spread)})",
                            list(dict.fromkeys(links(item) + links(other))),
                        )
                    )
                    shown.update((index, other_index))
                    break
        # people and projects named in several agents' notes
        for item in items:
            if item.section not in (PERSON, PROJECT) or not item.name or len(item.name) < 3:
                continue
            if any(item.name in text for text, _ in out):
                continue
            per_agent: dict[str, str] = {}
            for note in notes:
                fresh = note.agent and note.agent not in per_agent and note.links
                if fresh and item.name in note.text:
                    per_agent[str(note.agent)] = note.links[0]
            if len(per_agent) > 1:
                spread = sorted(per_agent)
                out.append(
                    (
                        f"{LABELS[item.section]}: {item.name} ({', '.join(spread)})",
                        [per_agent[a] for a in spread],
                    )
                )
        return out

    def _sources(self, inputs: DayInputs) -> list[dict[str, Any]]:
        """Each input once, with a hash, so a reader can re-verify the digest's material."""
        out: list[dict[str, Any]] = []
        for rel, day in sorted(inputs.hourly_files.items()):
            path = self.settings.workspace / rel
            digest = sha256_file(path) if path.is_file() else None
            out.append({"kind": HOURLY, "path": rel, "day": day, "sha256": digest})
        for note in inputs.notes:
            if note.kind == COMPACTION:
                out.append(
                    {
                        "kind": COMPACTION,
                        "link": note.links[0],
                        "agent": note.agent,
                        "sha256": sha256_text(note.text),
                    }
                )
            elif note.kind == VOICE:
                rel = note.used_key
                path = self.settings.workspace / rel
                out.append(
                    {
                        "kind": VOICE,
                        "path": rel,
                        "sha256": sha256_file(path) if path.is_file() else None,
                    }
                )
        return out


def daily_sync_job(
    settings: Settings,
    summarizer: Summarizer[Item],
    *,
    embedder: Callable[[], Embedder],
    now: datetime | None = None,
) -> DailyReport:
    """Run `daily-sync` once, locked and ledgered: exit 75 when the API stays unavailable
    (that day stays owed) or another run holds the lock."""
    return run_ledgered(
        settings,
        DAILY_JOB,
        summarizer,
        lambda conn, details: DailyRun(
            settings, conn, summarizer, embedder=embedder, now=now, details=details
        ),
        lambda report: len(report.files),
    )
