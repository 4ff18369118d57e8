"""`infra health`: one honest status for the whole pipeline, in the monitoring convention.

Checks are small functions over a `HealthContext` (settings, a read-only view of the ledger,
now). Each capability adds its checks to `CHECKS`. Nothing here imports a heavy library.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import sqlite3
import stat
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from openclaw_infra.core.checks import (
    CRITICAL,
    OK,
    UNKNOWN,
    WARNING,
    Check,
    CheckFn,
    HealthContext,
    fmt_age,
    open_readonly,
)
from openclaw_infra.core.clocks import RunClocks, asleep_between
from openclaw_infra.core.config import Settings, env_name
from openclaw_infra.core.db import probe
from openclaw_infra.core.errors import HEALTH_CODES
from openclaw_infra.core.layout import DataPaths


def check_paths(ctx: HealthContext) -> Iterable[Check]:
    """Data dirs must be 0700 and infra's files 0600: the store holds private conversations."""
    s = ctx.settings
    if not s.data.exists():
        yield Check("paths", WARNING, f"data dir {s.data} does not exist yet (run deploy.sh)")
        return
    bad: list[str] = []
    for root, dirs, files in os.walk(s.data):
        if Path(root).resolve() == s.backups.resolve() and s.backups != DataPaths(s.data).backups:
            continue
        for d in dirs:
            p = Path(root) / d
            if stat.S_IMODE(p.lstat().st_mode) & 0o077:
                bad.append(f"{p} is {oct(stat.S_IMODE(p.lstat().st_mode))}")
        for f in files:
            p = Path(root) / f
            try:
                mode = stat.S_IMODE(p.lstat().st_mode)
            except FileNotFoundError:
                continue
            if mode & 0o077:
                bad.append(f"{p} is {oct(mode)}")
    own = stat.S_IMODE(s.data.stat().st_mode)
    if own & 0o077:
        bad.insert(0, f"{s.data} is {oct(own)}")
    if bad:
        yield Check(
            "paths",
            CRITICAL,
            f"{len(bad)} path(s) readable by others: {bad[0]}",
            {"bad_modes": len(bad)},
        )
    else:
        yield Check("paths", OK, f"{s.data} private (0700/0600)", {"bad_modes": 0})
    if not s.workspace.exists():
        yield Check("workspace", WARNING, f"workspace {s.workspace} not found")


def check_disk(ctx: HealthContext) -> Iterable[Check]:
    s = ctx.settings
    target = s.data if s.data.exists() else s.state_dir if s.state_dir.exists() else Path.home()
    usage = shutil.disk_usage(target)
    free_mb = usage.free // (1024 * 1024)
    state = OK
    if free_mb < s.disk_crit_free_mb:
        state = CRITICAL
    elif free_mb < s.disk_warn_free_mb:
        state = WARNING
    yield Check("disk", state, f"{free_mb} MiB free on {target}", {"disk_free_mb": free_mb})


MIB = 1024 * 1024


def tree_sizes(top: Path, skip: Path | None = None) -> dict[str, int]:
    """Bytes under each entry of `top` (os.scandir, symlinks not followed, `skip` left out):
    cheap enough for every health run, and it names what grew."""
    sizes: dict[str, int] = {}
    skip_key = None if skip is None else os.path.realpath(skip)
    for first in os.scandir(top):
        total, stack = 0, [first]
        while stack:
            entry = stack.pop()
            try:
                if entry.is_dir(follow_symlinks=False):
                    if skip_key is None or os.path.realpath(entry.path) != skip_key:
                        stack.extend(os.scandir(entry.path))
                else:
                    total += entry.stat(follow_symlinks=False).st_size
            except (FileNotFoundError, PermissionError):
                continue  # gone meanwhile, or not ours to read: check_paths reports that
        sizes[first.name] = total
    return sizes


def check_data_size(ctx: HealthContext) -> Iterable[Check]:
    """The data dir's size without its backups folder (what `infra prune` keeps in bounds),
    and the backups' size wherever they are; WARNING past OPENCLAW_INFRA_DATA_WARN_MB."""
    s = ctx.settings
    if not s.data.is_dir():
        return
    backups = s.backups
    sizes = tree_sizes(s.data, skip=backups)
    data_bytes = sum(sizes.values())
    data_mb = data_bytes // MIB
    perf: dict[str, float | int] = {"data_size_mb": data_mb}
    text = f"{data_bytes / MIB:.1f} MiB in {s.data}"
    if backups.is_dir():
        backup_bytes = sum(tree_sizes(backups).values())
        perf["backups_size_mb"] = backup_bytes // MIB
        text += f", backups {backup_bytes / MIB:.1f} MiB"
        if s.data.resolve() not in backups.resolve().parents:
            text += f" in {backups}"
    state = OK
    if s.data_warn_mb and data_mb > s.data_warn_mb:
        state = WARNING
        name, size = max(sizes.items(), key=lambda kv: kv[1])
        text += (
            f": over {env_name('data_warn_mb')}={s.data_warn_mb}, largest {name} "
            f"{size // MIB} MiB (`infra prune --dry-run` lists what is past its age)"
        )
    yield Check("data_size", state, text, perf)


WINDOW_S = 7 * 24 * 3600


def asleep_seconds(conn: sqlite3.Connection, since: float, now: float) -> float:
    """Time in [since, now] the machine slept or was off, measured by the clocks each run
    recorded at its start (`core.clocks`); runs recorded without them count no sleep.

    A silent stretch without measured sleep is not sleep: the machine was up and the jobs
    were not run (a broken crontab, a stopped scheduler).
    """
    columns = {str(r[1]) for r in conn.execute("PRAGMA table_info(runs)")}
    if "awake_s" not in columns:  # a ledger this version has not migrated yet
        return 0.0
    previous = conn.execute(
        "SELECT max(started_at) FROM runs WHERE started_at < ?", (since,)
    ).fetchone()[0]
    rows = conn.execute(
        "SELECT started_at, since_boot_s, awake_s, boot_id FROM runs "
        "WHERE started_at >= ? AND started_at <= ? ORDER BY started_at",
        (since if previous is None else previous, now),
    ).fetchall()
    samples = [(float(r[0]), RunClocks(r[1], r[2], r[3])) for r in rows]
    total = 0.0
    for (wall_a, a), (wall_b, b) in itertools.pairwise(samples):
        # sleep spanning `since` counts only for its part inside the window
        total += min(asleep_between(wall_a, a, wall_b, b), wall_b - max(wall_a, since))
    return total


def check_jobs(ctx: HealthContext) -> Iterable[Check]:
    """Each registry job: last success against schedule and grace, failures in a row, and
    over the last 7 days the runs missed while the machine slept, the runs missed while it
    was up (not run: nothing started them) and the runs that failed."""
    from openclaw_infra.core import ledger
    from openclaw_infra.core.jobs import scheduled

    if ctx.conn is None or not ctx.table_exists("runs"):
        yield Check("jobs", WARNING, "no job has run yet (the run ledger is empty)")
        return
    installed = float(
        ctx.conn.execute("SELECT min(applied_at) FROM schema_migrations").fetchone()[0] or ctx.now
    )
    since = max(installed, ctx.now - WINDOW_S)
    asleep = asleep_seconds(ctx.conn, since, ctx.now)
    for spec in scheduled(ctx.settings):
        last = ledger.last_success(ctx.conn, spec.name)
        fails = ledger.failures_in_a_row(ctx.conn, spec.name)
        started, failed_7d = ctx.conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE status='failed') FROM runs "
            "WHERE job=? AND started_at>?",
            (spec.name, since),
        ).fetchone()
        missed_asleep = int(asleep // spec.period_s)
        missed = max(0, int((ctx.now - since) // spec.period_s) - started)
        not_run = max(0, missed - missed_asleep)
        limit = spec.period_s + spec.grace_s
        perf: dict[str, float | int] = {
            f"job_{spec.name}_failures": fails,
            f"job_{spec.name}_missed_asleep": missed_asleep,
            f"job_{spec.name}_not_run": not_run,
        }
        if last is None:
            state = WARNING if ctx.now - installed > limit else OK
            text = "never succeeded" + ("" if state else " (not due yet)")
        else:
            age = ctx.now - float(last["ended_at"] or last["started_at"])
            perf[f"job_{spec.name}_age_s"] = int(age)
            state = OK
            if age > 2 * limit:
                state = CRITICAL
            elif age > limit:
                state = WARNING
            text = f"last success {fmt_age(age)} ago"
        if fails:
            state = max(state, CRITICAL if fails >= 3 else WARNING)
            text += f", {fails} failure(s) in a row"
        if state != OK and (missed_asleep or not_run or failed_7d):
            text += (
                f" ({missed_asleep} run(s) missed while asleep, {not_run} not run, "
                f"{failed_7d} failed in 7d)"
            )
        yield Check(f"job:{spec.name}", state, text, perf)


def check_settings(ctx: HealthContext) -> Iterable[Check]:
    s = ctx.settings
    yield Check("settings", OK, f"valid; timezone {s.tz.key}")


def _registry() -> list[CheckFn]:
    """Every check, in report order: each capability's checks live beside it and import
    only `core.checks`, so importing them here makes no circle (and none imports a heavy
    library: a test inspects sys.modules after `infra health`)."""
    from openclaw_infra.context.checks import check_signals
    from openclaw_infra.feedback.checks import check_feedback
    from openclaw_infra.memory.checks import check_index
    from openclaw_infra.memory.eval_checks import check_eval
    from openclaw_infra.openclaw.checks import check_transcripts
    from openclaw_infra.ops.alert_checks import check_alerts
    from openclaw_infra.ops.backup.checks import check_backup, check_drill, check_offsite
    from openclaw_infra.pipeline.checks import check_digests, check_summaries
    from openclaw_infra.serve.checks import check_service
    from openclaw_infra.voice.checks import check_voice_inbox, check_voice_quarantine

    return [
        check_settings,
        check_paths,
        check_disk,
        check_data_size,
        check_jobs,
        check_alerts,
        check_transcripts,
        check_summaries,
        check_digests,
        check_index,
        check_eval,
        check_service,
        check_voice_inbox,
        check_voice_quarantine,
        check_backup,
        check_drill,
        check_offsite,
        check_feedback,
        check_signals,
    ]


@dataclass
class Report:
    state: int
    checks: list[Check]
    took_ms: float

    @property
    def label(self) -> str:
        return HEALTH_CODES[self.state]

    def first_line(self) -> str:
        bad = [c for c in self.checks if c.state != OK]
        if bad:
            worst = sorted(bad, key=lambda c: -c.state)
            text = "; ".join(f"{c.name}: {c.summary}" for c in worst[:3])
            if len(worst) > 3:
                text += f"; and {len(worst) - 3} more"
        else:
            text = f"{len(self.checks)} checks ok"
        perf = " ".join(f"{k}={v}" for c in self.checks for k, v in sorted(c.perf.items()))
        return f"INFRA {self.label} - {text}" + (f" | {perf}" if perf else "")

    def as_json(self) -> dict[str, Any]:
        return {
            "state": self.label,
            "exit_code": self.state,
            "took_ms": self.took_ms,
            "checks": [{**asdict(c), "state": HEALTH_CODES[c.state]} for c in self.checks],
        }

    def table(self) -> str:
        width = max((len(c.name) for c in self.checks), default=4)
        rows = [f"{c.name:<{width}}  {HEALTH_CODES[c.state]:<8}  {c.summary}" for c in self.checks]
        return "\n".join(rows)


def corrupt_store_check(settings: Settings, problem: str, folded: int) -> Check:
    """A corrupt infra.sqlite: CRITICAL, naming the file and the command that recovers it
    (a restore when there is a snapshot, else a rebuild from the transcripts and files)."""
    from openclaw_infra.ops.backup.catalog import list_snapshots

    if list_snapshots(settings.backups):
        command = "infra backup restore latest --in-place --yes"
    else:
        command = "infra index --rebuild"
    text = (
        f"{settings.db_path} is corrupt ({problem}); run `{command}`, which moves it aside "
        "(kept) and recovers"
    )
    if folded:
        text += f"; {folded} check(s) that read it could not run"
    return Check("database", CRITICAL, text)


def run_checks(settings: Settings, checks: Iterable[CheckFn] | None = None) -> Report:
    """Run every check; a check that itself fails is UNKNOWN, never a crash, unless it
    failed because infra.sqlite is corrupt: then one CRITICAL `database` check stands for
    all of them."""
    start = time.monotonic()
    results: list[Check] = []
    conn = None
    try:
        conn = open_readonly(settings)
    except sqlite3.Error as exc:
        results.append(Check("database", CRITICAL, f"{settings.db_path}: {exc}"))
    problem = probe(settings.db_path)
    ctx = HealthContext(settings, conn)
    for fn in checks if checks is not None else _registry():
        try:
            results.extend(fn(ctx))
        except Exception as exc:
            results.append(
                Check(
                    fn.__name__.removeprefix("check_"),
                    UNKNOWN,
                    f"check failed: {type(exc).__name__}: {exc}",
                )
            )
    if conn is not None:
        conn.close()
    if problem is None and any(c.state == UNKNOWN for c in results):
        problem = probe(settings.db_path, thorough=True)  # did they fail on damage?
    if problem is not None:
        failed = [c for c in results if c.state == UNKNOWN]
        ok = [c for c in results if c.state != UNKNOWN]
        results = [corrupt_store_check(settings, problem, len(failed)), *ok]
    state = max((c.state for c in results), default=UNKNOWN)
    return Report(state, results, round((time.monotonic() - start) * 1000, 1))


def config_failure_report(message: str) -> Report:
    return Report(CRITICAL, [Check("settings", CRITICAL, message)], 0.0)


def dumps(report: Report) -> str:
    return json.dumps(report.as_json(), indent=2, sort_keys=True)
