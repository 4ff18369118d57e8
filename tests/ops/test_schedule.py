"""`infra schedule`: the crontab block from the job registry, each job's schedule setting and
the environment deploy runs with (never a secret); the LaunchAgents from the same."""

from __future__ import annotations

import plistlib
import subprocess
import sys
from pathlib import Path

import pytest

from openclaw_infra.core.config import Settings, env_name
from openclaw_infra.core.errors import UsageError
from openclaw_infra.core.jobs import JOBS, SERVICE, cron_fields, period_of, schedule_setting
from openclaw_infra.ops.install.environment import crontab_assignment, job_environment

from conftest import OpenClawHome

BIN = "/opt/infra/venv/bin/infra"
KEY = "sk-ant-api03-not-a-real-key-but-secret"


def _cron_env(block: str, home: Path) -> dict[str, str]:
    """The environment cron gives the block's commands: HOME, and its assignments (cron
    strips one pair of matching quotes)."""
    env = {"HOME": str(home)}
    for line in block.splitlines():
        name, eq, value = line.partition("=")
        if eq and not line.startswith("#") and " " not in name:
            value = value.strip()
            if len(value) > 1 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            env[name] = value
    return env


def test_block_carries_the_profile_and_never_a_secret(oc_home: OpenClawHome) -> None:
    """With OPENCLAW_PROFILE=work the block sets it, so a job cron starts reads
    ~/.openclaw-work; a setting given in the environment is carried, one equal to its
    default is not, and an API key is named as withheld but its value never printed."""
    home = oc_home.root / "home"
    env = {k: v for k, v in oc_home.env.items() if k != "OPENCLAW_STATE_DIR"}
    env.update(
        {
            "OPENCLAW_PROFILE": "work",
            "OPENCLAW_INFRA_RECALL_LIMIT": "8",  # the default
            "OPENCLAW_INFRA_SUMMARIZER": "extractive",
            "OPENCLAW_INFRA_ANTHROPIC_API_KEY": KEY,
            "OPENCLAW_GATEWAY_TOKEN": "tok-secret-value",
        }
    )
    done = subprocess.run(
        [sys.executable, "-m", "openclaw_infra", "schedule", "--bin", BIN],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    block = done.stdout
    assert "OPENCLAW_PROFILE=work\n" in block
    assert "OPENCLAW_INFRA_SUMMARIZER=extractive\n" in block
    assert "OPENCLAW_INFRA_RECALL_LIMIT" not in block
    assert KEY not in block and "tok-secret-value" not in block
    assert "OPENCLAW_GATEWAY_TOKEN, OPENCLAW_INFRA_ANTHROPIC_API_KEY" in block
    assert f"*/5 * * * * {BIN} serve --ensure >/dev/null 2>&1" in block
    assert f"@reboot {BIN} serve --ensure >/dev/null 2>&1" in block
    assert "OPENCLAW_INFRA_SCHEDULE_SUMMARIZE" in block  # the header says how to change one
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "from openclaw_infra.core.config import load_settings as s; print(s().state_dir)",
        ],
        env={**_cron_env(block, home), "PYTHONPATH": ":".join(sys.path)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip() == str(home / ".openclaw-work")


def test_schedule_setting_per_job(oc_home: OpenClawHome) -> None:
    """A job's schedule setting (config.env or environment) moves its line; the others keep
    the registry's; config.env's own values are not copied into the block."""
    oc_home.data.mkdir(parents=True, exist_ok=True)
    (oc_home.data / "config.env").write_text(
        'OPENCLAW_INFRA_SCHEDULE_SUMMARIZE="7 * * * *"\nOPENCLAW_INFRA_RECALL_LIMIT=5\n'
    )
    extra = {"OPENCLAW_INFRA_SCHEDULE_INDEX": "*/10  * * * *"}
    done = oc_home.run("schedule", "--bin", BIN, extra_env=extra)
    assert done.returncode == 0, done.stderr
    assert f"\n7 * * * * {BIN} summarize >" in done.stdout
    assert f"\n*/10 * * * * {BIN} index >" in done.stdout
    assert f"\n0 21 * * * {BIN} daily-sync >" in done.stdout
    assert "RECALL_LIMIT" not in done.stdout
    assert f"OPENCLAW_STATE_DIR={oc_home.state}\n" in done.stdout
    agents = oc_home.root / "agents"
    done = oc_home.run("schedule", "--bin", BIN, "--launchd", str(agents), extra_env=extra)
    assert done.returncode == 0, done.stderr
    summarize = plistlib.loads((agents / "ai.openclaw.infra.summarize.plist").read_bytes())
    assert summarize["StartCalendarInterval"] == [{"Minute": 7}]
    assert summarize["EnvironmentVariables"]["OPENCLAW_STATE_DIR"] == str(oc_home.state)
    index = plistlib.loads((agents / "ai.openclaw.infra.index.plist").read_bytes())
    assert index["StartInterval"] == 600
    serve = plistlib.loads((agents / "ai.openclaw.infra.serve.plist").read_bytes())
    assert serve["KeepAlive"] is True and serve["ProgramArguments"] == [BIN, "serve"]


def test_a_bad_schedule_setting_is_named(oc_home: OpenClawHome) -> None:
    """A schedule cron or launchd could not run exits 78 naming the variable; nothing of
    the LaunchAgents is written."""
    agents = oc_home.root / "agents"
    for value in ("61 3 * * *", "every day", "0 3 * * MON"):
        extra = {"OPENCLAW_INFRA_SCHEDULE_BACKUP": value}
        done = oc_home.run("schedule", extra_env=extra)
        assert done.returncode == 78, done.stderr
        assert "OPENCLAW_INFRA_SCHEDULE_BACKUP" in done.stderr
        done = oc_home.run("schedule", "--launchd", str(agents), extra_env=extra)
        assert done.returncode == 78 and not agents.exists()


def test_every_job_has_a_schedule_setting() -> None:
    """Each registry job (and the service's line) has its OPENCLAW_INFRA_SCHEDULE_<JOB>
    setting, and each such setting names a job: a new JobSpec needs its setting."""
    wanted = {schedule_setting(spec) for spec in (*JOBS, SERVICE)}
    fields = {name for name in Settings.model_fields if name.startswith("schedule_")}
    assert wanted == fields
    assert env_name("schedule_daily_sync") == "OPENCLAW_INFRA_SCHEDULE_DAILY_SYNC"
    for spec in (*JOBS, SERVICE):
        cron_fields(spec.schedule)  # every default is one infra can install
        assert period_of(spec.schedule) == spec.period_s, spec.name


def test_cron_expressions_and_periods() -> None:
    """The longest gap between runs is what health allows; bad fields say which."""
    assert period_of("*/15 * * * *") == 900
    assert period_of("0 9,17 * * 1-5") == (2 * 24 + 16) * 3600  # Friday 17:00 to Monday 9:00
    assert period_of("0 0 1 * *") == 31 * 24 * 3600
    assert cron_fields("0 0 * * 7")[4] == frozenset({0})
    for bad, word in (("0 0 * *", "5 fields"), ("0 24 * * *", "hour"), ("*/0 * * * *", "minute")):
        with pytest.raises(ValueError, match=word):
            cron_fields(bad)


def test_environment_values_cron_can_carry(tmp_path: Path) -> None:
    """Relative paths become absolute (cron starts in $HOME), a value with spaces is quoted,
    a line break is refused naming the variable."""
    env = job_environment({"OPENCLAW_INFRA_DATA_DIR": "rel/data", "OPENCLAW_X": "a b"})
    assert env.values["OPENCLAW_INFRA_DATA_DIR"] == str(Path.cwd() / "rel" / "data")
    assert crontab_assignment("OPENCLAW_X", "a b") == 'OPENCLAW_X="a b"'
    assert crontab_assignment("OPENCLAW_X", 'say "hi"') == "OPENCLAW_X='say \"hi\"'"
    with pytest.raises(UsageError, match="OPENCLAW_X"):
        job_environment({"OPENCLAW_X": "a\nb"})
