"""The exit-code table: unique, documented, and what real processes exit with."""

from __future__ import annotations

import re

from openclaw_infra.core import errors

from conftest import REPO, OpenClawHome


def test_exit_codes_are_unique_per_class() -> None:
    """Each error class maps to its own documented code (subclasses of TempFail share 75)."""
    codes = [cls.exit_code for cls in errors.ERROR_CLASSES]
    assert len(codes) == len(set(codes))
    assert set(codes) <= set(errors.EXIT_CODES)


def test_docs_table_matches_code() -> None:
    """docs/exit-codes.md lists exactly the codes, names and meanings of errors.EXIT_CODES."""
    text = (REPO / "docs" / "exit-codes.md").read_text()
    section = text.split("## `infra health`")[0]
    rows = re.findall(r"^\| (\d+) \| (\w+) \| (.+?) \|$", section, re.M)
    documented = {int(code): (name, meaning) for code, name, meaning in rows}
    assert documented == errors.EXIT_CODES
    health_rows = re.findall(r"^\| (\d) \| (\w+)", text.split("## `infra health`")[1], re.M)
    assert {int(c): s for c, s in health_rows} == errors.HEALTH_CODES


def test_bad_setting_exits_78_naming_the_variable(oc_home: OpenClawHome) -> None:
    """A bad value is one stderr line naming the variable, exit 78 (not a traceback);
    `infra health` instead reports it as CRITICAL (exit 2)."""
    oc_home.data.mkdir(parents=True, exist_ok=True)
    (oc_home.data / "config.env").write_text("OPENCLAW_INFRA_LLM_TIMEOUT_S=soon\n")
    proc = oc_home.run("index")
    assert proc.returncode == 78, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "OPENCLAW_INFRA_LLM_TIMEOUT_S" in lines[0]
    proc = oc_home.run("health", "--json")
    assert proc.returncode == 2
    assert "OPENCLAW_INFRA_LLM_TIMEOUT_S" in proc.stdout
    proc = oc_home.run("health", extra_env={"OPENCLAW_INFRA_TIMEZONE": "Mars/Olympus"})
    assert proc.returncode == 2 and "OPENCLAW_INFRA_TIMEZONE" in proc.stdout


def test_environment_beats_config_file(oc_home: OpenClawHome) -> None:
    """Precedence: environment > config.env > default."""
    from openclaw_infra.core.config import load_settings

    oc_home.data.mkdir(parents=True, exist_ok=True)
    (oc_home.data / "config.env").write_text(
        "OPENCLAW_INFRA_RECALL_LIMIT=5\nOPENCLAW_INFRA_EMBED_BATCH_SIZE=7\n"
    )
    import os

    os.environ["OPENCLAW_INFRA_RECALL_LIMIT"] = "9"
    try:
        s = load_settings()
    finally:
        del os.environ["OPENCLAW_INFRA_RECALL_LIMIT"]
    assert s.recall_limit == 9 and s.embed_batch_size == 7 and s.llm_max_retries == 4
    assert load_settings(recall_limit=3).recall_limit == 3


def test_usage_error_exits_2(oc_home: OpenClawHome) -> None:
    """An unknown option is a usage error: exit 2, message on stderr."""
    proc = oc_home.run("health", "--no-such-option")
    assert proc.returncode == 2
    assert "no-such-option" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_every_command_has_help(oc_home: OpenClawHome) -> None:
    """--help text is the doc of record: every registered command has a non-empty one."""
    import typer

    from openclaw_infra.cli import app

    command = typer.main.get_command(app)
    names = list(command.commands)  # type: ignore[attr-defined]
    assert "health" in names
    for name in names:
        sub = command.commands[name]  # type: ignore[attr-defined]
        assert (sub.help or "").strip(), f"{name} has no help text"
        proc = oc_home.run(name, "--help")
        assert proc.returncode == 0, proc.stderr
        assert "Usage:" in proc.stdout
