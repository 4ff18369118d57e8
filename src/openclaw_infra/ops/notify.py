"""`infra health --notify`: tell the operator what changed, remind while CRITICAL lasts.

When to send is `ops.alerts` (a change of overall state, a reminder, quiet hours); this
module writes the message and delivers it. The default sender is `openclaw message send`
to the alert channel and target, its argv built by `openclaw.send.send_argv` (the one
builder, checked against the real OpenClaw). `OPENCLAW_INFRA_ALERT_COMMAND` replaces it with
a template split like a shell would (`shlex`), but run without one (`openclaw.send.
run_command`): each `{placeholder}` is filled inside its own argument, so a message with
quotes, `;` or `$(...)` stays one inert argument.

A delivered alert moves the recorded `alert_state`; a failed one leaves it and counts the
failure, so the next run tries again instead of the change being swallowed, and
`alert_checks` reports the failing delivery.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from openclaw_infra.core.checks import OK, fmt_age
from openclaw_infra.core.config import Settings
from openclaw_infra.core.errors import ConfigError
from openclaw_infra.core.logging import redact_text, register_secret
from openclaw_infra.openclaw.send import run_command, send_argv
from openclaw_infra.ops.alerts import (
    CHANGE,
    HELD,
    UNCHANGED,
    AlertMemory,
    QuietHours,
    alerts_off,
    decide,
    last_memory,
)
from openclaw_infra.ops.health import Report

ALERT_TIMEOUT_S = 60.0  # a cold `openclaw message send` takes 10-20 s on a busy host
PLACEHOLDERS = ("channel", "target", "message", "state", "previous", "host")
MESSAGE_MAX_CHARS = 1000
MAX_PROBLEMS = 4
SUMMARY_MAX_CHARS = 180
DEFAULT_COMMAND = "infra health"
# a command a check names in its summary (`infra index --rebuild`): the one to run
_COMMAND_RE = re.compile(r"`((?:infra|openclaw|\./deploy\.sh)\b[^`]*)`")


@dataclass(frozen=True)
class Notification:
    """What this run did about alerts, and what the operator knows after it."""

    status: str  # "sent", "reminder", "held", "unchanged", "disabled" or "failed"
    state: str  # the overall state now
    previous: str  # what the operator knew before this run
    memory: AlertMemory  # what the operator knows after it
    error: str | None = None
    command: str | None = None  # the program only: its arguments may hold a token

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    @property
    def alert_state(self) -> str:
        return self.memory.state

    def details(self) -> dict[str, Any]:
        """What the ledger row of this verdict records."""
        details = self.memory.details()
        note = details["notification"]
        note.update(status=self.status, previous=self.previous)
        if self.command:
            note["command"] = self.command
        if self.error:
            note["error"] = self.error
        return details

    def line(self) -> str:
        if self.failed:
            return f"notification failed ({self.command}): {self.error}"
        return f"notification {self.status}: {self.previous} -> {self.state}"


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


def alert_argv(
    settings: Settings, message: str, state: str, previous: str, *, dry_run: bool = False
) -> list[str]:
    """The argv that delivers one alert; [] when alerts are off (no target, no command).
    `dry_run` is OpenClaw's `--dry-run --json` and applies to the default sender only."""
    if alerts_off(settings):
        return []
    template = settings.alert_command.strip()
    target = settings.alert_target.strip()
    if not template:
        return send_argv(settings.alert_channel.strip(), target, message, dry_run=dry_run)
    values = {
        "channel": settings.alert_channel,
        "target": target,
        "message": message,
        "state": state,
        "previous": previous,
        "host": socket.gethostname(),
    }
    return build_argv(template, values)


def command_for(report: Report) -> str:
    """The one command to run: the first a problem names (worst first), else the report."""
    for check in sorted(report.checks, key=lambda c: -c.state):
        match = _COMMAND_RE.search(check.summary) if check.state != OK else None
        if match:
            return match.group(1)
    return DEFAULT_COMMAND


def message_for(
    report: Report,
    previous: str,
    settings: Settings,
    *,
    since: float | None = None,
    now: float | None = None,
) -> str:
    """The alert's text: the state, the failing checks in words, the command to run. With
    `since` it is a reminder of a state the operator was told about at `since`."""
    host = socket.gethostname()
    state = report.label
    if since is not None:
        age = fmt_age((time.time() if now is None else now) - since)
        head = f"infra still {state} on {host}, for {age}"
    else:
        head = f"infra {state} (was {previous}) on {host}"
    problems = sorted((c for c in report.checks if c.state != OK), key=lambda c: -c.state)
    if not problems:
        lines = [f"{head}: all {len(report.checks)} checks ok"]
    else:
        lines = [f"{head}:"]
        for check in problems[:MAX_PROBLEMS]:
            summary = check.summary
            if len(summary) > SUMMARY_MAX_CHARS:
                summary = summary[: SUMMARY_MAX_CHARS - 1] + "…"
            lines.append(f"- {check.name}: {summary}")
        if len(problems) > MAX_PROBLEMS:
            lines.append(f"- and {len(problems) - MAX_PROBLEMS} more")
        lines.append(f"Run: {command_for(report)}")
    return scrub("\n".join(lines), settings)[:MESSAGE_MAX_CHARS]


def notify_on_change(
    settings: Settings,
    report: Report,
    conn: sqlite3.Connection,
    run_id: str,
    *,
    now: float | None = None,
    timeout_s: float = ALERT_TIMEOUT_S,
) -> Notification:
    """Send what `ops.alerts.decide` says is due; the caller holds the `health` job lock, so
    two runs never both announce one change. `now` is the clock the decision uses."""
    now = time.time() if now is None else now
    state = report.label
    memory = last_memory(conn, run_id)
    previous = memory.state
    quiet = QuietHours.parse(settings.alert_quiet_hours)
    action = decide(
        memory,
        state,
        now,
        remind_s=settings.alert_remind_hours * 3600,
        quiet_now=quiet is not None and quiet.contains(now, settings.tz),
    )
    if action == UNCHANGED:
        return Notification("unchanged", state, previous, memory.settled())
    if action == HELD:
        return Notification("held", state, previous, memory)
    since = None if action == CHANGE else memory.since
    message = message_for(report, previous, settings, since=since, now=now)
    try:
        argv = alert_argv(settings, message, state, previous)
    except ConfigError as exc:  # health still reports; the broken setting is the failure
        why = scrub(str(exc), settings)
        return Notification("failed", state, previous, memory.failed(why, now), why)
    if not argv:
        return Notification("disabled", state, previous, memory.settled())
    command = os.path.basename(argv[0])
    error = run_command(argv, timeout_s)
    if error is not None:
        why = scrub(error, settings)
        return Notification("failed", state, previous, memory.failed(why, now), why, command)
    status = "sent" if action == CHANGE else "reminder"
    return Notification(status, state, previous, memory.told(state, now), command=command)
