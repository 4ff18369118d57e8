"""Signals across agents: a conversation with one agent touched another agent's open items or
recent decisions.

Targets are the open action items and priorities and the decisions of the last days, each
owned by the agents of the sessions its provenance links cite. Each new turn since the last
scan (its own cursor over both transcript containers) is compared with the targets that
belong to OTHER agents, in two ways, both linear in the number of new turns:

- entities: names in a target (runs of capitalised words, "Maren Holt", "Acme Inc") are
  looked up as whole-token n-grams of the turn, case-sensitive: "This Inc" is never found in
  "This includes", and a sentence's first word alone is never a name;
- meaning: one embedding per turn against the targets' embeddings (a matrix product), from
  `signals_similarity` on.

A signal is recorded once per (target, agent, day) and at most `signals_max_per_day` a day;
each new one is sent through the alert sender (`openclaw.send`) when `signals_notify` is on
and an alert target is set. Turns older than `LOOKBACK` are read past, never signalled: a
first scan does not replay history.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog

from openclaw_infra.context.notes import ITEM, Note, decisions, open_items
from openclaw_infra.core.config import Settings
from openclaw_infra.core.db import transaction
from openclaw_infra.core.errors import InfraError
from openclaw_infra.openclaw.cursors import CursorStore
from openclaw_infra.openclaw.entries import Entry
from openclaw_infra.openclaw.reader import read_conversations
from openclaw_infra.openclaw.send import run_command, send_argv
from openclaw_infra.pipeline.daily.extractive import NOT_NAMES

if TYPE_CHECKING:
    import numpy as np

log = structlog.get_logger("infra.signals")

CONSUMER = JOB = "signals"
LOOKBACK = timedelta(hours=48)
MIN_TURN_CHARS = 20  # shorter turns ("ok", "thanks") say nothing to match by meaning
MAX_ENTITY_WORDS = 4
ENTITY, EMBEDDING = "entity", "embedding"

_WORD = re.compile(r"[^\W_][\w'’&.-]*[^\W_]|[^\W_]")
_CAPITALISED = re.compile(r"^[A-Z][\w'’&.-]*$")
# capitalised words that are not names on their own: the digest's list (days, months,
# pronouns) and sentence starts, verbs and roles
_NOT_NAMES = NOT_NAMES | frozenset(
    (
        "A",
        "An",
        "The",
        "This",
        "That",
        "These",
        "Those",
        "It",
        "Its",
        "I",
        "We",
        "You",
        "He",
        "She",
        "They",
        "Our",
        "My",
        "Your",
        "Their",
        "His",
        "Her",
        "And",
        "Or",
        "But",
        "If",
        "When",
        "Then",
        "Also",
        "Please",
        "Send",
        "Call",
        "Pay",
        "Book",
        "Ask",
        "Check",
        "Finish",
        "Renew",
        "Buy",
        "Get",
        "Make",
        "Write",
        "Email",
        "Review",
        "Plan",
        "Fix",
        "Update",
        "Chose",
        "Decided",
        "Dropped",
        "Move",
        "Keep",
        "Use",
        "Done",
        "Open",
        "Today",
        "Tomorrow",
        "Yesterday",
        "Mr",
        "Mrs",
        "Ms",
        "Dr",
    )
)

Embed = Callable[[Sequence[str]], "np.ndarray"]


def words(text: str) -> list[str]:
    """Whole tokens, case kept ("Acme", "Inc.", "O'Neil")."""
    return [w.rstrip(".") or w for w in _WORD.findall(text)]


def entities(text: str) -> set[tuple[str, ...]]:
    """Names in a target's text: runs of capitalised words, at most MAX_ENTITY_WORDS long,
    leaving out words that are capitalised for other reasons (a sentence start, a weekday)."""
    found: set[tuple[str, ...]] = set()
    run: list[str] = []
    starts_text = True
    for position, word in enumerate([*words(text), ""]):
        if word and _CAPITALISED.match(word):
            if not run:
                starts_text = position == 0
            run.append(word)
            continue
        # at the start of the text, or alone, such a word is capitalised for other reasons;
        # inside a run ("This Inc" mid-sentence) it is part of the name
        while run and run[0] in _NOT_NAMES and (starts_text or len(run) == 1):
            run.pop(0)
        if run and (len(run) > 1 or len(run[0]) >= 3):
            found.add(tuple(run[:MAX_ENTITY_WORDS]))
        run = []
    return found


@dataclass(frozen=True)
class Signal:
    day: str
    agent: str  # whose conversation touched the target
    citation: str  # the turn
    target: Note
    how: str
    matched: str


@dataclass
class ScanReport:
    turns: int = 0
    targets: int = 0
    recorded: list[Signal] = field(default_factory=list)
    capped: int = 0
    notified: int = 0
    notify_errors: list[str] = field(default_factory=list)
    source_errors: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "turns": self.turns,
            "targets": self.targets,
            "recorded": [
                {
                    "day": s.day,
                    "agent": s.agent,
                    "citation": s.citation,
                    "target": s.target.key,
                    "target_agents": sorted(s.target.agents),
                    "target_citation": s.target.citation,
                    "how": s.how,
                    "matched": s.matched,
                    "text": s.target.text,
                }
                for s in self.recorded
            ],
            "capped": self.capped,
            "notified": self.notified,
            "notify_errors": self.notify_errors,
            "source_errors": self.source_errors,
        }


class Matcher:
    """The targets, indexed once per scan: an n-gram table of their names, and one matrix
    of their embeddings (computed on the first turn that needs it)."""

    def __init__(self, targets: Sequence[Note], embed: Embed | None, threshold: float) -> None:
        self.targets = list(targets)
        self.embed = embed
        self.threshold = threshold
        self.names: dict[tuple[str, ...], list[int]] = {}
        for index, target in enumerate(self.targets):
            for name in entities(target.text):
                self.names.setdefault(name, []).append(index)
        self._matrix: np.ndarray | None = None

    def _by_name(self, text: str) -> dict[int, str]:
        tokens = words(text)
        hits: dict[int, str] = {}
        for start in range(len(tokens)):
            for size in range(1, MAX_ENTITY_WORDS + 1):
                gram = tuple(tokens[start : start + size])
                if len(gram) < size:
                    break
                for index in self.names.get(gram, ()):
                    hits.setdefault(index, " ".join(gram))
        return hits

    def _by_meaning(self, text: str) -> dict[int, str]:
        if self.embed is None or len(text) < MIN_TURN_CHARS or not self.targets:
            return {}
        if self._matrix is None:
            self._matrix = self.embed([t.text for t in self.targets])
        scores = self._matrix @ self.embed([text])[0]
        return {
            int(i): f"{float(scores[i]):.2f}"
            for i in range(len(self.targets))
            if float(scores[i]) >= self.threshold
        }

    def touched(self, entry: Entry) -> Iterable[tuple[Note, str, str]]:
        """(target, how, what matched) for each target of another agent this turn touches."""
        foreign = [
            i for i, t in enumerate(self.targets) if t.agents and entry.agent not in t.agents
        ]
        if not foreign:
            return
        named = self._by_name(entry.text)
        meant = self._by_meaning(entry.text) if entry.role == "user" else {}
        for index in foreign:
            if index in named:
                yield self.targets[index], ENTITY, named[index]
            elif index in meant:
                yield self.targets[index], EMBEDDING, meant[index]


def targets(settings: Settings, conn: sqlite3.Connection, today: datetime) -> list[Note]:
    from openclaw_infra.context.pack import session_owners

    owners = session_owners(settings)
    day = today.astimezone(settings.tz).date()
    found = open_items(conn, owners) + decisions(settings, day, owners)
    return [t for t in found if t.agents]


def _recorded_today(conn: sqlite3.Connection, day: str) -> int:
    row = conn.execute("SELECT count(*) FROM context_signals WHERE day=?", (day,)).fetchone()
    return int(row[0])


def _known(conn: sqlite3.Connection, signal: Signal) -> bool:
    row = conn.execute(
        "SELECT 1 FROM context_signals WHERE target=? AND agent=? AND day=?",
        (signal.target.key, signal.agent, signal.day),
    ).fetchone()
    return row is not None


def _record(conn: sqlite3.Connection, signal: Signal) -> bool:
    """Insert the signal; False when (target, agent, day) already has one."""
    cur = conn.execute(
        "INSERT OR IGNORE INTO context_signals(day, agent, citation, target, target_agents, "
        "target_citation, how, matched, text, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (
            signal.day,
            signal.agent,
            signal.citation,
            signal.target.key,
            json.dumps(sorted(signal.target.agents)),
            signal.target.citation,
            signal.how,
            signal.matched,
            signal.target.text,
            time.time(),
        ),
    )
    return cur.rowcount == 1


def message_of(signal: Signal) -> str:
    kind = "open item" if signal.target.section == ITEM else "decision"
    owners = ", ".join(sorted(signal.target.agents))
    return (
        f"Signal: a conversation with agent {signal.agent} touched agent {owners}'s {kind} "
        f'"{signal.target.text}" [{signal.target.citation}] (matched {signal.how} '
        f"{signal.matched}; turn {signal.citation})"
    )


def _notify(settings: Settings, conn: sqlite3.Connection, signal: Signal) -> str | None:
    error = run_command(
        send_argv(settings.alert_channel, settings.alert_target, message_of(signal))
    )
    with transaction(conn):
        conn.execute(
            "UPDATE context_signals SET notified_at=?, notify_error=? "
            "WHERE target=? AND agent=? AND day=?",
            (
                None if error else time.time(),
                error,
                signal.target.key,
                signal.agent,
                signal.day,
            ),
        )
    return error


def scan(
    settings: Settings,
    conn: sqlite3.Connection,
    *,
    embed: Embed | None,
    now: datetime | None = None,
) -> ScanReport:
    """Read the turns since the last scan, record and send the signals they raise."""
    now = now or datetime.now(UTC)
    report = ScanReport()
    matcher = Matcher(targets(settings, conn, now), embed, settings.signals_similarity)
    report.targets = len(matcher.targets)
    cursors = CursorStore(conn, CONSUMER)
    errors: list[InfraError] = []
    cutoff = now - LOOKBACK
    fresh: list[Signal] = []
    for source, _, batch in read_conversations(settings, cursors, job=JOB, errors=errors, now=now):
        for entry in batch.entries:
            if entry.role not in ("user", "assistant"):
                continue
            if entry.timestamp is None or entry.timestamp < cutoff:
                continue
            report.turns += 1
            day = entry.timestamp.astimezone(settings.tz).date().isoformat()
            for target, how, matched in matcher.touched(entry):
                fresh.append(Signal(day, entry.agent, entry.citation, target, how, matched))
        with transaction(conn):
            cursors.set(source.key, batch.end)
            for signal in fresh:
                if _known(conn, signal):
                    continue
                if _recorded_today(conn, signal.day) >= settings.signals_max_per_day:
                    report.capped += 1
                elif _record(conn, signal):
                    report.recorded.append(signal)
        fresh = []
    report.source_errors = len(errors)
    if settings.signals_notify and settings.alert_target:
        for signal in report.recorded:
            error = _notify(settings, conn, signal)
            if error is None:
                report.notified += 1
            else:
                report.notify_errors.append(error)
                log.warning("signals.notify_failed", error=error)
    return report


def scan_job(settings: Settings, *, embed: Embed | None = None) -> ScanReport:
    """`infra signals scan` as a ledgered job (lock, run record, log line)."""
    from openclaw_infra.core.jobs import run_job

    with run_job(settings, JOB) as job:
        if embed is None:
            embed = _embedder(settings)
        report = scan(settings, job.conn, embed=embed)
        job.run.items = len(report.recorded)
        job.run.details = {
            k: v for k, v in report.as_dict().items() if k not in ("recorded", "notify_errors")
        }
        job.run.details["notify_errors"] = len(report.notify_errors)
        return report


def _embedder(settings: Settings) -> Embed:
    """The service's model when `infra serve` is up, else this process's (loaded lazily)."""
    from openclaw_infra.memory.embedder import get_embedder
    from openclaw_infra.serve.embedder import service_embedder

    embedder = service_embedder(settings) or get_embedder(settings)
    return embedder.encode


def listed(conn: sqlite3.Connection, since_day: str) -> list[dict[str, Any]]:
    """Signals recorded from `since_day` on, newest first."""
    rows = conn.execute(
        "SELECT day, agent, citation, target, target_agents, target_citation, how, matched, "
        "text, notified_at, notify_error, created_at FROM context_signals WHERE day >= ? "
        "ORDER BY created_at DESC, id DESC",
        (since_day,),
    )
    out = []
    for row in rows:
        item = dict(row)
        item["target_agents"] = json.loads(item["target_agents"])
        out.append(item)
    return out
