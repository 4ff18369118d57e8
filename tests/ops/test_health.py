"""`infra health`: monitoring exit codes, Nagios first line, JSON, freshness."""

from __future__ import annotations

import json
import time

from openclaw_infra.core import ledger
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


def test_asleep_versus_failed(oc_home: OpenClawHome) -> None:
    """A silent stretch with no job activity counts as missed while asleep; recorded
    failures count as failed; the two are told apart in the summary."""
    settings = oc_home.settings()
    conn = connect(settings.db_path)
    now = time.time()
    conn.execute("UPDATE schema_migrations SET applied_at=?", (now - 3 * 86400,))
    conn.execute("DELETE FROM runs")

    def add(status: str, ago: float) -> None:
        run = ledger.RunRecord(job="health", started_at=now - ago)
        ledger.record_start(conn, run)
        conn.execute(
            "UPDATE runs SET status=?, ended_at=? WHERE run_id=?",
            (status, now - ago + 1, run.run_id),
        )

    add("ok", 10 * 3600)  # then the Mac slept 8 hours: nothing ran
    for ago in (7200, 5400, 3600, 1800):
        add("failed", ago)
    assert health.asleep_seconds(conn, now - 10 * 3600, now, 1800) >= 7 * 3600
    check = {c.name: c for c in health.run_checks(settings).checks}["job:health"]
    assert check.state == health.CRITICAL
    assert "missed while asleep" in check.summary and "4 failed in 7d" in check.summary
    assert check.perf["job_health_missed_asleep"] >= 14
