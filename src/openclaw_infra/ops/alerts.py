"""When to alert: what the operator was last told, and what this health run should send.

The memory of alerts lives in the run ledger: every verdict recorded with `--notify` carries
`alert_state` (the state the operator was last told about), `alert_since` (when that news
was delivered), `alert_at` (the last delivery, change or reminder) and the failures of the
alert still owed. Verdicts recorded without `--notify` carry none of it and are skipped, so
a `--quiet` run can never swallow a change. Nothing here sends anything or imports more
than core: `alert_checks` reads the same memory for `infra health`.

The policy, for a run that sees `state` at `now`:
- a state other than the one told is a change: sent (worse or better, the first non-OK
  and the recovery), unless quiet hours hold it; a change *to* CRITICAL is never held;
- the same CRITICAL as told, last delivered `alert_remind_hours` ago or more: a reminder,
  held in quiet hours like every non-CRITICAL news;
- a held or failed alert is simply still owed: the next run compares again, so a change
  that undid itself meanwhile (a blip at night) is not announced.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, replace
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from openclaw_infra.core.config import Settings

BASELINE = "OK"  # before any alert the operator knows of no problem
CRITICAL = "CRITICAL"
SCAN_ROWS = 200  # recent health verdicts looked at for the last one that recorded alerts


@dataclass(frozen=True)
class AlertMemory:
    """What the operator knows, as the last `--notify` verdict recorded it."""

    state: str = BASELINE  # the state last delivered
    since: float | None = None  # when that state was delivered
    told_at: float | None = None  # the last delivery (change or reminder)
    failures: int = 0  # failed deliveries in a row of the alert still owed
    failing_since: float | None = None
    last_error: str | None = None
    last_status: str | None = None  # the outcome of that verdict's run

    def details(self) -> dict[str, Any]:
        """The keys a verdict records (the rest of `notification` is the caller's)."""
        note: dict[str, Any] = {}
        if self.failures:
            note = {"failures": self.failures, "failing_since": self.failing_since}
            if self.last_error:
                note["error"] = self.last_error
        return {
            "alert_state": self.state,
            "alert_since": self.since,
            "alert_at": self.told_at,
            "notification": note,
        }

    @classmethod
    def from_details(cls, details: dict[str, Any], recorded_at: float) -> AlertMemory:
        """Read a verdict's keys; a verdict from before reminders counts as told when recorded."""
        note = details.get("notification")
        note = note if isinstance(note, dict) else {}
        told_at = _number(details.get("alert_at"), None if "alert_at" in details else recorded_at)
        return cls(
            state=str(details["alert_state"]),
            since=_number(details.get("alert_since"), told_at),
            told_at=told_at,
            failures=int(_number(note.get("failures"), 0) or 0),
            failing_since=_number(note.get("failing_since"), None),
            last_error=note.get("error") if isinstance(note.get("error"), str) else None,
            last_status=note.get("status") if isinstance(note.get("status"), str) else None,
        )

    def told(self, state: str, now: float) -> AlertMemory:
        """After a delivery: `state` is known from `now` (a reminder keeps `since`)."""
        since = self.since if state == self.state and self.since is not None else now
        return AlertMemory(state, since, now)

    def failed(self, error: str, now: float) -> AlertMemory:
        """After a failed delivery: the same knowledge, one more failure."""
        since = self.failing_since if self.failures else now
        return replace(self, failures=self.failures + 1, failing_since=since, last_error=error)

    def settled(self) -> AlertMemory:
        """Nothing is owed any more: earlier failures no longer matter."""
        return replace(self, failures=0, failing_since=None, last_error=None)


def alerts_off(settings: Settings) -> bool:
    """No alert can be sent: no target for the default sender, or a template that needs one."""
    if settings.alert_target.strip():
        return False
    template = settings.alert_command.strip()
    return not template or "{target}" in template


def _number(value: Any, default: float | None) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return float(value)


def last_memory(conn: sqlite3.Connection, exclude_run_id: str = "") -> AlertMemory:
    """The alert memory of the newest `--notify` verdict (none yet: the baseline)."""
    rows = conn.execute(
        "SELECT details, started_at FROM runs WHERE job='health' AND status='ok' AND run_id != ? "
        "AND details LIKE '%\"alert_state\"%' ORDER BY started_at DESC, rowid DESC LIMIT ?",
        (exclude_run_id, SCAN_ROWS),
    ).fetchall()
    for details_json, started_at in rows:
        try:
            details = json.loads(details_json)
        except (TypeError, ValueError):
            continue
        if isinstance(details, dict) and isinstance(details.get("alert_state"), str):
            return AlertMemory.from_details(details, float(started_at))
    return AlertMemory()


@dataclass(frozen=True)
class QuietHours:
    """A daily window in the user's zone; `start > end` wraps midnight (22:00-07:00)."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours | None:
        """`HH:MM-HH:MM` (Settings validated the shape); empty or a zero-length window: none."""
        if not text.strip():
            return None
        first, second = text.strip().split("-", 1)
        start, end = time.fromisoformat(first), time.fromisoformat(second)
        return None if start == end else cls(start, end)

    def contains(self, now: float, tz: ZoneInfo) -> bool:
        local = datetime.fromtimestamp(now, tz).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


# what a run does about alerts
CHANGE, REMINDER, HELD, UNCHANGED = "change", "reminder", "held", "unchanged"


def decide(memory: AlertMemory, state: str, now: float, *, remind_s: float, quiet_now: bool) -> str:
    """CHANGE, REMINDER, HELD (owed, waiting for quiet hours to end) or UNCHANGED."""
    if state != memory.state:
        return HELD if quiet_now and state != CRITICAL else CHANGE
    told_at = memory.told_at if memory.told_at is not None else now
    if state == CRITICAL and remind_s > 0 and now - told_at >= remind_s:
        return HELD if quiet_now else REMINDER
    return UNCHANGED
