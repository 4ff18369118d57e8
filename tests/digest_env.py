"""Shared set-up for the daily-sync and weekly-synthesis tests: conversations written with the
fixture builder, hourly notes made by the real `summarize` through the fake Messages API,
scripted answers per pass, and readers of the digest files."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openclaw_infra import services
from openclaw_infra.core.config import Settings
from openclaw_infra.memory.embedder import HashEmbedder
from openclaw_infra.pipeline.daily.digest import DAILY_DIGEST
from openclaw_infra.pipeline.daily.run import DailyReport, daily_sync_job
from openclaw_infra.pipeline.weekly.passes import WEEKLY_SYNTHESIS
from openclaw_infra.pipeline.weekly.run import WeeklyReport, weekly_synthesis_job
from summarize_env import SummarizeEnv, split_file, summarize

from openclaw_fixtures import write_jsonl_session

# fragments of each pass's system prompt, for `FakeAnthropic.reply_when`
HOURLY = "hourly memory notes"
DAILY = "You write the daily digest"
DRAFT = "You draft the weekly synthesis"
CRITIQUE = "You critique a draft weekly synthesis"
REFINE = "You write the final weekly synthesis"


def local(day: date, hour: int, minute: int = 0, tz: str = "UTC") -> datetime:
    return datetime.combine(day, time(hour, minute), ZoneInfo(tz))


def talk(
    env: SummarizeEnv,
    session: str,
    day: date,
    texts: Sequence[str | tuple[str, str]],
    *,
    agent: str = "main",
    hour: int = 9,
    tz: str = "UTC",
) -> None:
    """One conversation on `day` at `hour` local time: user and assistant alternate, a
    (role, text) pair sets the role (e.g. "compaction")."""
    start = local(day, hour, 5, tz)
    turns = []
    for i, text in enumerate(texts):
        role, body = (
            text if isinstance(text, tuple) else ("user" if i % 2 == 0 else "assistant", text)
        )
        turns.append((role, body, start + timedelta(minutes=i)))
    write_jsonl_session(env.state, agent, session, turns, start=start)


def summarize_until(env: SummarizeEnv, now: datetime, **settings: Any) -> None:
    """The hourly notes `summarize` would have written by `now`."""
    summarize(env.settings(**settings), now=now, embedder=HashEmbedder)


def daily_sync(settings: Settings, **options: Any) -> DailyReport:
    """`daily-sync` as its command runs it, with the summariser services builds."""
    return daily_sync_job(settings, services.summarizer(settings, DAILY_DIGEST), **options)


def weekly_synthesis(settings: Settings, **options: Any) -> WeeklyReport:
    """`weekly-synthesis` as its command runs it, with the summariser services builds."""
    return weekly_synthesis_job(
        settings, services.summarizer(settings, WEEKLY_SYNTHESIS), **options
    )


def daily_path(env: SummarizeEnv, day: date | str) -> Path:
    return env.home.workspace / "memory" / "daily" / f"{day}.md"


def weekly_path(env: SummarizeEnv, week: str) -> Path:
    return env.home.workspace / "memory" / "weekly" / f"{week}.md"


def priorities_path(env: SummarizeEnv) -> Path:
    return env.home.workspace / "memory" / "priorities.md"


def sections(text: str) -> dict[str, list[str]]:
    """`## Heading` → its lines (blank lines dropped), for a digest file's body."""
    _, body = split_file(text)
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in body.splitlines():
        if line.startswith("## "):
            current = out.setdefault(line[3:], [])
        elif current is not None and line.strip():
            current.append(line)
    return out


def memory_files(env: SummarizeEnv) -> dict[str, bytes]:
    root = env.home.workspace / "memory"
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }
