"""Record a health verdict as a run of the `health` job (what cron and `--notify` compare)."""

from __future__ import annotations

from openclaw_infra.core.config import Settings
from openclaw_infra.core.jobs import run_job
from openclaw_infra.ops.health import Report


def record_verdict(settings: Settings, report: Report) -> None:
    with run_job(settings, "health") as job:
        job.run.items = len(report.checks)
        job.run.details = {
            "state": report.label,
            "problems": [c.name for c in report.checks if c.state],
        }
