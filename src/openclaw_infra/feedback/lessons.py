"""`infra lessons`: bad and fix feedback turned into memory/lessons/MEMORY.md, incrementally.

Each run reads only the feedback recorded since its watermark (the highest feedback id it
has taken in), merges it into one lesson per target in `feedback_lessons` (counts, the
user's notes deduplicated, where the target was written), and renders every lesson into
the file, newest first, within the size budget. The lessons, the file's record and the
watermark commit in one transaction after the file is written: a run that dies before
that leaves the watermark where it was and the next run does the same merge again, so
nothing is counted twice; a run with nothing new writes the same bytes (none at all).

What it needs from layers above is passed in: the LLM client when a key is set (else the
extractive form), the screen for instruction-like notes, and the index step.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

import structlog

from openclaw_infra.core import outputs
from openclaw_infra.core.config import Settings
from openclaw_infra.core.db import transaction
from openclaw_infra.core.fsio import sha256_text, write_if_changed
from openclaw_infra.core.jobs import run_job
from openclaw_infra.core.ledger import get_watermark, set_watermark
from openclaw_infra.feedback import store, targets
from openclaw_infra.feedback.lesson_text import Lesson, Note, llm_wording, render
from openclaw_infra.feedback.records import BAD, LESSON_VERDICTS, FeedbackRecord
from openclaw_infra.llm.client import LLM, Pricing, UsageMeter

log = structlog.get_logger("infra.lessons")

JOB = "lessons"
WATERMARK = "feedback_id"
KIND = "lessons"  # its kind in core.outputs' owned_files
BATCH = 1000
Describe = Callable[[str], tuple[str | None, str | None]]
_FOLD = re.compile(r"[\W_]+")


@dataclass
class LessonsReport:
    new_feedback: int = 0  # bad and fix records taken in by this run
    lessons: int = 0
    changed: int = 0
    shown: int = 0
    written: bool = False
    path: str = ""
    mode: str = "extractive"
    indexed: int = 0

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


# --- the lessons table --------------------------------------------------------------------
def load_lessons(conn: sqlite3.Connection) -> dict[str, Lesson]:
    lessons = {}
    for row in conn.execute(
        "SELECT target, said, links_json, notes_json, wording, bad, fix, first_at, last_at "
        "FROM feedback_lessons"
    ):
        notes = [Note(**n) for n in json.loads(row[3])]
        lessons[str(row[0])] = Lesson(
            str(row[0]),
            row[1],
            list(json.loads(row[2])),
            notes,
            row[4],
            int(row[5]),
            int(row[6]),
            float(row[7]),
            float(row[8]),
        )
    return lessons


def save_lessons(conn: sqlite3.Connection, lessons: Iterable[Lesson]) -> None:
    """Inside the caller's transaction."""
    for les in lessons:
        conn.execute(
            "INSERT INTO feedback_lessons(target, said, links_json, notes_json, wording, bad, "
            "fix, first_at, last_at) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(target) DO UPDATE "
            "SET said=excluded.said, links_json=excluded.links_json, "
            "notes_json=excluded.notes_json, wording=excluded.wording, bad=excluded.bad, "
            "fix=excluded.fix, first_at=excluded.first_at, last_at=excluded.last_at",
            (
                les.target,
                les.said,
                json.dumps(les.links),
                json.dumps([asdict(n) for n in les.notes]),
                les.wording,
                les.bad,
                les.fix,
                les.first_at,
                les.last_at,
            ),
        )


# --- merging new feedback -------------------------------------------------------------------
def _folded(text: str) -> str:
    """What makes two notes the same note: case, spacing and punctuation do not count."""
    return _FOLD.sub(" ", text.casefold()).strip()


def merge(
    lessons: dict[str, Lesson],
    records: Iterable[FeedbackRecord],
    *,
    describe: Describe,
    screen: Callable[[str], bool],
) -> set[str]:
    """Fold `records` (oldest first) into `lessons`; the targets whose lesson changed."""
    changed: set[str] = set()
    for rec in records:
        lesson = lessons.get(rec.target)
        if lesson is None:
            said, where = describe(rec.target)
            links = [rec.target] + ([where] if where else [])
            lesson = Lesson(rec.target, said, links, first_at=rec.created_at)
            lessons[rec.target] = lesson
        if rec.verdict == BAD:
            lesson.bad += 1
        else:
            lesson.fix += 1
        lesson.last_at = max(lesson.last_at, rec.created_at)
        lesson.first_at = min(lesson.first_at, rec.created_at)
        if rec.note:
            key = _folded(rec.note)
            same = next((n for n in lesson.notes if _folded(n.text) == key), None)
            if same is None:
                lesson.notes.append(Note(rec.note, 1, rec.created_at, screen(rec.note)))
            else:
                same.count += 1
                same.last_at = max(same.last_at, rec.created_at)
        changed.add(rec.target)
    return changed


def _new_records(conn: sqlite3.Connection, after: int, upto: int) -> list[FeedbackRecord]:
    found: list[FeedbackRecord] = []
    while True:
        batch = [
            r for r in store.records_after(conn, after, LESSON_VERDICTS, BATCH) if r.id <= upto
        ]
        found.extend(batch)
        if len(batch) < BATCH:
            return found
        after = batch[-1].id


# --- one run ---------------------------------------------------------------------------------
def update_lessons(
    settings: Settings,
    conn: sqlite3.Connection,
    *,
    screen: Callable[[str], bool],
    llm: LLM | None = None,
    llm_mode: str = "anthropic",
    describe: Describe | None = None,
) -> LessonsReport:
    """Take in the feedback since the watermark and rewrite memory/lessons/MEMORY.md when it
    changed. CantCreateError (73) when a lessons file that infra did not write is there."""
    rel = settings.lessons_path.relative_to(settings.workspace).as_posix()
    report = LessonsReport(path=rel, mode=llm_mode if llm is not None else "extractive")
    after = int(get_watermark(conn, JOB, WATERMARK) or 0)
    upto = store.last_id(conn)
    records = _new_records(conn, after, upto) if upto > after else []
    lessons = load_lessons(conn)
    changed = merge(
        lessons,
        records,
        describe=describe or (lambda t: targets.describe(settings, t)),
        screen=screen,
    )
    if llm is not None:
        for target in sorted(changed):
            lessons[target].wording = llm_wording(llm, lessons[target], screen)
    report.new_feedback, report.lessons, report.changed = len(records), len(lessons), len(changed)
    sha: str | None = None  # no lesson yet: no file (the agent reads it every turn)
    if lessons:
        text, report.shown = render(list(lessons.values()), settings.lessons_max_chars)
        outputs.refuse_foreign(conn, settings.workspace, rel, "lessons")
        report.written = write_if_changed(settings.lessons_path, text)
        sha = sha256_text(text)
        state = outputs.file_state(conn, rel)
        if state is not None and state.sha256 == sha:
            sha = None  # recorded already
    with transaction(conn):
        save_lessons(conn, (lessons[t] for t in sorted(changed)))
        if sha is not None:
            outputs.record_write(conn, rel, KIND, sha)
        if upto > after:
            set_watermark(conn, JOB, WATERMARK, str(upto))
    log.info("lessons.update", **report.as_dict())
    return report


def lessons_job(
    settings: Settings,
    *,
    screen: Callable[[str], bool],
    llm: LLM | None = None,
    llm_mode: str = "anthropic",
    meter: UsageMeter | None = None,
    pricing: Pricing | None = None,
    index: Callable[[sqlite3.Connection], int] | None = None,
    describe: Describe | None = None,
) -> LessonsReport:
    """One locked, ledgered run (exit 75 when another holds the lock or the API stays
    down; the feedback then stays owed), then `index` makes the file recallable."""
    started = time.monotonic()
    with run_job(settings, JOB) as job:
        try:
            report = update_lessons(
                settings, job.conn, screen=screen, llm=llm, llm_mode=llm_mode, describe=describe
            )
            job.run.items = report.new_feedback
            if index is not None:
                report.indexed = index(job.conn)
            job.run.details.update(report.as_dict())
        finally:
            if meter is not None:
                job.run.tokens_in, job.run.tokens_out = meter.tokens_in, meter.tokens_out
                if pricing is not None:
                    job.run.cost_usd = pricing.cost(meter.tokens_in, meter.tokens_out)
            job.run.details["took_s"] = round(time.monotonic() - started, 3)
    return report
