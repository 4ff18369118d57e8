"""`infra health`: monitoring exit codes, Nagios first line, JSON, freshness."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from openclaw_infra.core import ledger
from openclaw_infra.core.clocks import RunClocks, asleep_between
from openclaw_infra.core.db import connect
from openclaw_infra.ops import health

from conftest import OpenClawHome


def test_fresh_install_is_ok_or_warning_not_critical(oc_home: OpenClawHome) -> None:
    """Right after set-up nothing has run yet: not due is OK, and the first line is Nagios."""
    proc = oc_home.run("health", "--quiet")
    proc = oc_home.run("health")
    assert proc.returncode in (0, 1), proc.stdout
    first = proc.stdout.splitlines()[0]
    assert first.startswith(("INFRA OK - ", "INFRA WARNING - "))
    assert " | " in first and "disk_free_mb=" in first


def test_json_report(oc_home: OpenClawHome) -> None:
    """--json carries every check with its state, and the same exit code."""
    proc = oc_home.run("health", "--json")
    report = json.loads(proc.stdout)
    assert report["exit_code"] == proc.returncode
    names = {c["name"] for c in report["checks"]}
    assert {"settings", "paths", "disk"} <= names


def test_loose_permissions_are_critical(oc_home: OpenClawHome) -> None:
    """A data file readable by others is CRITICAL and named."""
    oc_home.run("health", "--quiet")
    (oc_home.data / "infra.sqlite").chmod(0o644)
    proc = oc_home.run("health")
    assert proc.returncode == 2
    assert "infra.sqlite" in proc.stdout


def test_stale_job_warns_then_goes_critical(oc_home: OpenClawHome) -> None:
    """A job whose last success is older than period+grace warns; twice that is CRITICAL;
    failures in a row are reported."""
    settings = oc_home.settings()
    conn = connect(settings.db_path)
    spec_age = {"warn": 3600 + 60, "crit": 2 * 3600 + 60}
    for label, age in spec_age.items():
        conn.execute("DELETE FROM runs")
        run = ledger.RunRecord(job="health", started_at=time.time() - age)
        ledger.record_start(conn, run)
        conn.execute(
            "UPDATE runs SET status='ok', ended_at=? WHERE run_id=?",
            (time.time() - age, run.run_id),
        )
        checks = {c.name: c for c in health.run_checks(settings).checks}
        expected = health.WARNING if label == "warn" else health.CRITICAL
        assert checks["job:health"].state == expected, checks["job:health"]
    failed = ledger.RunRecord(job="health")
    ledger.record_start(conn, failed)
    ledger.record_end(conn, failed, status="failed", exit_code=75, error="x")
    checks = {c.name: c for c in health.run_checks(settings).checks}
    assert "1 failure(s) in a row" in checks["job:health"].summary


def test_a_broken_check_is_unknown_not_a_crash(oc_home: OpenClawHome) -> None:
    """A check that raises is reported UNKNOWN (exit 3 when nothing is worse)."""

    def broken(ctx: health.HealthContext):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    report = health.run_checks(oc_home.settings(), [broken])
    assert report.state == health.UNKNOWN
    assert report.first_line().startswith("INFRA UNKNOWN - broken: check failed")


def _ledger_with_a_silence(
    oc_home: OpenClawHome, slept: float, boot_ids: tuple[str | None, str | None] = ("b1", "b1")
) -> tuple[Any, Any, float]:
    """Health runs: ok 10 h ago, then nothing for 8 h, then four failures 30 min apart.
    Each start records synthetic clocks: `slept` seconds of the silence were spent asleep
    (the awake clock stood still), on the boots named by `boot_ids` (before, after)."""
    settings = oc_home.settings()
    conn = connect(settings.db_path)
    now = time.time()
    conn.execute("UPDATE schema_migrations SET applied_at=?", (now - 3 * 86400,))
    conn.execute("DELETE FROM runs")
    since_boot = awake = 5000.0

    def add(status: str, ago: float, boot: str | None) -> None:
        clocks = RunClocks(since_boot, awake, boot)
        run = ledger.RunRecord(job="health", started_at=now - ago, clocks=clocks)
        ledger.record_start(conn, run)
        conn.execute(
            "UPDATE runs SET status=?, ended_at=? WHERE run_id=?",
            (status, now - ago + 1, run.run_id),
        )

    add("ok", 10 * 3600, boot_ids[0])
    previous = 10 * 3600
    for ago in (7200, 5400, 3600, 1800):
        gap = previous - ago
        since_boot += gap
        awake += gap - (slept if ago == 7200 else 0.0)
        previous = ago
        add("failed", ago, boot_ids[1])
    return settings, conn, now


def test_asleep_versus_failed(oc_home: OpenClawHome) -> None:
    """A silent stretch the clocks show was slept counts as missed while asleep; recorded
    failures count as failed; the two are told apart in the summary."""
    settings, conn, now = _ledger_with_a_silence(oc_home, slept=8 * 3600 - 60)
    assert health.asleep_seconds(conn, now - 10 * 3600, now) >= 7 * 3600
    check = {c.name: c for c in health.run_checks(settings).checks}["job:health"]
    assert check.state == health.CRITICAL
    assert "missed while asleep" in check.summary and "4 failed in 7d" in check.summary
    assert check.perf["job_health_missed_asleep"] >= 14


def test_a_silence_without_sleep_is_not_run(oc_home: OpenClawHome) -> None:
    """The same silence on a machine that never slept (both clocks advanced alike) is runs
    that were not run, not runs missed while asleep (issue 22)."""
    settings, conn, now = _ledger_with_a_silence(oc_home, slept=0.0)
    assert health.asleep_seconds(conn, now - 10 * 3600, now) == 0.0
    check = {c.name: c for c in health.run_checks(settings).checks}["job:health"]
    assert check.perf["job_health_missed_asleep"] == 0
    assert check.perf["job_health_not_run"] >= 14
    assert "0 run(s) missed while asleep" in check.summary and " not run" in check.summary


def test_rows_without_clocks_count_no_sleep(oc_home: OpenClawHome) -> None:
    """Runs recorded before the clocks existed (NULL columns) count no sleep."""
    _, conn, now = _ledger_with_a_silence(oc_home, slept=8 * 3600 - 60)
    conn.execute("UPDATE runs SET since_boot_s=NULL, awake_s=NULL, boot_id=NULL")
    assert health.asleep_seconds(conn, now - 10 * 3600, now) == 0.0


def test_a_reboot_counts_the_time_off() -> None:
    """Across a reboot the clocks restart: the time before the new boot counts as off, plus
    what the new boot slept before its first run; without boot ids the moved boot time
    tells the boots apart."""
    before = RunClocks(since_boot=50_000.0, awake=40_000.0, boot_id="b1")
    after = RunClocks(since_boot=600.0, awake=500.0, boot_id="b2")
    assert asleep_between(0.0, before, 3600.0, after) == 3000.0 + 100.0
    anonymous = (RunClocks(50_000.0, 40_000.0), RunClocks(60_000.0, 49_000.0))
    assert asleep_between(0.0, anonymous[0], 10_000.0, anonymous[1]) == 1000.0  # same boot
    moved = RunClocks(60_000.0, 59_000.0)  # 100,000 s later, booted 90,000 s later
    assert asleep_between(0.0, anonymous[0], 100_000.0, moved) == 40_000.0 + 1000.0
    assert asleep_between(0.0, before, 100.0, RunClocks()) == 0.0


def test_a_run_records_its_clocks(oc_home: OpenClawHome) -> None:
    """A real run start stores both clocks (on Linux and macOS) beside its wall time."""
    conn = connect(oc_home.settings().db_path)
    ledger.record_start(conn, ledger.RunRecord(job="health"))
    row = conn.execute("SELECT since_boot_s, awake_s FROM runs").fetchone()
    if sys.platform in ("darwin", "linux"):
        assert row[0] is not None and row[1] is not None and row[0] >= row[1] > 0


def test_data_size_is_reported_with_perfdata(oc_home: OpenClawHome) -> None:
    """The data dir's size (without its backups folder) and the backups' are one check line
    with perfdata; the first line carries both."""
    settings = oc_home.settings()
    settings.backups.mkdir(parents=True)
    (settings.backups / "snap.tar").write_bytes(b"\0" * (3 << 20))
    (settings.data / "memory.faiss").write_bytes(b"\0" * (2 << 20))
    check = {c.name: c for c in health.run_checks(settings).checks}["data_size"]
    assert check.state == health.OK
    assert check.perf == {"data_size_mb": 2, "backups_size_mb": 3}
    assert check.summary.startswith(f"2.0 MiB in {settings.data}, backups 3.0 MiB")
    first = health.run_checks(settings).first_line()
    assert "data_size_mb=2" in first and "backups_size_mb=3" in first


def test_data_size_warns_past_the_setting_naming_the_largest(oc_home: OpenClawHome) -> None:
    """Past OPENCLAW_INFRA_DATA_WARN_MB the check warns and names what is largest; a backup
    dir elsewhere is measured there and named."""
    elsewhere = oc_home.root / "external" / "backups"
    settings = oc_home.settings(data_warn_mb=1, backup_dir=elsewhere)
    settings.data.mkdir(parents=True, exist_ok=True)
    (settings.data / "infra.sqlite.corrupt-x").write_bytes(b"\0" * (3 << 20))
    elsewhere.mkdir(parents=True)
    (elsewhere / "snap.tar").write_bytes(b"\0" * (1 << 20))
    check = {c.name: c for c in health.run_checks(settings, [health.check_data_size]).checks}
    data_size = check["data_size"]
    assert data_size.state == health.WARNING
    assert f"backups 1.0 MiB in {elsewhere}" in data_size.summary
    assert "over OPENCLAW_INFRA_DATA_WARN_MB=1, largest infra.sqlite.corrupt-x 3 MiB" in (
        data_size.summary
    )
