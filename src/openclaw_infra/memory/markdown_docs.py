"""Markdown files as index documents: the path they are cited by, their kind, their date."""

from __future__ import annotations

import os
import re
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from openclaw_infra.core.layout import PRIORITIES_FILE, SUMMARY_DIRS, VOICE_DIR

if TYPE_CHECKING:
    from openclaw_infra.core.config import Settings


def kind_of(settings: Settings, path: Path) -> str:
    """`memory/voice/…` → voice; infra's summaries → summary; other Markdown → memory."""
    try:
        rel = Path(os.path.realpath(path)).relative_to(os.path.realpath(settings.memory_dir)).parts
    except ValueError:
        return "memory"
    if rel and rel[0] == VOICE_DIR:
        return "voice"
    if (rel and rel[0] in SUMMARY_DIRS) or rel == (PRIORITIES_FILE,):
        return "summary"
    return "memory"


def display_path(settings: Settings, path: Path) -> str:
    """Workspace-relative path for citations (absolute when outside the workspace)."""
    # os.path.realpath, not Path.resolve: a symlink loop must not raise (3.11's RuntimeError)
    real = Path(os.path.realpath(path))
    try:
        return real.relative_to(os.path.realpath(settings.workspace)).as_posix()
    except ValueError:
        return real.as_posix()


def found_path(settings: Settings, path: Path) -> str:
    """Workspace-relative path as found, naming a link itself rather than where it leads
    (for reporting a file that was not read)."""
    try:
        return path.relative_to(settings.workspace).as_posix()
    except ValueError:
        return path.as_posix()


def doc_key(settings: Settings, path: Path) -> str:
    """The store key of a Markdown file's document."""
    return "file:" + display_path(settings, path)


def doc_file(settings: Settings, key: str) -> Path:
    """The file a `file:` document was read from."""
    rel = key.removeprefix("file:")
    path = Path(rel)
    return path if path.is_absolute() else settings.workspace / rel


_DAY_NAME = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_WEEK_NAME = re.compile(r"(\d{4})-W(\d{2})")


def file_timestamp(settings: Settings, path: Path, mtime: float) -> float:
    """A dated file name (daily notes, summaries) dates its chunks; otherwise the mtime."""
    name = path.name
    tz = settings.tz
    match = _DAY_NAME.search(name)
    try:
        if match:
            day = date(int(match[1]), int(match[2]), int(match[3]))
            return datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()
        week = _WEEK_NAME.search(name)
        if week:
            monday = date.fromisocalendar(int(week[1]), int(week[2]), 1)
            return datetime(monday.year, monday.month, monday.day, tzinfo=tz).timestamp()
    except ValueError:
        pass  # "2026-13-45.md" is not a date: fall back to the mtime
    return mtime
