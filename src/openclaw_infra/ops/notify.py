"""`infra health --notify`: tell the operator when the overall state changes, once.

The alert command is a template split like a shell would (`shlex`), but run without one
(`openclaw.send.run_command`):
each `{placeholder}` is filled inside its own argument, so a message with quotes, `;` or
`$(...)` stays one inert argument. It runs in its own process group with a timeout, and the
whole group is killed when the time is up (OpenClaw's CLI is a Node process with children).

"Changed" is measured against the state the operator was last told about: each recorded
verdict carries `alert_state`. A delivered alert moves it to the new state; a failed one
leaves it, so the next run tries again instead of the change being swallowed. Verdicts
recorded without `--notify` count by their `state`. Before any verdict the baseline is OK.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import sqlite3
from dataclasses import dataclass
from typing import Any

from openclaw_infra.core.config import Settings
from openclaw_infra.core.errors import ConfigError
from openclaw_infra.core.logging import redact_text, register_secret
from openclaw_infra.openclaw.send import run_command
from openclaw_infra.ops.health import Report

ALERT_TIMEOUT_S = 30.0
PLACEHOLDERS = ("channel", "target", "message", "state", "previous", "host")
MESSAGE_MAX_CHARS = 1000
BASELINE = "OK"


@dataclass(frozen=True)
class Notification:
    status: str  # "sent", "unchanged", "disabled" or "failed"
    state: str  # the overall state now
    previous: str  # what the operator knew before this run
    alert_state: str  # what the operator knows after it
    error: str | None = None
    command: str | None = None  # the program only: its arguments may hold a token

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    def details(self) -> dict[str, Any]:
        """What the ledger row of this verdict records."""
        note: dict[str, Any] = {"status": self.status, "previous": self.previous}
        if self.command:
            note["command"] = self.command
        if self.error:
            note["error"] = self.error
        return {"alert_state": self.alert_state, "notification": note}

    def line(self) -> str:
        if self.failed:
            return f"notification failed ({self.command}): {self.error}"
        return f"notification {self.status}: {self.previous} -> {self.state}"


def last_alert_state(conn: sqlite3.Connection, exclude_run_id: str) -> str | None:
    """The state of the last recorded health verdict the operator knows about."""
    row = conn.execute(
        "SELECT details FROM runs WHERE job='health' AND status='ok' AND run_id != ? "
        "AND details IS NOT NULL ORDER BY started_at DESC LIMIT 1",
        (exclude_run_id,),
    ).fetchone()
    if row is None:
        return None
    try:
        details = json.loads(row[0])
    except (TypeError, ValueError):
        return None
    if not isinstance(details, dict):
        return None
    known = details.get("alert_state") or details.get("state")
    return known if isinstance(known, str) else None


def scrub(text: str, settings: Settings) -> str:
    """Secrets never leave in a message or a recorded error: the configured key (registered
    here too, for a caller that did not start from the CLI) and every key shape."""
    register_secret(settings.api_key)
    return redact_text(text)


def build_argv(template: str, values: dict[str, str]) -> list[str]:
    """Split the template into argv, then fill placeholders inside each argument."""
    try:
        tokens = shlex.split(template)
    except ValueError as exc:
        raise ConfigError(f"OPENCLAW_INFRA_ALERT_COMMAND: cannot be split: {exc}") from None
    argv = []
    for token in tokens:
        filled = token
        for name in PLACEHOLDERS:
            filled = filled.replace("{" + name + "}", values.get(name, ""))
        argv.append(filled)
    return argv


def message_for(report: Report, previous: str, settings: Settings) -> str:
    line = report.first_line()
    if any(c.perf for c in report.checks):
        line = line.rsplit(" | ", 1)[0]  # perfdata is for monitors, not for people
    text = line.split(" - ", 1)[1] if " - " in line else line
    message = f"infra {report.label} (was {previous}) on {socket.gethostname()}: {text}"
    return scrub(message, settings)[:MESSAGE_MAX_CHARS]


def notify_on_change(
    settings: Settings,
    report: Report,
    conn: sqlite3.Connection,
    run_id: str,
    *,
    timeout_s: float = ALERT_TIMEOUT_S,
) -> Notification:
    """Alert when the state differs from what the operator was last told; the caller holds
    the `health` job lock, so two runs never both announce one change."""
    state = report.label
    previous = last_alert_state(conn, run_id) or BASELINE
    if state == previous:
        return Notification("unchanged", state, previous, state)
    template = settings.alert_command.strip()
    if not template or ("{target}" in template and not settings.alert_target.strip()):
        return Notification("disabled", state, previous, state)
    values = {
        "channel": settings.alert_channel,
        "target": settings.alert_target,
        "message": message_for(report, previous, settings),
        "state": state,
        "previous": previous,
        "host": socket.gethostname(),
    }
    try:
        argv = build_argv(template, values)
    except ConfigError as exc:  # health still reports; the broken setting is the failure
        return Notification("failed", state, previous, previous, scrub(str(exc), settings))
    if not argv:
        return Notification("disabled", state, previous, state)
    command = os.path.basename(argv[0])
    error = run_command(argv, timeout_s)
    if error is not None:
        return Notification("failed", state, previous, previous, scrub(error, settings), command)
    return Notification("sent", state, previous, state, command=command)
