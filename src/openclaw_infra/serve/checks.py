"""`infra health` check for the resident recall service: up, and how fast it answers."""

from __future__ import annotations

import time
from collections.abc import Iterable

from openclaw_infra.core.checks import OK, WARNING, Check, HealthContext
from openclaw_infra.serve.client import ping


def check_service(ctx: HealthContext) -> Iterable[Check]:
    start = time.perf_counter()
    reply = ping(ctx.settings, timeout_s=2.0)
    latency_ms = round((time.perf_counter() - start) * 1000, 1)
    if reply is None:
        where = "stale socket" if ctx.settings.socket_path.exists() else "no socket"
        yield Check(
            "service",
            WARNING,
            f"infra serve is down ({where}): each recall loads the model (seconds)",
            {"service_up": 0},
        )
        return
    yield Check(
        "service",
        OK,
        f"infra serve up (pid {reply.get('pid')}, {latency_ms} ms, "
        f"{reply.get('served', 0)} queries served)",
        {"service_up": 1, "service_latency_ms": latency_ms},
    )
