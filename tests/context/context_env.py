"""What the context tests share: a planted memory (tracked items, daily decisions, lessons)
and transcripts with compactions in both containers, written with infra's own record
functions and OpenClaw's real formats."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from openclaw_infra.core.config import Settings
from openclaw_infra.core.db import connect, transaction
from openclaw_infra.pipeline.digest_records import TrackedItem, save_items

from openclaw_fixtures import write_jsonl_session, write_sqlite_sessions

TODAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)


def plant_items(settings: Settings, items: list[TrackedItem]) -> None:
    conn = connect(settings.db_path)
    try:
        with transaction(conn):
            save_items(conn, items)
    finally:
        conn.close()


def item(
    item_id: str, text: str, *, kind: str = "action", status: str = "open", sources: Any = ()
) -> TrackedItem:
    day = TODAY.isoformat()
    return TrackedItem(item_id, kind, text, status, day, day, sources=list(sources))


def plant_daily(settings: Settings, day: date, decisions: list[str]) -> None:
    settings.daily_dir.mkdir(parents=True, exist_ok=True)
    body = "\n".join(f"- {d}" for d in decisions) or "_None._"
    (settings.daily_dir / f"{day.isoformat()}.md").write_text(
        f"# Daily digest: {day}\n\n## Summary\n\n_None._\n\n## Decisions\n\n{body}\n\n"
        "## Action items\n\n_None._\n",
        encoding="utf-8",
    )


def plant_lessons(settings: Settings, lessons: list[str]) -> None:
    settings.lessons_path.parent.mkdir(parents=True, exist_ok=True)
    settings.lessons_path.write_text(
        "# Lessons\n\n" + "".join(f"- {line}\n" for line in lessons), encoding="utf-8"
    )


def compaction_line(summary: str, index: int = 90) -> dict[str, Any]:
    return {
        "type": "compaction",
        "id": f"c{index:07d}",
        "parentId": None,
        "timestamp": (NOW - timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
        "summary": summary,
        "firstKeptEntryId": "x",
        "tokensBefore": 12000,
    }


def jsonl_session(settings: Settings, agent: str, session_id: str, turns: list[Any]) -> None:
    write_jsonl_session(
        settings.state_dir, agent, session_id, turns, key=f"agent:{agent}:explicit:{session_id}"
    )


def sqlite_session(settings: Settings, agent: str, session_id: str, turns: list[Any]) -> None:
    write_sqlite_sessions(
        settings.state_dir,
        agent,
        {session_id: turns},
        keys={session_id: f"agent:{agent}:explicit:{session_id}"},
        compress_over=200,
    )
