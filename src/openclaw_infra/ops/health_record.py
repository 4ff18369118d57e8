"""Record a health verdict as a run of the `health` job (what cron and `--notify` compare)."""

from __future__ import annotations

from openclaw_infra.core.config import Settings
from openclaw_infra.core.jobs import run_job
from openclaw_infra.ops.health import Report
from openclaw_infra.ops.notify import Notification, notify_on_change


def record_verdict(
    settings: Settings, report: Report, *, notify: bool = False, now: float | None = None
) -> Notification | None:
    """With `notify`, also alert (ops.alerts decides what, at `now`), under the same lock as
    the record, so the alert and the memory of it are one run."""
    outcome = None
    with run_job(settings, "health") as job:
        job.run.items = len(report.checks)
        job.run.details = {
            "state": report.label,
            "problems": [c.name for c in report.checks if c.state],
        }
        if notify:
            outcome = notify_on_change(settings, report, job.conn, job.run.run_id, now=now)
            job.run.details.update(outcome.details())
    return outcome
