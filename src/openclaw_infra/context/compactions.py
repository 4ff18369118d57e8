"""Compactions of a session, found in either transcript container.

OpenClaw records a compaction as a `compaction` entry (its `summary` is what the agent keeps);
infra's readers yield it as an entry with role "compaction" whether the session lives in a
JSONL file or in the SQLite `transcript_events` table, so this module needs no format of its
own. Only the session asked about is read.
"""

from __future__ import annotations

from dataclasses import dataclass

from openclaw_infra.core.config import Settings
from openclaw_infra.openclaw import paths
from openclaw_infra.openclaw.batch import Source
from openclaw_infra.openclaw.entries import Entry
from openclaw_infra.openclaw.reader import jsonl_sources, read_all, sqlite_sources


@dataclass(frozen=True)
class Compaction:
    """The newest compaction of a session, and how many it has had."""

    agent: str
    session_id: str
    summary: str
    citation: str  # session#entry of the compaction entry
    count: int


def session_sources(settings: Settings, agent: str, session_id: str) -> list[Source]:
    """The session's transcript in whichever container holds it (the store wins, as in
    `reader.discover_sources`)."""
    if agent not in paths.discover_agents(settings, every=True):
        return []
    found = [s for s in sqlite_sources(settings, agent) if s.session_id == session_id]
    if found:
        return found
    return [s for s in jsonl_sources(settings, agent) if s.session_id == session_id]


def latest(settings: Settings, agent: str, session_id: str) -> Compaction | None:
    """The session's newest compaction, or None when it was never compacted."""
    newest: Entry | None = None
    count = 0
    for source in session_sources(settings, agent, session_id):
        for entry in read_all(settings, source).entries:
            if entry.role == "compaction":
                count += 1
                newest = entry
    if newest is None:
        return None
    return Compaction(agent, session_id, newest.text, newest.citation, count)
