"""`infra health` checks for summarize, over a real ledger: mode, owed hours, last summary
age, LLM failures in a row (thresholds and what ends a streak)."""

from __future__ import annotations

import time
from typing import Any

from openclaw_infra.core import ledger
from openclaw_infra.core.checks import CRITICAL, OK, WARNING, HealthContext, open_readonly
from openclaw_infra.core.db import connect
from openclaw_infra.pipeline.checks import check_summaries

from conftest import OpenClawHome


def record(
    home: OpenClawHome, status: str, details: dict[str, Any], error: str | None = None
) -> None:
    conn = connect(home.data / "infra.sqlite")
    run = ledger.RunRecord(job="summarize", details=details)
    ledger.record_start(conn, run)
    ledger.record_end(conn, run, status=status, exit_code=0 if status == "ok" else 75, error=error)
    conn.close()
    time.sleep(0.01)  # distinct started_at ordering


def states(home: OpenClawHome, **settings: Any) -> dict[str, tuple[int, str]]:
    conn = open_readonly(home.settings(**settings))
    checks = check_summaries(HealthContext(home.settings(**settings), conn))
    out = {c.name: (c.state, c.summary) for c in checks}
    if conn is not None:
        conn.close()
    return out


def test_before_any_run(oc_home: OpenClawHome) -> None:
    """A fresh install: nothing owed, no summary yet, no failures; mode follows the key."""
    got = states(oc_home, anthropic_api_key="sk-ant-x-123456")
    assert {k: v[0] for k, v in got.items()} == {
        "summarize:mode": OK,
        "summarize:owed": OK,
        "summarize:last": OK,
        "summarize:llm": OK,
    }


def test_mode_states(oc_home: OpenClawHome) -> None:
    """Extractive (chosen or for lack of a key) is a WARNING; anthropic without a key is
    CRITICAL (summarize would exit 78)."""
    assert states(oc_home)["summarize:mode"][0] == WARNING
    assert (
        states(oc_home, summarizer="extractive", anthropic_api_key="sk-ant-x-123456")[
            "summarize:mode"
        ][0]
        == WARNING
    )
    assert states(oc_home, summarizer="anthropic")["summarize:mode"][0] == CRITICAL


def test_owed_hours_warning_then_critical(oc_home: OpenClawHome) -> None:
    """Hours left owed by the last run are a WARNING, CRITICAL once the oldest is a day old."""
    recent = time.strftime("%Y-%m-%dT%H:00:00Z", time.gmtime(time.time() - 3 * 3600))
    record(oc_home, "ok", {"owed_hours": 3, "oldest_owed_hour": recent})
    state, text = states(oc_home)["summarize:owed"]
    assert state == WARNING and text.startswith("3 hour(s) owed")
    record(oc_home, "ok", {"owed_hours": 40, "oldest_owed_hour": "2026-01-01T00:00:00Z"})
    assert states(oc_home)["summarize:owed"][0] == CRITICAL
    record(oc_home, "ok", {"owed_hours": 0, "pending_hours": 1})
    assert states(oc_home)["summarize:owed"][0] == OK


def test_llm_failures_in_a_row(oc_home: OpenClawHome) -> None:
    """Consecutive runs failed on the API: 1-2 WARNING, 3 CRITICAL with the last error; an
    LLM success ends the streak."""
    record(oc_home, "ok", {"llm_failed": False})
    for _ in range(2):
        record(oc_home, "failed", {"llm_failed": True}, "Anthropic API unavailable (529)")
    state, text = states(oc_home)["summarize:llm"]
    assert state == WARNING and "2 run(s)" in text and "529" in text
    record(oc_home, "failed", {"llm_failed": True}, "Anthropic API unavailable (529)")
    assert states(oc_home)["summarize:llm"][0] == CRITICAL
    record(oc_home, "ok", {"llm_failed": False})
    assert states(oc_home)["summarize:llm"][0] == OK
