"""Markdown with YAML frontmatter for summary files (DESIGN.md "Summaries").

Rendering is a pure function of the recorded sections, so the same records always give the
same bytes: no clock, no locale (weekday names are ours, not strftime's), sorted keys where
order carries no meaning. The frontmatter says what produced the file (summariser, model,
prompt version), what it cost (tokens, USD), and what it was made from (each transcript with
its entry count and a hash of the input), so a reader can judge and re-verify it. Ids from
transcripts (agent, session, path) pass through `core.mdsafe.identifier` on their way in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import yaml

from openclaw_infra import __version__
from openclaw_infra.core.mdsafe import identifier, markdown_text
from openclaw_infra.core.outputs import GENERATOR
from openclaw_infra.pipeline.records import SectionRecord, SourceRef

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
EXTRACTIVE_NOTE = "_Extractive summary: sentences picked from the conversation, no LLM._"


def _one_or_list(values: Iterable[str | None]) -> str | list[str] | None:
    distinct = sorted({v for v in values if v})
    if not distinct:
        return None
    return distinct[0] if len(distinct) == 1 else distinct


def _sources(sections: Sequence[SectionRecord]) -> list[dict[str, object]]:
    """Each transcript once, with its entries summed and one hash over its section hashes."""
    merged: dict[tuple[str, str, str], list[SourceRef]] = {}
    for section in sections:
        for ref in section.sources:
            merged.setdefault((ref.agent, ref.session_id, ref.path), []).append(ref)
    out: list[dict[str, object]] = []
    for (agent, session, path), refs in sorted(merged.items()):
        digest = hashlib.sha256("\n".join(r.sha256 for r in refs).encode()).hexdigest()
        out.append(
            {
                "agent": identifier(agent),
                "session": identifier(session),
                "path": identifier(path),
                "container": refs[0].container,
                "entries": sum(r.entries for r in refs),
                "sha256": digest,
            }
        )
    return out


def frontmatter(
    kind: str,
    period_start: datetime,
    period_end: datetime,
    timezone: str,
    sections: Sequence[SectionRecord],
) -> dict[str, object]:
    summarizers = sorted({s.summarizer for s in sections})
    return {
        "kind": kind,
        "period": {"start": period_start.isoformat(), "end": period_end.isoformat()},
        "timezone": timezone,
        "summarizer": summarizers[0] if len(summarizers) == 1 else "mixed",
        "model": _one_or_list(s.model for s in sections),
        "prompt_version": _one_or_list(s.prompt_version for s in sections),
        "tokens": {
            "input": sum(s.tokens_in for s in sections),
            "output": sum(s.tokens_out for s in sections),
        },
        "cost_usd": round(sum(s.cost_usd for s in sections), 6),
        "llm_calls": sum(s.llm_calls for s in sections),
        "sources": _sources(sections),
        "sections": [
            {
                "hour": s.hour_label,
                "start": s.hour_start,
                "agent": identifier(s.agent),
                "part": s.part,
                "summarizer": s.summarizer,
                "entries": s.entries,
                "flags": list(s.flags),
            }
            for s in sections
        ],
        "generated_by": f"{GENERATOR} {__version__}",
    }


def dump_frontmatter(data: dict[str, object]) -> str:
    text = yaml.safe_dump(
        data, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000
    )
    return f"---\n{text}---\n"


def render_hourly_day(day: date, sections: Sequence[SectionRecord]) -> str:
    """The whole `memory/hourly/YYYY-MM-DD.md` for one user date."""
    ordered = sorted(sections, key=lambda s: (s.hour_start, s.agent, s.part))
    if not ordered:
        raise ValueError(f"no sections for {day}")
    timezone = ordered[-1].timezone
    tz = ZoneInfo(timezone)
    start = datetime.combine(day, time(0), tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tz)
    lines = [
        dump_frontmatter(frontmatter("hourly", start, end, timezone, ordered)).rstrip("\n"),
        "",
        f"# Hourly notes: {WEEKDAYS[day.weekday()]} {day.isoformat()}",
    ]
    previous: tuple[str, str] | None = None
    for section in ordered:
        if (section.hour_start, section.agent) != previous:
            lines += ["", f"## {section.hour_label} · {identifier(section.agent)}", ""]
            previous = (section.hour_start, section.agent)
        if section.summarizer == "extractive":
            lines.append(EXTRACTIVE_NOTE)
        # every body line is a rendered bullet; any other line (a section recorded before ids
        # were sanitised) is made inert rather than written as raw Markdown
        lines.extend(
            line if line.startswith("- ") else markdown_text(line)
            for line in section.body.splitlines()
        )
    return "\n".join(lines) + "\n"
