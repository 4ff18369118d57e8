"""Health of the signal detector: its last scan, and signals that could not be sent."""

from __future__ import annotations

from collections.abc import Iterable

from openclaw_infra.core.checks import OK, WARNING, Check, HealthContext, fmt_age

JOB = "signals"  # context.signals.JOB (not imported: checks stay light)
DAY_S = 24 * 3600


def check_signals(ctx: HealthContext) -> Iterable[Check]:
    """The last `infra signals scan` (a failed one warns), and signals of the last day that
    the alert sender did not deliver."""
    if ctx.conn is None or not ctx.table_exists("context_signals"):
        yield Check("signals", OK, "no signal scan yet")
        return
    last = ctx.conn.execute(
        "SELECT status, started_at, error FROM runs WHERE job=? ORDER BY started_at DESC LIMIT 1",
        (JOB,),
    ).fetchone()
    unsent, recent = ctx.conn.execute(
        "SELECT coalesce(sum(notify_error IS NOT NULL), 0), count(*) FROM context_signals "
        "WHERE created_at >= ?",
        (ctx.now - DAY_S,),
    ).fetchone()
    perf: dict[str, float | int] = {"signals_24h": int(recent), "unsent_24h": int(unsent)}
    if last is None:
        state, summary = (WARNING, f"{unsent} signals in 24h not sent") if unsent else (OK, "")
        yield Check("signals", state, summary or "no signal scan yet", perf)
        return
    age = fmt_age(ctx.now - float(last[1]))
    if last[0] == "failed":
        yield Check("signals", WARNING, f"last signal scan failed {age} ago: {last[2]}", perf)
    elif unsent:
        yield Check(
            "signals",
            WARNING,
            f"{unsent} of {recent} signals in 24h not sent (last scan {age} ago)",
            perf,
        )
    else:
        yield Check("signals", OK, f"last scan {age} ago, {recent} signals in 24h", perf)
