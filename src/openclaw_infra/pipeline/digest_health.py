"""`infra health` checks for daily-sync and weekly-synthesis: last daily and weekly with their
ages, owed days, dropped claims, and whether someone edited memory/priorities.md.

Light on purpose (stdlib, sqlite, one file hash): the numbers come from `digest_days`,
`digest_weeks`, `digest_files` and the watermarks. Freshness against the schedule and
failures in a row are the generic job checks' business (`job:daily-sync`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date, datetime

from openclaw_infra.ops.health import OK, WARNING, Check, HealthContext, fmt_age
from openclaw_infra.pipeline.periods import DAILY_JOB, last_ready_day, sync_time
from openclaw_infra.pipeline.priorities_file import REL_PATH, UPDATE_SUFFIX

OWED_DAYS_WARNING = 2
DROPPED_SHARE_WARNING = 0.5


def _watermark(ctx: HealthContext, job: str, key: str) -> str | None:
    if ctx.conn is None or not ctx.table_exists("watermarks"):
        return None
    row = ctx.conn.execute(
        "SELECT value FROM watermarks WHERE job=? AND key=?", (job, key)
    ).fetchone()
    return None if row is None else str(row[0])


def check_daily(ctx: HealthContext) -> Check:
    if ctx.conn is None or not ctx.table_exists("digest_days"):
        return Check("daily:last", OK, "no daily digest yet")
    row = ctx.conn.execute(
        "SELECT day, created_at FROM digest_days WHERE path IS NOT NULL ORDER BY day DESC LIMIT 1"
    ).fetchone()
    done = _watermark(ctx, DAILY_JOB, "day")
    perf: dict[str, float | int] = {}
    owed = 0
    if done:
        now = datetime.fromtimestamp(ctx.now, ctx.settings.tz)
        ready = last_ready_day(now, ctx.settings.tz, sync_time(DAILY_JOB))
        owed = max(0, (ready - date.fromisoformat(done)).days)
        perf["daily_owed_days"] = owed
    if row is None:
        text = "no daily digest written yet" + (f" (days done through {done})" if done else "")
    else:
        age = ctx.now - float(row["created_at"])
        perf["daily_last_age_s"] = int(age)
        text = f"last daily {row['day']} written {fmt_age(age)} ago"
    if owed >= OWED_DAYS_WARNING:
        return Check("daily:last", WARNING, f"{text}; {owed} day(s) owed", perf)
    return Check("daily:last", OK, text, perf)


def check_weekly(ctx: HealthContext) -> Check:
    if ctx.conn is None or not ctx.table_exists("digest_weeks"):
        return Check("weekly:last", OK, "no weekly synthesis yet")
    row = ctx.conn.execute(
        "SELECT week, created_at, kept, dropped FROM digest_weeks WHERE path IS NOT NULL "
        "ORDER BY week DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return Check("weekly:last", OK, "no weekly synthesis written yet")
    age = ctx.now - float(row["created_at"])
    kept, dropped = int(row["kept"]), int(row["dropped"])
    perf: dict[str, float | int] = {
        "weekly_last_age_s": int(age),
        "weekly_dropped_claims": dropped,
    }
    text = (
        f"last weekly {row['week']} written {fmt_age(age)} ago; grounding kept {kept}, "
        f"dropped {dropped} claim(s)"
    )
    if dropped and dropped / (kept + dropped) > DROPPED_SHARE_WARNING:
        return Check("weekly:last", WARNING, text + " (most claims ungrounded)", perf)
    return Check("weekly:last", OK, text, perf)


def check_priorities(ctx: HealthContext) -> Check:
    """WARNING while priorities.md holds bytes infra did not write (an edit): infra then
    leaves it alone and writes its update beside it."""
    path = ctx.settings.workspace / REL_PATH
    if ctx.conn is None or not ctx.table_exists("digest_files"):
        return Check("priorities", OK, "not written yet")
    row = ctx.conn.execute(
        "SELECT sha256, pending_sha256 FROM digest_files WHERE path=?", (REL_PATH,)
    ).fetchone()
    try:
        current = hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return Check(
            "priorities",
            OK,
            "not written yet" if row is None else "absent (rewritten by the next daily-sync)",
        )
    if row is not None and current in (row["sha256"], row["pending_sha256"]):
        return Check("priorities", OK, f"{REL_PATH} as infra last wrote it")
    update = path.with_name(path.name + UPDATE_SUFFIX)
    where = (
        f"infra's update is in {REL_PATH}{UPDATE_SUFFIX}"
        if update.exists()
        else "the next daily-sync writes its update beside it"
    )
    return Check(
        "priorities",
        WARNING,
        f"{REL_PATH} was changed since infra wrote it and is left alone; {where} (move it "
        "over the file, or delete the file, to resume)",
    )


def check_digests(ctx: HealthContext) -> Iterable[Check]:
    yield check_daily(ctx)
    yield check_weekly(ctx)
    yield check_priorities(ctx)
