"""`infra health --notify`: alert once per state change, never through a shell, within a
timeout, and say so when the alert could not be delivered."""

from __future__ import annotations

import json
import shlex
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from openclaw_infra.core.checks import WARNING, Check
from openclaw_infra.core.config import Settings
from openclaw_infra.openclaw.send import run_command as run_alert
from openclaw_infra.ops.health import Report
from openclaw_infra.ops.notify import build_argv, message_for

from conftest import OpenClawHome

RECORDER = """
import json, sys
with open(sys.argv[1], "a", encoding="utf-8") as fh:
    fh.write(json.dumps(sys.argv[2:]) + "\\n")
"""


def test_placeholders_fill_one_argument_each_without_a_shell(tmp_path: Path) -> None:
    """A hostile message stays one inert argument: no word splitting, no substitution."""
    message = "disk: 1 MiB free; $(touch pwned) `id` 'quoted' \"x\""
    argv = build_argv(
        "openclaw message send --channel {channel} --target {target} --message {message}",
        {"channel": "telegram", "target": "42", "message": message},
    )
    assert argv == [
        "openclaw",
        "message",
        "send",
        "--channel",
        "telegram",
        "--target",
        "42",
        "--message",
        message,
    ]
    assert run_alert(["/bin/echo", message], 5) is None
    assert not (tmp_path / "pwned").exists()


def test_failures_are_described(tmp_path: Path) -> None:
    """A missing program, a non-zero exit (with its last stderr line) and a timeout are each
    reported; the timeout kills the command's whole process group promptly."""
    assert "cannot run" in (run_alert([str(tmp_path / "no-such-alert")], 5) or "")
    failed = run_alert([sys.executable, "-c", "import sys; sys.exit('gateway down')"], 5)
    assert failed == "exit 1: gateway down"
    start = time.monotonic()
    slow = run_alert(["/bin/sh", "-c", "sleep 30 & sleep 30"], 0.5)
    assert slow == "timed out after 0.5s"
    assert time.monotonic() - start < 10


def test_message_names_the_change_and_never_a_secret() -> None:
    """The message says the new and previous state and the worst problems; perfdata and the
    API key are left out."""
    secret = "sk-ant-secret-123456"
    settings = Settings(anthropic_api_key=secret, timezone="UTC")
    report = Report(WARNING, [Check("llm", WARNING, f"key {secret} rejected", {"x": 1})], 1.0)
    text = message_for(report, "OK", settings)
    assert "infra WARNING (was OK)" in text and "llm: key [redacted] rejected" in text
    assert secret not in text and "x=1" not in text


def _health(home: OpenClawHome, command: str, *extra: str) -> dict[str, Any]:
    proc = home.run(
        "health",
        "--notify",
        "--json",
        *extra,
        extra_env={"OPENCLAW_INFRA_ALERT_COMMAND": command, "OPENCLAW_INFRA_ALERT_TARGET": "42"},
    )
    assert proc.returncode in (0, 1, 2), proc.stderr
    return dict(json.loads(proc.stdout))


def _verdicts(home: OpenClawHome) -> list[dict[str, Any]]:
    conn = sqlite3.connect(home.data / "infra.sqlite")
    rows = conn.execute("SELECT details FROM runs WHERE job='health' ORDER BY started_at")
    out = [json.loads(r[0]) for r in rows]
    conn.close()
    return out


def test_alerts_once_per_change_and_retries_a_failed_one(
    oc_home: OpenClawHome, tmp_path: Path
) -> None:
    """The first non-OK verdict alerts; the same state again does not; a failed alert is in
    the output and the ledger and is retried on the next run, which then delivers it."""
    script = tmp_path / "recorder.py"
    script.write_text(RECORDER)
    log = tmp_path / "alerts.jsonl"
    good = f"{shlex.quote(sys.executable)} {script} {log} {{state}} {{previous}} {{message}}"
    bad = f"{shlex.quote(sys.executable)} -c 'import sys; sys.exit(\"no gateway\")'"

    first = _health(oc_home, good)
    state = first["state"]
    assert state != "OK"  # a fresh home has problems (no job has run yet)
    assert first["notification"] == {
        "status": "sent",
        "previous": "OK",
        "command": Path(sys.executable).name,
    }
    sent = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(sent) == 1 and sent[0][:2] == [state, "OK"]
    assert sent[0][2].startswith(f"infra {state} (was OK) on ")

    assert _health(oc_home, good)["notification"] == {"status": "unchanged", "previous": state}
    assert len(log.read_text().splitlines()) == 1

    (oc_home.data / "leaky.txt").write_text("x")
    (oc_home.data / "leaky.txt").chmod(0o644)  # paths check: CRITICAL
    failed = oc_home.run(
        "health",
        "--notify",
        extra_env={"OPENCLAW_INFRA_ALERT_COMMAND": bad, "OPENCLAW_INFRA_ALERT_TARGET": "42"},
    )
    assert failed.returncode == 2
    assert "notification failed (" in failed.stdout and "no gateway" in failed.stdout
    last = _verdicts(oc_home)[-1]
    assert last["state"] == "CRITICAL" and last["alert_state"] == state
    assert last["notification"]["status"] == "failed"

    retried = _health(oc_home, good)
    assert retried["notification"]["status"] == "sent"
    assert retried["notification"]["previous"] == state
    assert [a[:2] for a in map(json.loads, log.read_text().splitlines())] == [
        [state, "OK"],
        ["CRITICAL", state],
    ]


def test_no_target_means_no_alert(oc_home: OpenClawHome) -> None:
    """With the default command and no alert target nothing runs; the verdict records it."""
    proc = oc_home.run("health", "--notify", "--quiet")
    assert proc.returncode in (1, 2) and proc.stdout == ""
    last = _verdicts(oc_home)[-1]
    assert last["notification"] == {"status": "disabled", "previous": "OK"}


@pytest.mark.parametrize("template", ["openclaw message send --message '{message}"])
def test_unsplittable_command_is_a_config_error(template: str) -> None:
    """A template with an unbalanced quote is refused as configuration (exit 78)."""
    from openclaw_infra.core.errors import ConfigError

    with pytest.raises(ConfigError, match="OPENCLAW_INFRA_ALERT_COMMAND"):
        build_argv(template, {})
