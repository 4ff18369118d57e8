"""deploy.sh in a temporary HOME with a crontab stand-in: idempotent, private, reversible;
it starts the recall service, keeps a hand-edited crontab block, and --dry-run writes
nothing."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from openclaw_infra.serve.client import request

from conftest import REPO

FAKE_CRONTAB = """#!/bin/sh
# stand-in for crontab(1): -l prints, - replaces, from $CRONTAB_FILE
case "$1" in
  -l) [ -f "$CRONTAB_FILE" ] || { echo "no crontab for $USER" >&2; exit 1; }; cat "$CRONTAB_FILE" ;;
  -) cat > "$CRONTAB_FILE" ;;
  *) exit 2 ;;
esac
"""


# the service deploy starts answers with the test embedder (no model load in these tests)
TEST_EMBEDDER = {
    "OPENCLAW_INFRA_EMBEDDING_MODEL": "test-hash-embedder",
    "OPENCLAW_INFRA_TEST_EMBEDDER": "1",
}
INFRA = Path(sys.prefix) / "bin" / "infra"


_ENVS: list[dict[str, str]] = []  # the environments this test deployed with


@pytest.fixture(autouse=True)
def _stop_services() -> Iterator[None]:
    """Stop the service each deploy of the test started."""
    _ENVS.clear()
    yield
    for env in _ENVS:
        subprocess.run([str(INFRA), "serve", "--stop"], env=env, capture_output=True, timeout=60)


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
            **TEST_EMBEDDER,
        }
    )
    (tmp_path / "home").mkdir()
    _ENVS.append(env)
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
    # the service was started at once, and the record of the block is private
    reply = request(data / "recall.sock", {"op": "ping"}, 10.0)
    assert reply is not None and reply["ok"], first.stdout
    assert stat.S_IMODE((data / "crontab.installed").stat().st_mode) == 0o600


def test_profile_reaches_cron(tmp_path: Path) -> None:
    """OPENCLAW_PROFILE=work ./deploy.sh: state in ~/.openclaw-work, and the installed block
    carries the profile so every job cron starts sees the same OpenClaw."""
    env = _env(tmp_path)
    env["OPENCLAW_PROFILE"] = "work"
    proc = _deploy(env)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "home" / ".openclaw-work" / "infra" / "config.env").exists()
    assert not (tmp_path / "home" / ".openclaw").exists()
    cron = (tmp_path / "crontab.txt").read_text()
    assert "\nOPENCLAW_PROFILE=work\n" in cron
    assert f"*/5 * * * * {INFRA} serve --ensure >/dev/null 2>&1" in cron


def test_hand_edits_are_kept_and_shown(tmp_path: Path) -> None:
    """A block edited by hand survives a re-deploy, which shows the edit and what it would
    install; --force replaces it; an unedited block is updated silently."""
    env = _env(tmp_path)
    assert _deploy(env).returncode == 0
    crontab = tmp_path / "crontab.txt"
    generated = crontab.read_text()
    edited = generated.replace(f"*/15 * * * * {INFRA} index", f"*/20 * * * * {INFRA} index")
    assert edited != generated
    crontab.write_text(edited)
    again = _deploy(env)
    assert again.returncode == 0, again.stderr
    assert crontab.read_text() == edited
    assert "kept your edited crontab block" in again.stdout and "--force" in again.stdout
    assert f"+*/20 * * * * {INFRA} index" in again.stdout
    dry = _deploy(env, "--dry-run")
    assert "would keep your edited crontab block" in dry.stdout
    forced = _deploy(env, "--force")
    assert forced.returncode == 0, forced.stderr
    assert crontab.read_text() == generated
    assert "replaced (--force)" in forced.stdout
    env["OPENCLAW_INFRA_SCHEDULE_INDEX"] = "*/10 * * * *"  # ours, unedited: just updated
    updated = _deploy(env)
    assert "crontab block updated" in updated.stdout
    assert f"\n*/10 * * * * {INFRA} index" in crontab.read_text()


def test_uninstall_removes_only_ours(tmp_path: Path) -> None:
    """--uninstall stops the service and removes our block and link and nothing else; data
    stays."""
    env = _env(tmp_path)
    (tmp_path / "crontab.txt").write_text("0 7 * * * /usr/bin/backup-photos\n")
    assert _deploy(env).returncode == 0
    sock = tmp_path / "home" / ".openclaw" / "infra" / "recall.sock"
    assert request(sock, {"op": "ping"}, 10.0) is not None
    proc = _deploy(env, "--uninstall")
    assert proc.returncode == 0, proc.stderr
    assert request(sock, {"op": "ping"}, 10.0) is None
    assert (tmp_path / "crontab.txt").read_text() == "0 7 * * * /usr/bin/backup-photos\n"
    assert not (tmp_path / "bin" / "infra").exists()
    assert (tmp_path / "home" / ".openclaw" / "infra" / "config.env").exists()


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() if p.is_file() else b""
        for p in sorted(root.rglob("*"))
        if not p.is_socket() and "logs" not in p.parts  # the running service may log
    }


def test_dry_run_changes_nothing(tmp_path: Path) -> None:
    """--dry-run says "would write" for each file it would write and touches neither HOME
    nor the crontab, on a fresh machine and on an installed one."""
    env = _env(tmp_path)
    proc = _deploy(env, "--dry-run")
    assert proc.returncode == 0, proc.stderr
    data = tmp_path / "home" / ".openclaw" / "infra"
    for path in (data / "config.env", data / "crontab.installed", tmp_path / "bin" / "infra"):
        assert f"would write {path}" in proc.stdout or f"would write the link {path}" in (
            proc.stdout
        ), path
    assert "would write this crontab block:" in proc.stdout
    assert f"would run: {INFRA} serve --ensure" in proc.stdout
    assert "wrote" not in proc.stdout.replace("would write", "")
    assert list((tmp_path / "home").iterdir()) == []
    assert not (tmp_path / "crontab.txt").exists()
    assert _deploy(env).returncode == 0
    (data / "config.env").unlink()
    before = (_tree(tmp_path / "home"), (tmp_path / "crontab.txt").read_text())
    again = _deploy(env, "--dry-run")
    assert again.returncode == 0, again.stderr
    assert f"would write {data / 'config.env'}" in again.stdout
    assert (_tree(tmp_path / "home"), (tmp_path / "crontab.txt").read_text()) == before


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
    env["OPENCLAW_INFRA_SCHEDULE_HEALTH"] = "*/10 * * * *"
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
    assert health["StartInterval"] == 600  # its schedule setting
    assert health["EnvironmentVariables"]["OPENCLAW_INFRA_SCHEDULE_HEALTH"] == "*/10 * * * *"
    assert _deploy(env, "--uninstall").returncode == 0
    assert list((tmp_path / "agents").glob("*.plist")) == []


def test_cron_expressions_to_launchd() -> None:
    """Fixed times become StartCalendarInterval entries; */N becomes StartInterval."""
    from openclaw_infra.ops.install.launchd import launchd_schedule

    assert launchd_schedule("*/15 * * * *") == {"StartInterval": 900}
    assert launchd_schedule("5 * * * *") == {"StartCalendarInterval": [{"Minute": 5}]}
    assert launchd_schedule("0 22 * * 0") == {
        "StartCalendarInterval": [{"Minute": 0, "Hour": 22, "Weekday": 0}]
    }
    assert launchd_schedule("0 0 1 * *") == {
        "StartCalendarInterval": [{"Minute": 0, "Hour": 0, "Day": 1}]
    }
    # cron runs when the day of month OR the weekday matches: two sets of entries
    assert launchd_schedule("30 8 1 * 1") == {
        "StartCalendarInterval": [
            {"Minute": 30, "Hour": 8, "Day": 1},
            {"Minute": 30, "Hour": 8, "Weekday": 1},
        ]
    }
    with pytest.raises(ValueError):
        launchd_schedule("0 0 1 *")
