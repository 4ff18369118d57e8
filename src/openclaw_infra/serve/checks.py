"""`infra health` check for the resident recall service: up, how fast it answers, how long
it has run, how often it restarted in the last day, and its resident memory."""

from __future__ import annotations

import time
from collections.abc import Iterable

from openclaw_infra import __version__
from openclaw_infra.core.checks import OK, WARNING, Check, HealthContext, fmt_age
from openclaw_infra.serve import supervise

DAY_S = 24 * 3600
CRASH_LOOP = 3  # unclean ends in a day that make a running service a WARNING
START_HINT = "start it: infra serve --ensure (the schedule restarts it within 5 minutes)"


def check_service(ctx: HealthContext) -> Iterable[Check]:
    starts = supervise.Starts(0, 0)
    if ctx.conn is not None and ctx.table_exists("runs"):
        starts = supervise.starts_since(ctx.conn, ctx.now - DAY_S)
    perf: dict[str, float | int] = {
        "service_restarts_24h": starts.restarts,
        "service_crashes_24h": starts.unclean,
    }
    day = f"{starts.restarts} restart(s) in the last day"
    if starts.unclean:
        day += f", {starts.unclean} after a crash or kill"
    start = time.perf_counter()
    live = supervise.running(ctx.settings)
    latency_ms = round((time.perf_counter() - start) * 1000, 1)
    if live is None or live.reply is None:
        if live is not None:
            where = f"pid {live.pid} holds its lock but does not answer (loading, or hung)"
        else:
            where = "stale socket" if ctx.settings.socket_path.exists() else "no socket"
        if starts.restarts or starts.unclean:
            where += f"; {day}"
        yield Check(
            "service",
            WARNING,
            f"infra serve is down ({where}): each recall loads the model (seconds); " + START_HINT,
            {"service_up": 0, **perf},
        )
        return
    reply = live.reply
    uptime = float(reply.get("uptime_s") or 0)
    rss = supervise.rss_kib(live.pid) if live.pid is not None else None
    perf.update(
        {"service_up": 1, "service_latency_ms": latency_ms, "service_uptime_s": int(uptime)}
    )
    text = (
        f"infra serve up {fmt_age(uptime)} (pid {live.pid}, {latency_ms} ms, "
        f"{reply.get('served', 0)} queries served"
    )
    if rss is not None:
        perf["service_rss_mb"] = round(rss / 1024, 1)
        text += f", {perf['service_rss_mb']} MiB resident"
    text += f"; {day})"
    state = OK
    if starts.unclean >= CRASH_LOOP:
        state = WARNING
        text += f"; it keeps dying: see {supervise.log_path(ctx.settings)} and the log"
    if reply.get("version") != __version__:
        state = WARNING
        text += (
            f"; it runs infra {reply.get('version')}, {__version__} is installed: restart it "
            "(infra serve --stop; infra serve --ensure)"
        )
    yield Check("service", state, text, perf)
