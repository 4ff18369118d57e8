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
        "turn new bad and fix feedback into memory/lessons/MEMORY.md (after daily-sync)",
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
    JobSpec(
        "prune",
        "15 4 * * *",
        ("prune",),
        DAY,
        6 * HOUR,
        "delete infra's own old ledger runs, logs and quarantine (after the backup has them)",
    ),
    JobSpec(
        "signals",
        "*/30 * * * *",
        ("signals", "scan"),
        30 * 60,
        30 * 60,
        "record and send signals: one agent's conversation touched another's open items",
    ),
)


def job(name: str) -> JobSpec:
    for spec in JOBS:
        if spec.name == name:
            return spec
    raise KeyError(name)


# The resident recall service. launchd runs SERVICE_ARGS and keeps it alive; cron runs
# SERVICE's `serve --ensure` every few minutes and at boot, which starts the service when it
# is not running and returns at once either way. Not in JOBS: it has no ledgered runs to age.
SERVICE_NAME = "serve"
SERVICE_ARGS: tuple[str, ...] = ("serve",)
SERVICE = JobSpec(
    SERVICE_NAME,
    "*/5 * * * *",
    ("serve", "--ensure"),
    5 * 60,
    5 * 60,
    "start the resident recall service when it is not running (nothing when it is)",
)


# --- schedules: the registry's defaults, each overridable by a setting -------------------

_FIELDS: tuple[tuple[str, int, int], ...] = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("weekday", 0, 7),
)
CRON_FORM = "5 fields: minute hour day-of-month month weekday, numbers, * , - and /N"


def _cron_field(text: str, name: str, lo: int, hi: int) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        body, _, step_text = item.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if body == "*":
                first, last = lo, hi
            elif "-" in body:
                a, b = body.split("-", 1)
                first, last = int(a), int(b)
            else:
                first = int(body)
                last = hi if step_text else first
        except ValueError:
            raise ValueError(f"{name} field {text!r} is not understood") from None
        if step < 1 or not lo <= first <= last <= hi:
            raise ValueError(f"{name} field {text!r}: values run {lo}-{hi}, steps from 1")
        values.update(range(first, last + 1, step))
    return frozenset(values)


def cron_fields(expr: str) -> tuple[frozenset[int], ...]:
    """The five fields of a crontab expression as sets of values (weekday 7 is 0); a
    ValueError says what is wrong. Names (MON, JAN) and @-shortcuts are not accepted."""
    parts = expr.split()
    if len(parts) != 5:
        raise ValueError(f"{expr!r} is not a crontab schedule ({CRON_FORM})")
    fields = [_cron_field(p, *spec) for p, spec in zip(parts, _FIELDS, strict=True)]
    if 7 in fields[4]:
        fields[4] = (fields[4] - {7}) | {0}
    return tuple(fields)


def period_of(expr: str) -> int:
    """The longest gap between two runs of `expr`, in seconds (what health allows before a
    run counts as late). Exact over a week; a day-of-month or month restriction is counted
    as a month or a year."""
    minute, hour, dom, month, dow = cron_fields(expr)
    all_dom, all_dow = len(dom) == 31, len(dow) == 7
    if len(month) < 12:
        return 366 * DAY
    if not all_dom and all_dow:
        return 31 * DAY
    week = sorted(d * 1440 + h * 60 + m for d in dow for h in hour for m in minute)
    gaps = [b - a for a, b in zip(week, [*week[1:], week[0] + 7 * 1440], strict=True)]
    return max(gaps) * 60


def schedule_setting(spec: JobSpec) -> str:
    """The Settings field that overrides `spec`'s schedule (`schedule_daily_sync`, ...)."""
    return "schedule_" + spec.name.replace("-", "_")


def with_schedule(settings: Settings, spec: JobSpec) -> JobSpec:
    """`spec` with its schedule setting applied (its period follows); ConfigError (78)
    names the variable when the value is not a schedule infra can install."""
    from dataclasses import replace

    from openclaw_infra.core.config import env_name
    from openclaw_infra.core.errors import ConfigError

    field = schedule_setting(spec)
    value = getattr(settings, field, None)
    if not value or value.strip() == spec.schedule:
        return spec
    expr = " ".join(value.split())
    try:
        period = period_of(expr)
    except ValueError as exc:
        raise ConfigError(
            f"{env_name(field)}: {exc}", hint='e.g. "5 * * * *" (every hour at :05)'
        ) from None
    return replace(spec, schedule=expr, period_s=period)


def scheduled(settings: Settings) -> tuple[JobSpec, ...]:
    """The registry as installed: every job with its schedule setting applied."""
    return tuple(with_schedule(settings, spec) for spec in JOBS)


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
