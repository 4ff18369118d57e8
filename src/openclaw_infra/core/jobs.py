"""The job registry (single source for the crontab and health) and the job context.

`run_job` gives a scheduled subcommand everything it needs in one place: log context
(`job`, `run_id`), the job lock (never waits: exit 75), the ledger record, and one canonical
log line at the end with status, duration, items, tokens and cost.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

import structlog

from openclaw_infra.core import ledger
from openclaw_infra.core.config import Settings
from openclaw_infra.core.db import connect, sqlite_error
from openclaw_infra.core.errors import InfraError
from openclaw_infra.core.locking import job_lock
from openclaw_infra.core.logging import redact_text, redact_value

log = structlog.get_logger("infra.job")


@dataclass(frozen=True)
class JobSpec:
    name: str
    schedule: str  # crontab expression, in the host's local time
    args: tuple[str, ...]  # `infra` arguments
    period_s: int  # expected interval between runs
    grace_s: int  # how late a success may be before health warns
    description: str

    @property
    def lock(self) -> str:
        return self.name

    @property
    def command(self) -> str:
        return "infra " + " ".join(self.args)


HOUR = 3600
DAY = 24 * HOUR

# A job appears here only once its command works (no placeholder jobs).
JOBS: tuple[JobSpec, ...] = (
    JobSpec(
        "health",
        "*/30 * * * *",
        ("health", "--quiet", "--notify"),
        30 * 60,
        30 * 60,
        "check freshness and permissions, record the verdict, alert the user on a change",
    ),
    JobSpec(
        "index",
        "*/15 * * * *",
        ("index",),
        15 * 60,
        30 * 60,
        "index new transcripts and memory files for infra recall",
    ),
    JobSpec(
        "backup",
        "30 3 * * *",
        ("backup",),
        DAY,
        6 * HOUR,
        "snapshot infra's state, verify it, then prune per retention",
    ),
    JobSpec(
        "backup-drill",
        "0 5 * * 0",
        ("backup", "drill"),
        7 * DAY,
        DAY,
        "restore the newest snapshot into a temp dir, check it, rebuild the index from it",
    ),
    JobSpec(
        "summarize",
        "5 * * * *",
        ("summarize",),
        HOUR,
        HOUR,
        "summarise each ended hour of new conversation into memory/hourly/",
    ),
    JobSpec(
        "daily-sync",
        "0 21 * * *",
        ("daily-sync",),
        DAY,
        6 * HOUR,
        "digest each owed day into memory/daily/ and update memory/priorities.md",
    ),
    JobSpec(
        "lessons",
        "30 21 * * *",
        ("lessons",),
        DAY,
        6 * HOUR,
        "turn new bad and fix feedback into memory/lessons.md (after daily-sync)",
    ),
    JobSpec(
        "weekly-synthesis",
        "0 22 * * 0",
        ("weekly-synthesis",),
        7 * DAY,
        DAY,
        "synthesise each owed ISO week into memory/weekly/ (draft, critique, refine, grounded)",
    ),
    JobSpec(
        "transcribe",
        "*/15 * * * *",
        ("transcribe", "--inbox"),
        15 * 60,
        30 * 60,
        "transcribe new voice notes from the inbox into memory/voice/",
    ),
)


def job(name: str) -> JobSpec:
    for spec in JOBS:
        if spec.name == name:
            return spec
    raise KeyError(name)


# The resident recall service: started at boot (cron) or kept alive (launchd), not periodic.
SERVICE_NAME = "serve"
SERVICE_ARGS: tuple[str, ...] = ("serve",)


@dataclass
class JobContext:
    settings: Settings
    spec: JobSpec
    run: ledger.RunRecord
    conn: sqlite3.Connection


@contextlib.contextmanager
def run_job(settings: Settings, name: str) -> Iterator[JobContext]:
    """Lock, ledger record, log context and the canonical end line for one run of `name`;
    what the record and the line say is redacted (`core.logging.redact_text`)."""
    spec = job(name)
    run = ledger.RunRecord(job=name)
    structlog.contextvars.bind_contextvars(job=name, run_id=run.run_id)
    try:
        with job_lock(settings.locks_dir, spec.lock):
            conn = connect(settings.db_path)
            ledger.record_start(conn, run)
            ctx = JobContext(settings, spec, run, conn)
            status, code, error = "ok", 0, None
            try:
                yield ctx
            except InfraError as exc:
                status, code, error = "failed", exc.exit_code, str(exc)
                raise
            except sqlite3.Error as exc:
                # the exit code the outer handler will give it (73 full, 65 corrupt), else 1
                mapped = sqlite_error(exc, settings.db_path)
                code = mapped.exit_code if mapped is not None else 1
                status, error = "failed", f"{type(exc).__name__}: {exc}"
                raise
            except BaseException as exc:
                status, code, error = "failed", 1, f"{type(exc).__name__}: {exc}"
                raise
            finally:
                # the ledger is backed up: an error that quotes a key must not keep it
                error = None if error is None else redact_text(error)
                run.details = redact_value(run.details)
                duration = ledger.record_end(conn, run, status=status, exit_code=code, error=error)
                log.info(
                    "job.end",
                    status=status,
                    exit_code=code,
                    duration_s=round(duration, 3),
                    items=run.items,
                    tokens_in=run.tokens_in,
                    tokens_out=run.tokens_out,
                    cost_usd=round(run.cost_usd, 6),
                    error=error,
                    details=run.details,
                )
                conn.close()
    finally:
        structlog.contextvars.unbind_contextvars("job", "run_id")
