"""Settings: example file in step, timezone resolution, secrets never logged."""

from __future__ import annotations

import json
import logging

import pytest

from openclaw_infra.core.config import Settings, env_name, load_settings, with_values
from openclaw_infra.core.errors import ConfigError
from openclaw_infra.openclaw.timezone import detect_timezone, with_user_timezone
from openclaw_infra.ops.install import generated

from conftest import REPO, OpenClawHome


def test_example_env_lists_every_setting() -> None:
    """config.example.env is generated from Settings and committed in step with it."""
    committed = (REPO / "config.example.env").read_text()
    assert committed == generated.render_example_env()
    for name in Settings.model_fields:
        assert f"# {env_name(name)}=" in committed, name


def test_example_env_has_no_real_looking_key() -> None:
    """Placeholders only: nothing that looks like a real Anthropic key."""
    text = (REPO / "config.example.env").read_text()
    assert "sk-ant-REPLACE-ME" in text
    assert "sk-ant-api" not in text


def test_committed_crontab_is_generated() -> None:
    """cron/infra.crontab is exactly what the job registry renders."""
    assert (REPO / "cron" / "infra.crontab").read_text() == generated.render_crontab()


def test_timezone_from_openclaw_config(oc_home: OpenClawHome, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Without OPENCLAW_INFRA_TIMEZONE, OpenClaw's userTimezone is used (JSON or JSON5)."""
    monkeypatch.delenv("OPENCLAW_INFRA_TIMEZONE")
    cfg = oc_home.state / "openclaw.json"
    cfg.write_text(json.dumps({"agents": {"defaults": {"userTimezone": "Europe/Berlin"}}}))
    assert detect_timezone(oc_home.state) == "Europe/Berlin"
    cfg.write_text("{\n // JSON5\n agents: { defaults: { userTimezone: 'Asia/Tokyo', }, },\n}")
    assert detect_timezone(oc_home.state) == "Asia/Tokyo"
    cfg.write_text("{ agents: { defaults: { userTimezone: 'Not/AZone' } } }")
    assert detect_timezone(oc_home.state) == detect_timezone(oc_home.state / "nowhere")


def test_timezone_is_resolved_once(oc_home: OpenClawHome, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Settings built for a run read openclaw.json once: a later change of the file does not
    change `settings.tz` (it is re-read on the next run), and a set timezone wins."""
    monkeypatch.delenv("OPENCLAW_INFRA_TIMEZONE")
    cfg = oc_home.state / "openclaw.json"
    cfg.write_text(json.dumps({"agents": {"defaults": {"userTimezone": "Europe/Berlin"}}}))
    settings = with_user_timezone(load_settings())
    assert settings.timezone == "Europe/Berlin" and settings.tz.key == "Europe/Berlin"
    cfg.write_text(json.dumps({"agents": {"defaults": {"userTimezone": "Asia/Tokyo"}}}))
    assert settings.tz.key == "Europe/Berlin"
    cfg.unlink()
    assert settings.tz.key == "Europe/Berlin"
    assert with_user_timezone(oc_home.settings(timezone="UTC")).tz.key == "UTC"


def test_overrides_are_validated(oc_home: OpenClawHome) -> None:
    """A command-line override goes through validation like any other source: a bad one is
    a ConfigError naming the variable; None keeps the value; nothing is re-read."""
    settings = oc_home.settings(recall_limit=5)
    assert with_values(settings, recall_limit=None) is settings
    changed = with_values(settings, summarizer="extractive", recall_limit=7)
    assert changed.summarizer == "extractive" and changed.recall_limit == 7
    assert changed.data == settings.data and changed.tz == settings.tz
    with pytest.raises(ConfigError, match="OPENCLAW_INFRA_WHISPER_BEAM_SIZE"):
        with_values(settings, whisper_beam_size=99)


def test_paths_come_from_one_layout(oc_home: OpenClawHome) -> None:
    """Every path infra owns hangs off the data dir or the workspace's memory/ tree."""
    s = oc_home.settings()
    assert s.data == oc_home.data
    assert s.db_path == oc_home.data / "infra.sqlite"
    assert s.faiss_path == oc_home.data / "memory.faiss"
    assert s.socket_path == oc_home.data / "recall.sock"
    assert s.config_file == oc_home.data / "config.env"
    assert (s.locks_dir, s.logs_dir) == (oc_home.data / "locks", oc_home.data / "logs")
    assert s.voice_quarantine_dir == oc_home.data / "quarantine" / "voice"
    assert s.backups == oc_home.data / "backups"
    memory = oc_home.workspace / "memory"
    assert [s.hourly_dir, s.daily_dir, s.weekly_dir, s.voice_dir] == [
        memory / "hourly",
        memory / "daily",
        memory / "weekly",
        memory / "voice",
    ]
    assert s.priorities_path == memory / "priorities.md"


def test_profile_and_state_dir(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """OPENCLAW_PROFILE=p gives ~/.openclaw-p; OPENCLAW_STATE_DIR wins over it."""
    from openclaw_infra.core.layout import default_data_dir, default_state_dir

    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_state_dir({"OPENCLAW_PROFILE": "work"}) == tmp_path / ".openclaw-work"
    assert (
        default_state_dir({"OPENCLAW_PROFILE": "w", "OPENCLAW_STATE_DIR": "/x"}).as_posix() == "/x"
    )
    assert default_data_dir({"OPENCLAW_STATE_DIR": "/x"}).as_posix() == "/x/infra"
    assert default_data_dir({"OPENCLAW_INFRA_DATA_DIR": "/d"}).as_posix() == "/d"


def test_api_key_never_logged(oc_home: OpenClawHome) -> None:
    """A key in settings is SecretStr and is redacted from every log line, even when a
    caller logs it by mistake."""
    import structlog

    from openclaw_infra.core.logging import configure_logging, register_secret

    key = "sk-ant-test-0123456789abcdef"
    settings = Settings(anthropic_api_key=key, state_dir=oc_home.state)
    assert key not in repr(settings) and key not in str(settings.model_dump())
    register_secret(settings.api_key)
    logs = oc_home.data / "logs"
    configure_logging(logs, console=False)
    log = structlog.get_logger("test")
    log.info("calling", api_key=key, note=f"header x-api-key: {key}")
    logging.getLogger("httpx").warning("Authorization: Bearer %s", key)
    log.info("settings", settings=repr(settings))
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = (logs / "infra.log").read_text()
    assert key not in text
    assert "[redacted]" in text
    assert (logs / "infra.log").stat().st_mode & 0o777 == 0o600
    configure_logging(None)


def test_log_lines_are_json(oc_home: OpenClawHome) -> None:
    """The log file holds one JSON object per line with level, event and timestamp."""
    proc = oc_home.run("health", "--quiet")
    assert proc.returncode in (0, 1, 2)
    lines = (oc_home.data / "logs" / "infra.log").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    end = [e for e in events if e["event"] == "job.end"]
    assert end and end[-1]["job"] == "health" and "run_id" in end[-1] and "timestamp" in end[-1]
