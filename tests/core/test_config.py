"""Settings: example file in step, timezone resolution, secrets never logged."""

from __future__ import annotations

import json
import logging

from openclaw_infra.core.config import Settings, detect_timezone, env_name
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


def test_profile_and_state_dir(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """OPENCLAW_PROFILE=p gives ~/.openclaw-p; OPENCLAW_STATE_DIR wins over it."""
    from openclaw_infra.core.config import default_data_dir, default_state_dir

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
