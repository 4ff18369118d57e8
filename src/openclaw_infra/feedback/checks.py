"""`infra health` checks for the learning loop: the feedback log, refused values, lessons.

SQLite and the standard library only. A forged, malformed or rate-limited value in the last
day is worth a look (someone sends values this install did not sign, an agent mangles them,
or a flood); an expired one is only counted (an old button pressed late). Bad and fix
feedback that `infra lessons` has not taken in for two days means the job is not running.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from openclaw_infra.core.checks import OK, WARNING, Check, HealthContext, fmt_age

DAY_S = 86400
LESSONS_WAIT_WARN_S = 2 * DAY_S  # the job runs daily, after daily-sync
QUIET_REASONS = ("expired",)


def _utc_day(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).date().isoformat()


def check_feedback(ctx: HealthContext) -> Iterable[Check]:
    """Feedback recorded (last day, last week, in all), values refused since yesterday,
    and how long bad/fix feedback has waited for `infra lessons`."""
    if ctx.conn is None or not ctx.table_exists("feedback"):
        yield Check("feedback:log", OK, "no feedback yet", {"feedback_total": 0})
        return
    conn = ctx.conn
    total, day, week = conn.execute(
        "SELECT count(*), coalesce(sum(created_at>?), 0), coalesce(sum(created_at>?), 0) "
        "FROM feedback",
        (ctx.now - DAY_S, ctx.now - 7 * DAY_S),
    ).fetchone()
    refused = {
        str(r[0]): int(r[1])
        for r in conn.execute(
            "SELECT reason, sum(count) FROM feedback_refused WHERE day>=? GROUP BY reason",
            (_utc_day(ctx.now - DAY_S),),
        )
    }
    perf: dict[str, float | int] = {
        "feedback_total": int(total),
        "feedback_day": int(day),
        "feedback_week": int(week),
        "feedback_refused": sum(refused.values()),
    }
    text = f"{day} in the last day, {week} in the week, {total} in all"
    state = OK
    if refused:
        text += "; refused since yesterday: " + ", ".join(
            f"{n} {reason}" for reason, n in sorted(refused.items())
        )
        if any(reason not in QUIET_REASONS for reason in refused):
            state = WARNING
    yield Check("feedback:log", state, text, perf)
    yield from _check_lessons(ctx)


def _check_lessons(ctx: HealthContext) -> Iterable[Check]:
    assert ctx.conn is not None
    row = ctx.conn.execute(
        "SELECT value FROM watermarks WHERE job='lessons' AND key='feedback_id'"
    ).fetchone()
    after = int(row[0]) if row is not None else 0
    waiting, oldest = ctx.conn.execute(
        "SELECT count(*), min(created_at) FROM feedback WHERE id>? AND verdict IN ('bad','fix')",
        (after,),
    ).fetchone()
    path = ctx.settings.lessons_path
    perf: dict[str, float | int] = {"lessons_waiting": int(waiting)}
    try:
        perf["lessons_age_s"] = int(max(0.0, ctx.now - path.stat().st_mtime))
        written = f"lessons written {fmt_age(perf['lessons_age_s'])} ago"
    except FileNotFoundError:
        written = "no lessons yet"
    lessons = 0
    if ctx.table_exists("feedback_lessons"):
        lessons = int(ctx.conn.execute("SELECT count(*) FROM feedback_lessons").fetchone()[0])
    perf["lessons"] = lessons
    if lessons and "lessons_age_s" not in perf:
        yield Check(
            "feedback:lessons",
            WARNING,
            f"{lessons} lesson(s) recorded but {path} is missing; `infra lessons` writes it",
            perf,
        )
        return
    if not waiting:
        yield Check("feedback:lessons", OK, f"{lessons} lesson(s), none waiting; {written}", perf)
        return
    age = max(0.0, ctx.now - float(oldest))
    state = WARNING if age > LESSONS_WAIT_WARN_S else OK
    yield Check(
        "feedback:lessons",
        state,
        f"{waiting} bad/fix feedback waiting for `infra lessons`, oldest {fmt_age(age)}; {written}",
        perf,
    )
