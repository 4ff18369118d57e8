"""The daily brief: the newest digest's decisions and action items, with feedback buttons.

After daily-sync writes a day (and only when the brief is enabled and has a target), the
day's decisions and open action items become one short message with a ✅ / ❌ / ✏️ button
row per item, sent by `openclaw message send --presentation` (openclaw/send.py). Each
button's value is a signed token (feedback/tokens.py, at most 64 bytes, Telegram's limit)
naming the item and the verdict: an action item by its tracked id (`A-…`), a decision by
the citation of its first source. A pressed button reaches the agent as
`callback_data: <value>`, and the shipped skill records it with `infra feedback record`.

The brief is queued with the day in the day's transaction (the watermark `brief` of the
daily-sync job holds it as JSON), then sent after the last day of the run. A failed send
never fails the digest: it is recorded with its reason, shown in the run's report and
retried by the next daily-sync, up to MAX_ATTEMPTS times. A newer day's brief replaces an
unsent older one, and a brief older than MAX_AGE_DAYS is not sent at all: yesterday's
buttons matter, last week's are noise.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import structlog

from openclaw_infra.core.config import Settings
from openclaw_infra.core.db import transaction
from openclaw_infra.core.errors import InfraError, UsageError
from openclaw_infra.core.ledger import get_watermark, set_watermark
from openclaw_infra.feedback.targets import check_target
from openclaw_infra.feedback.tokens import issue
from openclaw_infra.openclaw.send import run_command, send_argv
from openclaw_infra.pipeline.daily.render import DayView
from openclaw_infra.pipeline.digest_records import TrackedItem
from openclaw_infra.pipeline.items import OPEN, Item
from openclaw_infra.pipeline.periods import DAILY_JOB
from openclaw_infra.pipeline.render import WEEKDAYS

log = structlog.get_logger("infra.daily")

WATERMARK = "brief"
MAX_ATTEMPTS = 3
MAX_AGE_DAYS = 3
ITEM_CHARS = 160  # one item's line in the message
BUTTONS = (("✅", "good"), ("❌", "bad"), ("✏️", "fix"))
PENDING, SENT, FAILED, STALE = "pending", "sent", "failed", "stale"
HINT = "✅ right / done · ❌ wrong / drop · ✏️ correct it"

Issue = Callable[[str, str], str]  # (target, verdict) -> signed button value


@dataclass(frozen=True)
class BriefItem:
    """One line of the brief and what its buttons point at."""

    kind: str  # "decision" or "action"
    target: str
    text: str


@dataclass(frozen=True)
class Brief:
    """The message and buttons of one day, as `openclaw message send` takes them."""

    day: str
    message: str
    presentation: dict[str, Any]
    targets: tuple[str, ...]


@dataclass(frozen=True)
class Delivery:
    """What the run did with the brief: status off | none | sent | failed | stale."""

    status: str
    day: str | None = None
    error: str | None = None
    attempts: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "day": self.day, "error": self.error}


def destination(settings: Settings) -> tuple[str, str] | None:
    """(channel, target) of the brief, or None when it is off or has no target. The channel
    may be empty: OpenClaw then uses its only configured channel."""
    if not settings.daily_brief_enabled:
        return None
    target = (settings.daily_brief_target or settings.alert_target).strip()
    if not target:
        return None
    return (settings.daily_brief_channel or settings.alert_channel).strip(), target


def _line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= ITEM_CHARS else flat[: ITEM_CHARS - 1].rstrip() + "…"


def _action_text(item: TrackedItem) -> str:
    extra = [part for part in (item.owner, f"due {item.due}" if item.due else None) if part]
    return f"{item.text} ({', '.join(extra)})" if extra else item.text


def brief_items(
    decisions: Sequence[tuple[Item, list[str]]],
    actions: Sequence[tuple[TrackedItem, list[str], str | None]],
    limit: int,
) -> tuple[list[BriefItem], int]:
    """(the items the brief lists, how many more there were): the day's decisions that
    have a citable source, then its open action items, at most `limit`."""
    found: list[BriefItem] = []
    for item, links in decisions:
        for link in links[:1]:
            try:
                found.append(BriefItem("decision", check_target(link), _line(item.text)))
            except UsageError:
                log.warning("daily.brief_uncitable", link=link[:200])
    found += [
        BriefItem("action", tracked.id, _line(_action_text(tracked)))
        for tracked, _, _ in actions
        if tracked.status == OPEN
    ]
    return found[:limit], max(0, len(found) - limit)


def compose(day: date, items: Sequence[BriefItem], more: int, rel: str, issue: Issue) -> Brief:
    """The message (numbered lines under their headings) and one button row per line."""
    lines = [f"Daily brief · {WEEKDAYS[day.weekday()]} {day.isoformat()}"]
    rows: list[dict[str, Any]] = []
    for heading, kind in (("Decisions", "decision"), ("Action items", "action")):
        mine = [item for item in items if item.kind == kind]
        if mine:
            lines += ["", heading]
        for item in mine:
            number = len(rows) + 1
            lines.append(f"{number}. {item.text}")
            buttons = [
                {
                    "label": f"{number} {mark}",
                    "action": {"type": "callback", "value": issue(item.target, verdict)},
                }
                for mark, verdict in BUTTONS
            ]
            rows.append({"type": "buttons", "buttons": buttons})
    if more:
        lines += ["", f"+{more} more in {rel}"]
    lines += ["", HINT]
    return Brief(
        day.isoformat(),
        "\n".join(lines),
        {"blocks": rows},
        tuple(item.target for item in items),
    )


# --- the queue: one pending brief in the daily-sync job's watermarks ----------------------


def _load(conn: sqlite3.Connection) -> dict[str, Any] | None:
    raw = get_watermark(conn, DAILY_JOB, WATERMARK)
    if raw is None:
        return None
    try:
        state = json.loads(raw)
    except ValueError:
        return None
    return state if isinstance(state, dict) else None


def _save(conn: sqlite3.Connection, state: dict[str, Any]) -> None:
    set_watermark(conn, DAILY_JOB, WATERMARK, json.dumps(state, ensure_ascii=False))


def queue(conn: sqlite3.Connection, brief: Brief) -> None:
    """Owe this brief (replacing an unsent older one); the caller's transaction."""
    _save(
        conn,
        {
            "day": brief.day,
            "status": PENDING,
            "attempts": 0,
            "error": None,
            "updated_at": time.time(),
            "message": brief.message,
            "presentation": brief.presentation,
        },
    )


def pending(conn: sqlite3.Connection) -> dict[str, Any] | None:
    """The brief still owed (pending, or failed with attempts left), if any."""
    state = _load(conn)
    if state is None or state.get("status") not in (PENDING, FAILED):
        return None
    if int(state.get("attempts") or 0) >= MAX_ATTEMPTS or not state.get("message"):
        return None
    return state


def deliver(
    settings: Settings,
    conn: sqlite3.Connection,
    *,
    now: datetime,
    timeout_s: float | None = None,
) -> Delivery:
    """Send the owed brief, if any, and record the outcome; never raises for a failed send."""
    where = destination(settings)
    if where is None:
        return Delivery("off")
    state = pending(conn)
    if state is None:
        return Delivery("none")
    day = str(state["day"])
    today = now.astimezone(settings.tz).date()
    if date.fromisoformat(day) < today - timedelta(days=MAX_AGE_DAYS):
        with transaction(conn):
            _save(conn, {**_bare(state), "status": STALE, "updated_at": time.time()})
        log.info("daily.brief_stale", day=day)
        return Delivery(STALE, day, f"older than {MAX_AGE_DAYS} days")
    channel, target = where
    argv = send_argv(channel, target, str(state["message"]), presentation=state["presentation"])
    why = run_command(argv) if timeout_s is None else run_command(argv, timeout_s)
    attempts = int(state.get("attempts") or 0) + 1
    if why is None:
        with transaction(conn):
            _save(conn, {**_bare(state), "status": SENT, "attempts": attempts, "error": None})
        log.info("daily.brief_sent", day=day, channel=channel or "default", attempts=attempts)
        return Delivery(SENT, day, attempts=attempts)
    with transaction(conn):
        _save(conn, {**state, "status": FAILED, "attempts": attempts, "error": why})
    log.warning("daily.brief_failed", day=day, attempts=attempts, error=why)
    left = MAX_ATTEMPTS - attempts
    note = f"{why} ({'retried by the next daily-sync' if left else 'given up'})"
    return Delivery(FAILED, day, note, attempts)


def _bare(state: dict[str, Any]) -> dict[str, Any]:
    """The record without the message and buttons (kept only while the brief is owed)."""
    return {k: v for k, v in state.items() if k not in ("message", "presentation")} | {
        "updated_at": time.time()
    }


def prepare(
    settings: Settings, day: date, view: DayView, rel: str, *, now: datetime
) -> tuple[Brief | None, Delivery | None]:
    """(the day's brief with freshly signed buttons, or None when it is off or has nothing
    to ask; the failure when it could not be built). A failure is logged, never raised: a
    brief is never worth a digest."""
    if destination(settings) is None:
        return None, None
    items, more = brief_items(view.decisions, view.actions, settings.daily_brief_max_items)
    if not items:
        return None, None
    moment = now.timestamp()
    try:
        brief = compose(day, items, more, rel, lambda t, v: issue(settings, t, v, now=moment))
    except InfraError as exc:
        log.warning("daily.brief_not_built", day=day.isoformat(), error=str(exc))
        return None, Delivery(FAILED, day.isoformat(), f"not built: {exc}")
    return brief, None
