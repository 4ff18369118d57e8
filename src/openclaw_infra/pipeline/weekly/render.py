"""`memory/weekly/YYYY-Www.md`: the grounded synthesis with its passes in the frontmatter.

A pure function of the week's view (same view, same bytes). The frontmatter says how the
text was made (summariser, model, prompt version, each pass with its calls, tokens and
cost), what the grounding check dropped (`dropped_claims`, with reasons) and what it was
made from (each daily with its hash). Lines that read as instructions to the assistant
(flagged when parsed, or an open item tracked before such lines were screened out) are
quoted in their own section, never among the decisions, next steps or open items.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from openclaw_infra import __version__
from openclaw_infra.core.mdsafe import markdown_text
from openclaw_infra.pipeline.daily.priorities_file import links_of, tracked_line
from openclaw_infra.pipeline.daily.render import HEADINGS, flagged_lines
from openclaw_infra.pipeline.digest_records import TrackedItem
from openclaw_infra.pipeline.injection import looks_like_instruction
from openclaw_infra.pipeline.items import DECISION, FLAGGED, NEXT, OPEN_ITEM, SUMMARY, Item
from openclaw_infra.pipeline.periods import IsoWeek
from openclaw_infra.pipeline.render import GENERATOR, dump_frontmatter
from openclaw_infra.pipeline.summarizer import Summary
from openclaw_infra.pipeline.weekly.passes import critique_counts

SECTIONS = (
    (SUMMARY, "Summary"),
    (DECISION, "Decisions"),
    (OPEN_ITEM, "Open questions and risks"),
    (NEXT, "Next week"),
)
EXTRACTIVE_WEEKLY_NOTE = "_Extractive synthesis: lines quoted from the week's dailies, no LLM._"


@dataclass
class WeekView:
    week: IsoWeek
    timezone: str
    draft: Summary[Item]
    kept: list[tuple[Item, list[str]]] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)  # reason -> count
    open_items: list[tuple[TrackedItem, list[str]]] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())

    def followed_open_items(self) -> list[tuple[TrackedItem, list[str]]]:
        return [(i, links) for i, links in self.open_items if not looks_like_instruction(i.text)]

    def flagged(self) -> list[tuple[Item, list[str]]]:
        rows = [(i, links) for i, links in self.kept if i.section == FLAGGED]
        rows += [
            (Item(FLAGGED, i.text, ()), links)
            for i, links in self.open_items
            if looks_like_instruction(i.text)
        ]
        return rows


def frontmatter(view: WeekView) -> dict[str, Any]:
    start, end = view.week.bounds(ZoneInfo(view.timezone))
    draft = view.draft
    passes = [p.as_dict() for p in draft.passes]
    tokens_in = sum(p.tokens_in for p in draft.passes)
    tokens_out = sum(p.tokens_out for p in draft.passes)
    return {
        "kind": "weekly",
        "week": view.week.key(),
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "timezone": view.timezone,
        "summarizer": draft.summarizer,
        "model": draft.model,
        "prompt_version": draft.prompt_version,
        "passes": passes,
        "tokens": {"input": tokens_in, "output": tokens_out},
        "cost_usd": round(sum(p.cost_usd for p in draft.passes), 6),
        "llm_calls": sum(p.calls for p in draft.passes),
        "critique": critique_counts(draft.critique) if draft.summarizer != "extractive" else None,
        "grounding": {
            "checked": len(view.kept) + view.dropped_total,
            "kept": len(view.kept),
            "dropped": view.dropped_total,
            "reasons": dict(sorted(view.dropped.items())),
        },
        "dropped_claims": view.dropped_total,
        "open_action_items": len(view.followed_open_items()),
        "flags": sorted(draft.flags),
        "sources": view.sources,
        "generated_by": f"{GENERATOR} {__version__}",
    }


def _bullets(rows: Sequence[tuple[Item, list[str]]]) -> list[str]:
    return [f"- {markdown_text(item.text)}{links_of(links)}" for item, links in rows]


def render_weekly(view: WeekView) -> str:
    week = view.week
    lines = [
        dump_frontmatter(frontmatter(view)).rstrip("\n"),
        "",
        f"# Weekly synthesis: {week.key()} ({week.monday.isoformat()} to "
        f"{week.sunday.isoformat()})",
    ]
    if view.draft.summarizer == "extractive":
        lines += ["", EXTRACTIVE_WEEKLY_NOTE]
    for section, heading in SECTIONS:
        rows = [(i, links) for i, links in view.kept if i.section == section]
        lines += ["", f"## {heading}", ""]
        lines += _bullets(rows) or ["_None._"]
    lines += ["", "## Open action items", ""]
    lines += [tracked_line(item, links) for item, links in view.followed_open_items()] or [
        "_None open at the end of the week._"
    ]
    flagged = view.flagged()
    if flagged:
        lines += ["", f"## {HEADINGS[FLAGGED]}", "", *flagged_lines(flagged)]
    return "\n".join(lines) + "\n"
