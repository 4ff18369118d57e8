"""`infra health` check "transcripts": which container(s) each agent's transcripts are in.

Light on purpose: stdlib `sqlite3` opened read-only (the readers' one open, which creates
nothing beside OpenClaw's store), a directory listing, no zstandard import
(only `importlib.util.find_spec` to say whether compressed events could be read).
"""

from __future__ import annotations

import importlib.util
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from openclaw_infra.core.checks import CRITICAL, OK, WARNING, Check, HealthContext
from openclaw_infra.core.errors import UnavailableError
from openclaw_infra.openclaw import paths


@dataclass(frozen=True, slots=True)
class AgentTranscripts:
    agent: str
    jsonl_files: int
    sqlite_sessions: int  # sessions with events in transcript_events; 0 when none
    compressed: bool  # transcript_events has event_zstd (2026.9 schema)
    error: str | None = None

    @property
    def containers(self) -> str:
        found = [
            name for name, n in (("jsonl", self.jsonl_files), ("sqlite", self.sqlite_sessions)) if n
        ]
        return "+".join(found) or "none"


def probe_store(db: Path) -> tuple[int, bool, str | None]:
    """(sessions with events, has event_zstd, error) for one openclaw-agent.sqlite."""
    if not db.is_file():
        return 0, False, None
    # here only: the events reader's module costs more to import than this check to run
    from openclaw_infra.openclaw.sqlite_events import open_readonly

    try:
        conn = open_readonly(db)
    except UnavailableError as exc:
        return 0, False, str(exc)
    try:
        row = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='transcript_events'"
        ).fetchone()
        if row is None:
            return 0, False, None  # the file predates 2026.7.2's transcripts
        cols = {str(r[1]) for r in conn.execute("PRAGMA table_info(transcript_events)")}
        sessions = conn.execute(
            "SELECT count(*) FROM (SELECT DISTINCT session_id FROM transcript_events)"
        ).fetchone()[0]
        return int(sessions), "event_zstd" in cols, None
    except sqlite3.Error as exc:
        return 0, False, str(exc)
    finally:
        conn.close()


def survey(ctx: HealthContext) -> list[AgentTranscripts]:
    out = []
    for agent in paths.discover_agents(ctx.settings):
        files = sum(1 for _ in paths.jsonl_files(ctx.settings, agent))
        sessions, compressed, error = probe_store(paths.sqlite_path(ctx.settings, agent))
        out.append(AgentTranscripts(agent, files, sessions, compressed, error))
    return out


def check_transcripts(ctx: HealthContext) -> Iterable[Check]:
    settings = ctx.settings
    agents = survey(ctx)
    perf: dict[str, float | int] = {
        "transcript_jsonl_files": sum(a.jsonl_files for a in agents),
        "transcript_sqlite_sessions": sum(a.sqlite_sessions for a in agents),
    }
    if not agents:
        yield Check(
            "transcripts", WARNING, f"no OpenClaw agents under {paths.agents_root(settings)}", perf
        )
        return
    text = ", ".join(f"{a.agent}={a.containers}" for a in agents)
    state = OK
    problems: list[str] = []
    broken = [a for a in agents if a.error]
    if broken:
        state = CRITICAL
        problems += [f"{a.agent} store unreadable: {a.error}" for a in broken]
    if (
        any(a.compressed and a.sqlite_sessions for a in agents)
        and importlib.util.find_spec("zstandard") is None
    ):
        state = CRITICAL
        problems.append("compressed events need the zstandard package")
    missing = paths.selected_agents(settings) - {a.agent for a in agents}
    if missing:
        state = max(state, WARNING)
        problems.append(
            "OPENCLAW_INFRA_INDEX_AGENTS names unknown agent(s): " + ", ".join(sorted(missing))
        )
    if all(a.containers == "none" for a in agents):
        state = max(state, WARNING)
        problems.append("no transcripts found yet")
    summary = "; ".join([*problems, text]) if problems else text
    yield Check("transcripts", state, summary, perf)
