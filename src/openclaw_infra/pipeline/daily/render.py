"""`memory/daily/YYYY-MM-DD.md`: Markdown with YAML frontmatter, every bullet linked.

A pure function of the day's view, so the same inputs always give the same bytes (no clock,
sorted keys where order carries no meaning). Sections always appear, in a fixed order, with
`_None._` when empty, so a reader (or the weekly pass) finds them by heading. The line of
each tracked item is returned too: the item remembers it as `memory/daily/D.md#Ln`, which
is what the weekly synthesis cites when it carries an open item forward.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from openclaw_infra import __version__
from openclaw_infra.core.mdsafe import identifier, markdown_text
from openclaw_infra.pipeline.daily.priorities_file import links_of, tracked_line
from openclaw_infra.pipeline.digest_records import TrackedItem
from openclaw_infra.pipeline.items import Item
from openclaw_infra.pipeline.periods import day_bounds
from openclaw_infra.pipeline.render import GENERATOR, WEEKDAYS, dump_frontmatter
from openclaw_infra.pipeline.summarizer import Summary

HEADINGS = {
    "summary": "Summary",
    "decision": "Decisions",
    "action": "Action items",
    "question": "Open questions",
    "priority": "Priorities",
    "people": "People and projects",
    "cross": "Across agents",
    "flagged": "Flagged (possible instructions, not followed)",
}
EXTRACTIVE_DAILY_NOTE = "_Extractive digest: sentences picked from the day's notes, no LLM._"
FLAGGED_NOTE = (
    "_Quoted from the notes: they read as instructions to the assistant, so infra did not "
    "treat them as decisions, action items or priorities._"
)


@dataclass
class DayView:
    """Everything the daily file shows, resolved to text and links."""

    day: date
    timezone: str
    digest: Summary[Item]
    agents: list[str]
    summary: list[tuple[Item, list[str]]] = field(default_factory=list)
    decisions: list[tuple[Item, list[str]]] = field(default_factory=list)
    questions: list[tuple[Item, list[str]]] = field(default_factory=list)
    people: list[tuple[Item, list[str]]] = field(default_factory=list)
    actions: list[tuple[TrackedItem, list[str], str | None]] = field(default_factory=list)
    priorities: list[tuple[TrackedItem, list[str], str | None]] = field(default_factory=list)
    cross: list[tuple[str, list[str]]] = field(default_factory=list)
    flagged: list[tuple[Item, list[str]]] = field(default_factory=list)  # not followed
    inputs: dict[str, int] = field(default_factory=dict)
    sources: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts = {
            "summary": len(self.summary),
            "decisions": len(self.decisions),
            "action_items": len(self.actions),
            "open_questions": len(self.questions),
            "priorities": len(self.priorities),
            "people_and_projects": len(self.people),
            "across_agents": len(self.cross),
        }
        if self.flagged:  # only when there are any: an ordinary day's file is unchanged
            counts["flagged"] = len(self.flagged)
        return counts


def _plain(items: Sequence[tuple[Item, list[str]]]) -> list[str]:
    return [f"- {markdown_text(item.text)}{links_of(links)}" for item, links in items]


def flagged_lines(items: Sequence[tuple[Item, list[str]]]) -> list[str]:
    """The flagged section's body: a note, then each line quoted with where it came from."""
    quoted = [f'- "{markdown_text(item.text)}"{links_of(links)}' for item, links in items]
    return [FLAGGED_NOTE, "", *quoted]


def frontmatter(view: DayView) -> dict[str, Any]:
    start, end = day_bounds(view.day, ZoneInfo(view.timezone))
    digest = view.digest
    return {
        "kind": "daily",
        "day": view.day.isoformat(),
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "timezone": view.timezone,
        "summarizer": digest.summarizer,
        "model": digest.model,
        "prompt_version": digest.prompt_version,
        "tokens": {"input": digest.cost.tokens_in, "output": digest.cost.tokens_out},
        "cost_usd": round(digest.cost.cost_usd, 6),
        "llm_calls": digest.cost.calls,
        "agents": [identifier(a) for a in view.agents],
        "inputs": dict(sorted(view.inputs.items())),
        "items": view.counts(),
        "flags": sorted(digest.flags),
        "sources": [
            {k: identifier(v) if isinstance(v, str) else v for k, v in source.items()}
            for source in view.sources
        ],
        "generated_by": f"{GENERATOR} {__version__}",
    }


def render_daily(view: DayView) -> tuple[str, dict[str, int]]:
    """(the file's text, 1-based line of each tracked item's bullet)."""
    # one list element per physical line, so an element's index is its line number
    lines = [
        *dump_frontmatter(frontmatter(view)).rstrip("\n").split("\n"),
        "",
        f"# Daily digest: {WEEKDAYS[view.day.weekday()]} {view.day.isoformat()}",
    ]
    if view.digest.summarizer == "extractive":
        lines += ["", EXTRACTIVE_DAILY_NOTE]
    item_lines: dict[str, int] = {}

    def section(key: str, body: list[str]) -> None:
        lines.extend(["", f"## {HEADINGS[key]}", ""])
        lines.extend(body or ["_None._"])

    def tracked(key: str, rows: list[tuple[TrackedItem, list[str], str | None]]) -> None:
        lines.extend(["", f"## {HEADINGS[key]}", ""])
        if not rows:
            lines.append("_None._")
        for item, links, note in rows:
            lines.append(tracked_line(item, links, note=note))
            item_lines[item.id] = len(lines)

    section("summary", _plain(view.summary))
    section("decision", _plain(view.decisions))
    tracked("action", view.actions)
    section("question", _plain(view.questions))
    tracked("priority", view.priorities)
    section("people", _plain(view.people))
    if view.flagged:
        section("flagged", flagged_lines(view.flagged))
    if len(view.agents) > 1:
        section(
            "cross", [f"- {markdown_text(text)}{links_of(links)}" for text, links in view.cross]
        )
    return "\n".join(lines) + "\n", item_lines
