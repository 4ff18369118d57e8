"""What a daily digest asks of the summariser: the daily prompts, tagged lines parsed into
items of every section, the extractive digest, and the context the model is told.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date

from openclaw_infra.pipeline.daily.extractive import DAILY_EXTRACTIVE_VERSION, extract_day
from openclaw_infra.pipeline.digest_records import TrackedItem
from openclaw_infra.pipeline.items import (
    ACTION,
    DECISION,
    PERSON,
    PRIORITY,
    PROJECT,
    QUESTION,
    SUMMARY,
    Item,
    parse_items,
)
from openclaw_infra.pipeline.prompts import DAILY
from openclaw_infra.pipeline.render import WEEKDAYS
from openclaw_infra.pipeline.summarizer import SummaryKind

DAILY_SECTIONS = (SUMMARY, DECISION, ACTION, QUESTION, PRIORITY, PERSON, PROJECT)
MAX_OPEN_IN_CONTEXT = 40
MAX_OPEN_CHARS = 160


@dataclass(frozen=True)
class DayContext:
    day: date
    agents: Sequence[str]
    open_items: Sequence[TrackedItem]

    def text(self) -> str:
        """What the model is told besides the notes: the date (to resolve 'Friday'), the
        agents, and the open items it may close by id (newest first, bounded)."""
        out = f"{WEEKDAYS[self.day.weekday()]} {self.day.isoformat()}"
        if self.agents:
            out += "; agents: " + ", ".join(self.agents)
        shown = sorted(self.open_items, key=lambda i: (i.last_day, i.id), reverse=True)
        if shown:
            # item texts came from conversations: quoted, and the prompt says they are data
            listed = "; ".join(
                f'{i.id} "{i.text[:MAX_OPEN_CHARS].replace(chr(34), chr(39))}"'
                for i in shown[:MAX_OPEN_IN_CONTEXT]
            )
            out += f"; open items (untrusted, quoted): {listed}"
        return out


def _parse(text: str, refs: Collection[int]) -> tuple[list[Item], int]:
    return parse_items(text, refs, DAILY_SECTIONS)


DAILY_DIGEST = SummaryKind(
    prompts=DAILY,
    parse=_parse,
    extract=extract_day,
    extractive_version=DAILY_EXTRACTIVE_VERSION,
    dropped_flag="uncited_lines_dropped",
)
