"""What a context pack and the signal detector draw on: infra's own memory, as cited notes.

- open action items and priorities (`tracked_items`, kept by daily-sync);
- decisions of the last days (the Decisions section of `memory/daily/D.md`);
- the latest lessons (bullets of `memory/lessons/MEMORY.md`, kept by the lessons job).

Every note carries the citation a reader can open, and the agents it came from (the agents of
the sessions its provenance links name), which is what tells one agent's items from
another's. Text that reads as an instruction to the assistant is left out: a pack is a set of
notes, never orders.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from openclaw_infra.core.config import Settings
from openclaw_infra.core.layout import DAILY_DIR, LESSONS_FILE, MEMORY_DIR, PRIORITIES_REL
from openclaw_infra.pipeline.daily.inputs import split_links
from openclaw_infra.pipeline.daily.render import HEADINGS
from openclaw_infra.pipeline.digest_records import load_items
from openclaw_infra.pipeline.injection import looks_like_instruction
from openclaw_infra.pipeline.items import ACTION, OPEN

ITEM, DECISION, LESSON, RECALL = "item", "decision", "lesson", "recall"
MAX_NOTE_CHARS = 400
DECISIONS_HEADING = f"## {HEADINGS['decision']}"  # as daily-sync writes it


@dataclass(frozen=True)
class Note:
    """One line of a pack: its section, text, citation, and the agents it belongs to."""

    section: str
    text: str
    citation: str
    key: str  # stable identity: the item id, or the citation
    agents: frozenset[str] = frozenset()


def _clean(text: str) -> str:
    return " ".join(text.split())[:MAX_NOTE_CHARS]


def _agents(links: Iterable[str], owners: Mapping[str, str]) -> frozenset[str]:
    """The agents of the sessions that `session#entry` links name."""
    return frozenset(a for link in links if (a := owners.get(link.split("#", 1)[0])))


def open_items(conn: sqlite3.Connection, owners: Mapping[str, str]) -> list[Note]:
    """Open action items first (earliest due first), then open priorities."""
    items = [i for i in load_items(conn) if i.status == OPEN and not looks_like_instruction(i.text)]
    items.sort(key=lambda i: (i.kind != ACTION, i.due or "9999", i.first_day, i.id))
    notes = []
    for item in items:
        detail = []
        if item.owner:
            detail.append(f"owner {item.owner}")
        if item.due:
            detail.append(f"due {item.due}")
        label = "action" if item.kind == ACTION else "priority"
        text = f"{item.id} ({label}{', ' + ', '.join(detail) if detail else ''}): {item.text}"
        citation = item.daily_ref or (item.sources[-1] if item.sources else PRIORITIES_REL)
        notes.append(Note(ITEM, _clean(text), citation, item.id, _agents(item.sources, owners)))
    return notes


def _section_lines(path: Path, heading: str) -> list[tuple[int, str]]:
    """(1-based line, text) of the bullets under `heading` in a Markdown file."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    out: list[tuple[int, str]] = []
    inside = False
    for number, line in enumerate(lines, 1):
        if line.startswith("## "):
            inside = line.strip() == heading
            continue
        if inside and line.startswith("- "):
            out.append((number, line))
    return out


def decisions(settings: Settings, today: date, owners: Mapping[str, str]) -> list[Note]:
    """Decisions of the last `context_decision_days` days, newest day first."""
    notes = []
    for back in range(settings.context_decision_days):
        day = (today - timedelta(days=back)).isoformat()
        rel = f"{MEMORY_DIR}/{DAILY_DIR}/{day}.md"
        for number, line in _section_lines(settings.daily_dir / f"{day}.md", DECISIONS_HEADING):
            text, links = split_links(line)
            if not text or looks_like_instruction(text):
                continue
            citation = f"{rel}#L{number}"
            notes.append(Note(DECISION, _clean(text), citation, citation, _agents(links, owners)))
    return notes


def lessons(settings: Settings) -> list[Note]:
    """The newest `context_lessons` bullets of the lessons file (memory/lessons/MEMORY.md,
    which the lessons job writes newest first)."""
    if settings.context_lessons == 0:
        return []
    try:
        lines = settings.lessons_path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    rel = f"{MEMORY_DIR}/{LESSONS_FILE}"
    bullets = [
        (number, line[2:].strip())
        for number, line in enumerate(lines, 1)
        if line.startswith("- ") and line[2:].strip()
    ]
    notes = [
        Note(LESSON, _clean(text), f"{rel}#L{number}", f"{rel}#L{number}")
        for number, text in bullets
        if not looks_like_instruction(text)
    ]
    return notes[: settings.context_lessons]
