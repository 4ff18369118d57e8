"""Health check of the alerts themselves: is the user actually told?

Reads the alert memory the last `infra health --notify` recorded (`ops.alerts`); imports
only core and that module, so `ops/health._registry` can list it without a circle.
"""

from __future__ import annotations

from collections.abc import Iterable

from openclaw_infra.core.checks import OK, WARNING, Check, HealthContext, fmt_age
from openclaw_infra.ops.alerts import alerts_off, last_memory


def check_alerts(ctx: HealthContext) -> Iterable[Check]:
    """WARNING while an alert could not be delivered (it is retried every run); otherwise
    OK with what the user was last told, or that alerts are off."""
    s = ctx.settings
    if alerts_off(s):
        yield Check("alerts", OK, "off (OPENCLAW_INFRA_ALERT_TARGET is empty)")
        return
    if ctx.conn is None or not ctx.table_exists("runs"):
        yield Check("alerts", OK, "no alert sent yet", {"alert_failures": 0})
        return
    memory = last_memory(ctx.conn)
    perf: dict[str, float | int] = {"alert_failures": memory.failures}
    if memory.failures:
        since = fmt_age(ctx.now - (memory.failing_since or ctx.now))
        yield Check(
            "alerts",
            WARNING,
            f"{memory.failures} delivery attempt(s) failed, for {since}: {memory.last_error}; "
            "retried every run (try `infra health --notify`)",
            perf,
        )
        return
    if memory.told_at is None:
        text = "no alert sent yet"
    else:
        text = f"told {memory.state} {fmt_age(ctx.now - memory.told_at)} ago"
    if memory.last_status == "held":
        text += "; a change waits for the end of quiet hours"
    yield Check("alerts", OK, text, perf)
