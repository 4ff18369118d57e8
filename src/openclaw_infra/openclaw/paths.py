"""Where OpenClaw keeps transcripts, per agent (OPENCLAW.md "Paths", "Transcripts").

- `<state>/agents/<agent>/sessions/<sessionId>.jsonl` (up to 2026.7.1) with `sessions.json`;
  Telegram topics are `<sessionId>-topic-<threadId>.jsonl`.
- `<state>/agents/<agent>/agent/openclaw-agent.sqlite` (from 2026.7.2), table
  `transcript_events`.

The glob skips OpenClaw's side files: `*.trajectory.jsonl`, `*.checkpoint.*.jsonl`,
`*.jsonl.reset.*`, `*.jsonl.deleted.*`, `.bak`, `.tmp` and `session-sqlite-import-archive/`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from openclaw_infra.core import jsonsafe, watched
from openclaw_infra.core.config import Settings
from openclaw_infra.core.watched import RefusedFile, read_watched

SQLITE_NAME = "openclaw-agent.sqlite"
SESSIONS_JSON = "sessions.json"
IMPORT_ARCHIVE_DIR = "session-sqlite-import-archive"
SESSIONS_JSON_MAX_BYTES = 64 * 1024 * 1024

_AGENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
_SIDE_PARTS = frozenset({"jsonl", "bak", "tmp", "deleted", "reset"})
_TOPIC_SUFFIX = re.compile(r"-topic-[^/]{1,200}$")


def agents_root(settings: Settings) -> Path:
    return settings.state_dir / "agents"


def selected_agents(settings: Settings) -> set[str]:
    """`index_agents` as a set; empty means every agent."""
    return {a.strip() for a in settings.index_agents.split(",") if a.strip()}


def discover_agents(settings: Settings, *, every: bool = False) -> list[str]:
    """Agent ids with a directory under `<state>/agents/`, sorted, filtered by
    `index_agents` when that is set (unless `every`: a backup keeps them all)."""
    root = agents_root(settings)
    try:
        names = sorted(p.name for p in root.iterdir() if p.is_dir() and _AGENT_ID.match(p.name))
    except (FileNotFoundError, NotADirectoryError):
        return []
    wanted = set() if every else selected_agents(settings)
    return [n for n in names if not wanted or n in wanted]


def agent_dir(settings: Settings, agent: str) -> Path:
    return agents_root(settings) / agent


def sessions_dir(settings: Settings, agent: str) -> Path:
    return agent_dir(settings, agent) / "sessions"


def sqlite_path(settings: Settings, agent: str) -> Path:
    return agent_dir(settings, agent) / "agent" / SQLITE_NAME


def is_transcript_file(name: str) -> bool:
    """True for `<sessionId>.jsonl` (topics included), False for OpenClaw's side files."""
    if not name.endswith(".jsonl") or name.startswith("."):
        return False
    if name.endswith(".trajectory.jsonl"):
        return False
    if ".checkpoint." in name:
        return False
    # `.jsonl.reset.*`, `.jsonl.deleted.*`, `.bak`, `.tmp` never end in `.jsonl` except as an
    # inner part such as `x.bak.jsonl` / `x.tmp.jsonl`: skip those too, by whole dot-separated
    # part, so a topic or session name that merely contains "tmp" is still a transcript.
    parts = name[: -len(".jsonl")].split(".")[1:]
    return not any(part in _SIDE_PARTS for part in parts)


def jsonl_files(
    settings: Settings, agent: str, *, refused: list[RefusedFile] | None = None
) -> Iterator[Path]:
    """Session files directly in `sessions/` (sub-folders such as the import archive are
    not transcripts of their own). A FIFO, device, socket or a link leading out of
    `sessions/` is never listed (so never opened); it goes to `refused` when given."""
    folder = sessions_dir(settings, agent)
    try:
        entries = sorted(folder.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return
    for path in entries:
        if path.name == IMPORT_ARCHIVE_DIR or not is_transcript_file(path.name):
            continue
        if path.is_dir():
            continue
        reason = watched.refusal(path, (folder,))
        if reason is None:
            if path.is_file():  # else gone since the listing
                yield path
        elif refused is not None:
            refused.append(RefusedFile(path, reason))


def base_session_id(file_stem: str) -> str:
    """`<sessionId>-topic-<threadId>` → `<sessionId>`."""
    return _TOPIC_SUFFIX.sub("", file_stem)


def load_sessions_json(settings: Settings, agent: str) -> dict[str, dict[str, object]]:
    """sessionKey → entry from `sessions/sessions.json`; {} when missing or unreadable."""
    path = sessions_dir(settings, agent) / SESSIONS_JSON
    try:
        # OpenClaw's file, but the agent can write there: no FIFO, device or endless file
        raw = read_watched(path, None, max_bytes=SESSIONS_JSON_MAX_BYTES)
        data = jsonsafe.loads(raw.decode("utf-8", errors="replace"))
    except (OSError, ValueError, RefusedFile):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, dict)}


def relative_to_state(settings: Settings, path: Path) -> str:
    """`agents/main/sessions/<id>.jsonl` style path; absolute when outside the state dir."""
    try:
        return path.relative_to(settings.state_dir).as_posix()
    except ValueError:
        return path.as_posix()
