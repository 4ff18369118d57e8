"""Health check types shared by every capability: states, `Check`, `HealthContext`.

A capability's checks live beside it (`memory/checks.py`, `voice/checks.py`, ...) and
import only this module; `ops/health.py` lists them in one explicit registry and runs them.
Nothing here imports a heavy library.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from openclaw_infra.core.config import Settings

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3


@dataclass
class Check:
    name: str
    state: int
    summary: str
    perf: dict[str, float | int] = field(default_factory=dict)


@dataclass
class HealthContext:
    settings: Settings
    conn: sqlite3.Connection | None  # read-only infra.sqlite; None before the first run
    now: float = field(default_factory=time.time)

    def table_exists(self, name: str) -> bool:
        if self.conn is None:
            return False
        row = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type IN ('table','view') AND name=?", (name,)
        ).fetchone()
        return row is not None


CheckFn = Callable[[HealthContext], Iterable[Check]]


def fmt_age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def open_readonly(settings: Settings) -> sqlite3.Connection | None:
    if not settings.db_path.exists():
        return None
    from openclaw_infra.core.db import readonly_uri

    conn = sqlite3.connect(readonly_uri(settings.db_path), uri=True)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout=5000")
    return conn
