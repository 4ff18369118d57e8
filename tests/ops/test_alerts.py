"""Alerts on the schedule: every change of state, reminders while CRITICAL lasts, quiet
hours, delivery failures retried and reported, and a broken config.env that still alerts.

Decisions run on an injected clock (no sleeps); every run is a real `record_verdict` into a
real infra.sqlite, and the alert is a real subprocess (a recorder script as the command).
"""

from __future__ import annotations

import json
import shlex
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from openclaw_infra.core.checks import CRITICAL, OK, WARNING, Check, HealthContext, open_readonly
from openclaw_infra.core.config import Settings
from openclaw_infra.core.errors import ConfigError
from openclaw_infra.openclaw.send import send_argv
from openclaw_infra.ops.alert_checks import check_alerts
from openclaw_infra.ops.alert_config import salvage_settings
from openclaw_infra.ops.alerts import QuietHours
from openclaw_infra.ops.health import Report
from openclaw_infra.ops.health_record import record_verdict
from openclaw_infra.ops.notify import alert_argv, message_for

from conftest import OpenClawHome

RECORDER = """
import json, sys
with open(sys.argv[1], "a", encoding="utf-8") as fh:
    fh.write(json.dumps(sys.argv[2:]) + "\\n")
"""
HOUR = 3600.0
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC).timestamp()  # a Monday noon, UTC


class Alerts:
    """A home whose alert command records each alert's state and message."""

    def __init__(self, home: OpenClawHome, tmp_path: Path) -> None:
        self.home = home
        self.log = tmp_path / "alerts.jsonl"
        script = tmp_path / "recorder.py"
        script.write_text(RECORDER)
        self.command = f"{shlex.quote(sys.executable)} {script} {self.log} {{state}} {{message}}"

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {"alert_command": self.command, "alert_target": "42"}
        return self.home.settings(**{**values, **overrides})  # type: ignore[no-any-return]

    def run(self, state: int, at: float, *checks: Check, **overrides: Any) -> str:
        """One scheduled health run at `at`; returns what it did about alerts."""
        found = list(checks) or [Check("disk", state, f"state {state}")]
        report = Report(state, found, 0.0)
        outcome = record_verdict(self.settings(**overrides), report, notify=True, now=at)
        assert outcome is not None
        return outcome.status

    def sent(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def verdict(self) -> dict[str, Any]:
        conn = sqlite3.connect(self.home.data / "infra.sqlite")
        row = conn.execute(
            "SELECT details FROM runs WHERE job='health' ORDER BY started_at DESC, rowid DESC"
        ).fetchone()
        conn.close()
        return dict(json.loads(row[0]))

    def check(self, at: float, **overrides: Any) -> Check:
        settings = self.settings(**overrides)
        conn = open_readonly(settings)
        try:
            (result,) = check_alerts(HealthContext(settings, conn, now=at))
        finally:
            if conn is not None:
                conn.close()
        return result


@pytest.fixture
def alerts(oc_home: OpenClawHome, tmp_path: Path) -> Alerts:
    return Alerts(oc_home, tmp_path)


def test_every_change_worse_and_better_is_sent_once(alerts: Alerts) -> None:
    """OK at first says nothing; the first WARNING, the step to CRITICAL, the step back to
    WARNING and the recovery are each sent once; repeats of a state are not."""
    steps = [
        (OK, "unchanged"),
        (WARNING, "sent"),
        (WARNING, "unchanged"),
        (CRITICAL, "sent"),
        (WARNING, "sent"),
        (OK, "sent"),
        (OK, "unchanged"),
    ]
    for i, (state, expected) in enumerate(steps):
        assert alerts.run(state, T0 + i * 600) == expected, i
        if i == 0:
            assert alerts.check(T0).summary == "no alert sent yet"
    assert [s[0] for s in alerts.sent()] == ["WARNING", "CRITICAL", "WARNING", "OK"]
    messages = [s[1] for s in alerts.sent()]
    assert messages[0].startswith("infra WARNING (was OK) on ")
    assert messages[1].startswith("infra CRITICAL (was WARNING) on ")
    assert messages[3].startswith("infra OK (was WARNING) on ") and "all 1 checks ok" in messages[3]
    assert alerts.verdict()["alert_state"] == "OK"


def test_reminder_every_6_hours_while_critical(alerts: Alerts) -> None:
    """A CRITICAL that lasts is repeated every 6 h (counted from the last delivery), with how
    long it has lasted; WARNING is never repeated; 0 turns reminders off."""
    assert alerts.run(CRITICAL, T0) == "sent"
    assert alerts.run(CRITICAL, T0 + 6 * HOUR - 60) == "unchanged"
    assert alerts.run(CRITICAL, T0 + 6 * HOUR) == "reminder"
    assert alerts.run(CRITICAL, T0 + 9 * HOUR) == "unchanged"
    assert alerts.run(CRITICAL, T0 + 12 * HOUR + 30) == "reminder"
    sent = alerts.sent()
    assert len(sent) == 3
    assert sent[1][1].startswith("infra still CRITICAL on ") and ", for 6h:" in sent[1][1]
    assert ", for 12h:" in sent[2][1]
    assert alerts.run(CRITICAL, T0 + 30 * HOUR, alert_remind_hours=0) == "unchanged"

    assert alerts.run(WARNING, T0 + 31 * HOUR) == "sent"
    assert alerts.run(WARNING, T0 + 60 * HOUR) == "unchanged"
    assert len(alerts.sent()) == 4


def test_quiet_hours_hold_news_until_they_end_but_not_critical(alerts: Alerts) -> None:
    """22:00-07:00: a WARNING at 23:00 waits and is sent at the first run after 07:00; a
    change to CRITICAL is sent at once; its reminder waits for the morning; a blip that
    undid itself during the night is not announced."""
    quiet = {"alert_quiet_hours": "22:00-07:00"}
    night = T0 + 11 * HOUR  # 23:00 UTC
    assert alerts.run(WARNING, night, **quiet) == "held"
    assert alerts.check(night + 60, **quiet).summary.endswith("end of quiet hours")
    assert alerts.run(WARNING, night + 4 * HOUR, **quiet) == "held"
    assert alerts.sent() == []
    assert alerts.run(WARNING, night + 8 * HOUR, **quiet) == "sent"  # 07:00
    assert alerts.sent()[0][1].startswith("infra WARNING (was OK)")

    next_night = night + 24 * HOUR
    assert alerts.run(CRITICAL, next_night, **quiet) == "sent"  # never held
    assert alerts.run(CRITICAL, next_night + 6 * HOUR, **quiet) == "held"  # 05:00 reminder
    assert alerts.run(CRITICAL, next_night + 8 * HOUR, **quiet) == "reminder"
    assert [s[0] for s in alerts.sent()] == ["WARNING", "CRITICAL", "CRITICAL"]

    assert alerts.run(OK, next_night + 9 * HOUR) == "sent"
    blip_night = night + 48 * HOUR
    assert alerts.run(WARNING, blip_night, **quiet) == "held"
    assert alerts.run(OK, blip_night + HOUR, **quiet) == "unchanged"
    assert alerts.run(OK, blip_night + 8 * HOUR, **quiet) == "unchanged"
    assert len(alerts.sent()) == 4


def test_quiet_hours_are_in_the_users_timezone() -> None:
    """22:00-07:00 in Tokyo is 13:00-22:00 UTC; equal ends mean no quiet hours."""
    window = QuietHours.parse("22:00-07:00")
    assert window is not None
    from zoneinfo import ZoneInfo

    tokyo = ZoneInfo("Asia/Tokyo")
    assert window.contains(T0 + 2 * HOUR, tokyo)  # 14:00 UTC = 23:00 Tokyo
    assert not window.contains(T0 - 4 * HOUR, tokyo)  # 08:00 UTC = 17:00 Tokyo
    assert QuietHours.parse("07:00-07:00") is None
    assert QuietHours.parse("") is None


def test_bad_quiet_hours_are_a_config_error_naming_the_variable(
    oc_home: OpenClawHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A quiet-hours value that is not HH:MM-HH:MM stops at start-up, naming the variable."""
    from openclaw_infra.core.config import load_settings

    monkeypatch.setenv("OPENCLAW_INFRA_ALERT_QUIET_HOURS", "22h-7h")
    with pytest.raises(ConfigError, match="OPENCLAW_INFRA_ALERT_QUIET_HOURS"):
        load_settings()


def test_delivery_failure_is_recorded_reported_and_retried(alerts: Alerts) -> None:
    """A failing sender leaves the change owed: the verdict records the failures and the
    reason, health's `alerts` check warns, and the next run with a working sender
    delivers the change and clears the warning."""
    broken = (
        f"{shlex.quote(sys.executable)} -c 'import sys; sys.exit(\"gateway down\")' {{message}}"
    )
    assert alerts.run(CRITICAL, T0, alert_command=broken) == "failed"
    assert alerts.run(CRITICAL, T0 + 1800, alert_command=broken) == "failed"
    verdict = alerts.verdict()
    assert verdict["alert_state"] == "OK"
    assert verdict["notification"]["failures"] == 2
    assert verdict["notification"]["failing_since"] == T0
    assert verdict["notification"]["error"] == "exit 1: gateway down"
    warned = alerts.check(T0 + 3600)
    assert warned.state == WARNING and warned.perf == {"alert_failures": 2}
    assert "2 delivery attempt(s) failed, for 60m: exit 1: gateway down" in warned.summary

    assert alerts.run(CRITICAL, T0 + 3600) == "sent"
    assert alerts.sent()[0][:1] == ["CRITICAL"] and "(was OK)" in alerts.sent()[0][1]
    assert alerts.verdict()["notification"] == {
        "status": "sent",
        "previous": "OK",
        "command": Path(sys.executable).name,
    }
    settled = alerts.check(T0 + 3700)
    assert settled.state == OK and settled.summary == "told CRITICAL 100s ago"


def test_alerts_off_without_a_target(alerts: Alerts) -> None:
    """The default sender needs a target: without one nothing runs and health says so."""
    assert alerts.run(CRITICAL, T0, alert_command="", alert_target="") == "disabled"
    assert alerts.check(T0, alert_command="", alert_target="").summary.startswith("off")
    assert alerts.sent() == []
    # enabled later: the state the operator never heard of is sent
    assert alerts.run(CRITICAL, T0 + 60) == "sent"


def test_secrets_never_reach_the_message_or_the_ledger(alerts: Alerts) -> None:
    """The API key (and any key shape) is redacted from the alert text and from a recorded
    delivery error, even when a check's summary or the sender's stderr quotes it."""
    secret = "sk-ant-api03-secretsecretsecret"
    leak = Check("llm", CRITICAL, f"key {secret} rejected")
    assert alerts.run(CRITICAL, T0, leak, anthropic_api_key=secret) == "sent"
    assert secret not in alerts.log.read_text() and "[redacted]" in alerts.sent()[0][1]

    loud = f"{shlex.quote(sys.executable)} -c 'import sys; sys.exit(\"auth {secret} refused\")'"
    assert alerts.run(OK, T0 + 60, alert_command=loud, anthropic_api_key=secret) == "failed"
    assert alerts.verdict()["notification"]["error"] == "exit 1: auth [redacted] refused"
    stored = [p.read_bytes() for p in alerts.home.data.rglob("*") if p.is_file()]
    assert stored and not any(secret.encode() in blob for blob in stored)


def test_message_names_the_failing_checks_and_the_command_to_run() -> None:
    """The worst checks come first, in words, and the command is the one a check names (a
    backticked `infra ...`), else `infra health`; perfdata never appears."""
    settings = Settings(timezone="UTC")
    report = Report(
        CRITICAL,
        [
            Check("disk", WARNING, "90 MiB free on /", {"disk_free_mb": 90}),
            Check("database", CRITICAL, "x is corrupt; run `infra index --rebuild`, which ..."),
            Check("paths", OK, "private"),
        ],
        0.0,
    )
    text = message_for(report, "OK", settings)
    lines = text.splitlines()
    assert lines[0].startswith("infra CRITICAL (was OK) on ") and lines[0].endswith(":")
    assert (
        lines[1].startswith("- database: x is corrupt") and lines[2] == "- disk: 90 MiB free on /"
    )
    assert lines[-1] == "Run: infra index --rebuild"
    assert "disk_free_mb" not in text and "paths" not in text
    plain = Report(WARNING, [Check("disk", WARNING, "90 MiB free")], 0.0)
    assert message_for(plain, "OK", settings).endswith("\nRun: infra health")


def test_default_sender_is_openclaw_message_send(tmp_path: Path) -> None:
    """With no command template the argv is `openclaw.send.send_argv`'s, for the configured
    channel and target; an empty channel is left to OpenClaw; no target means no alert."""
    settings = Settings(timezone="UTC", alert_target="42")
    assert alert_argv(settings, "hi", "WARNING", "OK") == send_argv("telegram", "42", "hi")
    assert alert_argv(settings, "hi", "WARNING", "OK", dry_run=True)[-2:] == ["--dry-run", "--json"]
    anywhere = Settings(timezone="UTC", alert_target="42", alert_channel="")
    assert "--channel" not in alert_argv(anywhere, "hi", "WARNING", "OK")
    assert alert_argv(Settings(timezone="UTC"), "hi", "WARNING", "OK") == []
    custom = Settings(timezone="UTC", alert_command="notify-send {state} {message}")
    assert alert_argv(custom, "a b", "WARNING", "OK") == ["notify-send", "WARNING", "a b"]


def test_salvage_takes_the_environment_first_then_the_lines_that_validate(
    oc_home: OpenClawHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each setting comes from the first source whose value validates: a bad environment
    value falls back to config.env's, a bad or unparsable line to the default."""
    oc_home.data.mkdir(mode=0o700, parents=True, exist_ok=True)
    (oc_home.data / "config.env").write_text(
        "OPENCLAW_INFRA_ALERT_TARGET=99\n"
        "OPENCLAW_INFRA_TIMEZONE=Europe/Paris\n"
        "this line does not parse\n"
        "OPENCLAW_INFRA_LOG_LEVEL=loud\n"
        "OPENCLAW_INFRA_ALERT_CHANNEL=signal\n"
    )
    monkeypatch.setenv("OPENCLAW_INFRA_TIMEZONE", "Mars/Base")
    monkeypatch.setenv("OPENCLAW_INFRA_ALERT_CHANNEL", "telegram")
    settings, dropped = salvage_settings()
    assert dropped == ["OPENCLAW_INFRA_LOG_LEVEL", "OPENCLAW_INFRA_TIMEZONE"]
    assert settings.timezone == "Europe/Paris"
    assert settings.alert_target == "99" and settings.alert_channel == "telegram"
    assert settings.log_level == "info" and settings.data == oc_home.data


def test_broken_config_env_alerts_once_and_health_names_the_variable(
    oc_home: OpenClawHome, tmp_path: Path
) -> None:
    """A mistyped timezone in config.env: health exits CRITICAL naming the variable, the
    scheduled run alerts with the alert settings config.env still gives, once per change
    (the second run is unchanged), and the fix is announced."""
    script = tmp_path / "recorder.py"
    script.write_text(RECORDER)
    log = tmp_path / "alerts.jsonl"
    del oc_home.env["OPENCLAW_INFRA_TIMEZONE"]
    oc_home.data.mkdir(mode=0o700, parents=True, exist_ok=True)
    config = oc_home.data / "config.env"
    good = (
        f"OPENCLAW_INFRA_ALERT_COMMAND='{sys.executable} {script} {log} {{state}} {{message}}'\n"
        "OPENCLAW_INFRA_ALERT_TARGET=42\n"
    )
    config.write_text(good + "OPENCLAW_INFRA_TIMEZONE=Mars/Base\n")
    config.chmod(0o600)

    plain = oc_home.run("health")
    assert plain.returncode == 2, plain.stderr
    assert plain.stdout.startswith("INFRA CRITICAL - settings: OPENCLAW_INFRA_TIMEZONE")
    for _ in range(2):
        scheduled = oc_home.run("health", "--quiet", "--notify")
        assert scheduled.returncode == 2 and scheduled.stdout == "", scheduled.stderr
    sent = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(sent) == 1 and sent[0][0] == "CRITICAL"
    assert "settings: OPENCLAW_INFRA_TIMEZONE" in sent[0][1] and "Mars/Base" in sent[0][1]

    config.write_text(good + "OPENCLAW_INFRA_TIMEZONE=UTC\n")
    fixed = oc_home.run("health", "--quiet", "--notify")
    assert fixed.returncode != 2 or "settings" not in fixed.stdout
    sent = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(sent) == 2 and sent[1][1].startswith(f"infra {sent[1][0]} (was CRITICAL) on ")
