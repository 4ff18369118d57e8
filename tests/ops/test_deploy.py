"""deploy.sh in a temporary HOME with a crontab stand-in: idempotent, private, reversible."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from conftest import REPO

FAKE_CRONTAB = """#!/bin/sh
# stand-in for crontab(1): -l prints, - replaces, from $CRONTAB_FILE
case "$1" in
  -l) [ -f "$CRONTAB_FILE" ] || { echo "no crontab for $USER" >&2; exit 1; }; cat "$CRONTAB_FILE" ;;
  -) cat > "$CRONTAB_FILE" ;;
  *) exit 2 ;;
esac
"""


def _env(tmp_path: Path) -> dict[str, str]:
    fake = tmp_path / "crontab"
    fake.write_text(FAKE_CRONTAB)
    fake.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENCLAW_", "ANTHROPIC_"))}
    env.update(
        {
            "HOME": str(tmp_path / "home"),
            "INFRA_VENV": sys.prefix,
            "INFRA_BIN_DIR": str(tmp_path / "bin"),
            "CRONTAB": str(fake),
            "CRONTAB_FILE": str(tmp_path / "crontab.txt"),
            "OPENCLAW_INFRA_TIMEZONE": "UTC",
        }
    )
    (tmp_path / "home").mkdir()
    return env


def _deploy(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(REPO / "deploy.sh"), "--no-install", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_install_is_idempotent_and_keeps_user_entries(tmp_path: Path) -> None:
    """Two installs give one block, the user's own cron lines survive, dirs are 0700 and
    config.env is 0600 and not overwritten; `infra` is linked; health runs at the end."""
    env = _env(tmp_path)
    (tmp_path / "crontab.txt").write_text("0 7 * * * /usr/bin/backup-photos\n")
    first = _deploy(env)
    assert first.returncode == 0, first.stderr
    assert "INFRA " in first.stdout  # infra health's first line
    data = tmp_path / "home" / ".openclaw" / "infra"
    for d in (data, data / "logs", data / "locks", data / "backups"):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700
    config = data / "config.env"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    config.write_text("OPENCLAW_INFRA_RECALL_LIMIT=5\n")
    assert _deploy(env).returncode == 0
    assert config.read_text() == "OPENCLAW_INFRA_RECALL_LIMIT=5\n"
    cron = (tmp_path / "crontab.txt").read_text()
    assert cron.count("# >>> openclaw-infra") == 1
    assert "0 7 * * * /usr/bin/backup-photos" in cron
    assert f"{sys.prefix}/bin/infra health --quiet" in cron
    link = tmp_path / "bin" / "infra"
    assert link.is_symlink() and Path(os.readlink(link)) == Path(sys.prefix) / "bin" / "infra"


def test_uninstall_removes_only_ours(tmp_path: Path) -> None:
    """--uninstall removes our block and link and nothing else; data stays."""
    env = _env(tmp_path)
    (tmp_path / "crontab.txt").write_text("0 7 * * * /usr/bin/backup-photos\n")
    assert _deploy(env).returncode == 0
    proc = _deploy(env, "--uninstall")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "crontab.txt").read_text() == "0 7 * * * /usr/bin/backup-photos\n"
    assert not (tmp_path / "bin" / "infra").exists()
    assert (tmp_path / "home" / ".openclaw" / "infra" / "config.env").exists()


def test_dry_run_changes_nothing(tmp_path: Path) -> None:
    """--dry-run prints the plan and touches neither HOME nor the crontab."""
    env = _env(tmp_path)
    proc = _deploy(env, "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "would run" in proc.stdout and "crontab block" in proc.stdout
    assert list((tmp_path / "home").iterdir()) == []
    assert not (tmp_path / "crontab.txt").exists()


def test_skill_installed_and_user_edits_kept(tmp_path: Path) -> None:
    """The infra-recall skill lands in the workspace; a user-edited copy is not overwritten."""
    env = _env(tmp_path)
    assert _deploy(env).returncode == 0
    skill = tmp_path / "home" / ".openclaw" / "workspace" / "skills" / "infra-recall" / "SKILL.md"
    assert (
        skill.read_text()
        == (REPO / "openclaw" / "skills" / "infra-recall" / "SKILL.md").read_text()
    )
    skill.write_text("my own version\n")
    assert _deploy(env).returncode == 0
    assert skill.read_text() == "my own version\n"


def test_launchd_agents_from_the_same_registry(tmp_path: Path) -> None:
    """--launchd writes one LaunchAgent per registry job (same schedule), and removes our
    cron block so jobs do not run twice; --uninstall removes the agents."""
    import plistlib

    from openclaw_infra.core.jobs import JOBS

    env = _env(tmp_path)
    env["INFRA_LAUNCH_AGENTS_DIR"] = str(tmp_path / "agents")
    assert _deploy(env).returncode == 0
    proc = _deploy(env, "--launchd")
    assert proc.returncode == 0, proc.stderr
    assert "# >>> openclaw-infra" not in (tmp_path / "crontab.txt").read_text()
    plists = sorted((tmp_path / "agents").glob("ai.openclaw.infra.*.plist"))
    assert len(plists) == len(JOBS) + 1  # and the recall service
    serve = plistlib.loads((tmp_path / "agents" / "ai.openclaw.infra.serve.plist").read_bytes())
    assert serve["KeepAlive"] is True and serve["ProgramArguments"][1:] == ["serve"]
    health = plistlib.loads((tmp_path / "agents" / "ai.openclaw.infra.health.plist").read_bytes())
    assert health["ProgramArguments"] == [
        f"{sys.prefix}/bin/infra",
        "health",
        "--quiet",
        "--notify",
    ]
    assert health["StartInterval"] == 1800
    assert _deploy(env, "--uninstall").returncode == 0
    assert list((tmp_path / "agents").glob("*.plist")) == []


def test_cron_expressions_to_launchd() -> None:
    """Fixed times become StartCalendarInterval entries; */N becomes StartInterval."""
    import pytest

    from openclaw_infra.ops.install.launchd import launchd_schedule

    assert launchd_schedule("*/15 * * * *") == {"StartInterval": 900}
    assert launchd_schedule("5 * * * *") == {"StartCalendarInterval": [{"Minute": 5}]}
    assert launchd_schedule("0 22 * * 0") == {
        "StartCalendarInterval": [{"Minute": 0, "Hour": 22, "Weekday": 0}]
    }
    with pytest.raises(ValueError):
        launchd_schedule("0 0 1 * *")
