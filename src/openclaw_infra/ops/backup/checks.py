"""`infra health` checks "backup", "drill" and "offsite": is there a recent snapshot, was
one recently proven to restore, and is there a recent copy off this machine?

"backup" looks at the backup directory itself, not only at the ledger: a snapshot that was
pruned by hand, or an external drive that is not mounted, shows up here even when the last
`infra backup` run succeeded. "drill" reads the last successful `backup-drill` run. Both use
the job registry's period and grace, like the job freshness check. Stdlib only: this runs
every 30 minutes and must stay fast (names and sizes, no archive is opened). "offsite"
never runs restic (a network round trip every 30 minutes): it reads the watermark that each
successful copy writes, and looks for the restic program on PATH.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable

from openclaw_infra.core import ledger
from openclaw_infra.core.checks import CRITICAL, OK, WARNING, Check, HealthContext, fmt_age
from openclaw_infra.core.jobs import job
from openclaw_infra.ops.backup.catalog import OFFSITE_JOB, list_snapshots, offsite_copy_key

# restic.INSTALL_HINT, repeated so health does not import the wrapper
_RESTIC_HINT = "install restic: `brew install restic` (macOS) or `apt-get install restic` (Debian)"


def _age_state(age: float, limit: float) -> int:
    if age > 2 * limit:
        return CRITICAL
    return WARNING if age > limit else OK


def _installed_since(ctx: HealthContext) -> float:
    """Seconds since infra's database was created (nothing is overdue before that)."""
    if ctx.conn is None or not ctx.table_exists("schema_migrations"):
        return 0.0
    first = ctx.conn.execute("SELECT min(applied_at) FROM schema_migrations").fetchone()[0]
    return ctx.now - float(first or ctx.now)


def check_backup(ctx: HealthContext) -> Iterable[Check]:
    """Age of the newest snapshot in the backup directory, their count and total size."""
    spec = job("backup")
    limit = spec.period_s + spec.grace_s
    where = ctx.settings.backups
    snapshots = list_snapshots(where)
    perf: dict[str, float | int] = {
        "backups": len(snapshots),
        "backup_bytes": sum(s.size for s in snapshots),
    }
    if not snapshots:
        due = _installed_since(ctx) > limit
        missing = "" if where.is_dir() else " (directory missing: drive not mounted?)"
        text = f"no snapshot in {where}{missing}" + ("" if due else " (not due yet)")
        yield Check("backup", WARNING if due else OK, text, perf)
        return
    newest = snapshots[-1]
    age = ctx.now - newest.created.timestamp()
    perf["backup_age_s"] = int(age)
    yield Check(
        "backup",
        _age_state(age, limit),
        f"newest snapshot {newest.id} is {fmt_age(age)} old ({len(snapshots)} kept)",
        perf,
    )


def check_drill(ctx: HealthContext) -> Iterable[Check]:
    """Age of the last successful restore drill: a backup never restored is a hope."""
    spec = job("backup-drill")
    limit = spec.period_s + spec.grace_s
    last = None
    if ctx.conn is not None and ctx.table_exists("runs"):
        last = ledger.last_success(ctx.conn, spec.name)
    if last is None:
        due = _installed_since(ctx) > limit and bool(list_snapshots(ctx.settings.backups))
        text = "no restore drill has succeeded yet" + ("" if due else " (not due yet)")
        yield Check("drill", WARNING if due else OK, text)
        return
    age = ctx.now - float(last["ended_at"] or last["started_at"])
    try:
        details = json.loads(last["details"] or "{}")
    except ValueError:
        details = {}
    what = (
        f" of {details['snapshot']}" if isinstance(details, dict) and "snapshot" in details else ""
    )
    yield Check(
        "drill",
        _age_state(age, limit),
        f"last successful drill{what} {fmt_age(age)} ago",
        {"drill_age_s": int(age)},
    )


def check_offsite(ctx: HealthContext) -> Iterable[Check]:
    """Age of the newest off-site copy (`offsite_max_age_days`), and the restic program."""
    settings = ctx.settings
    repository = settings.restic_repository.strip()
    if not repository:
        yield Check("offsite", OK, "no off-site repository configured")
        return
    if shutil.which(settings.restic_binary) is None:
        yield Check(
            "offsite",
            WARNING,
            f"restic not found ({settings.restic_binary!r}): no off-site copies; {_RESTIC_HINT}",
        )
        return
    limit = settings.offsite_max_age_days * 86400
    mark = None
    if ctx.conn is not None and ctx.table_exists("watermarks"):
        row = ctx.conn.execute(
            "SELECT value FROM watermarks WHERE job=? AND key=?",
            (OFFSITE_JOB, offsite_copy_key(repository)),
        ).fetchone()
        try:
            mark = json.loads(row[0]) if row is not None else None
        except ValueError:
            mark = None
    if not isinstance(mark, dict) or "at" not in mark:
        due = _installed_since(ctx) > limit
        text = "no off-site copy has succeeded yet" + ("" if due else " (not due yet)")
        yield Check("offsite", WARNING if due else OK, text)
        return
    age = ctx.now - float(mark["at"])
    yield Check(
        "offsite",
        _age_state(age, limit),
        f"newest off-site copy {mark.get('id', '?')} (of {mark.get('snapshot', '?')}) "
        f"is {fmt_age(age)} old",
        {"offsite_age_s": int(age)},
    )
