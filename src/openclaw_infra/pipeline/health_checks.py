"""`infra health` checks for `summarize`: mode, owed hours, last summary, LLM failures.

Light on purpose (stdlib and sqlite only): the numbers come from the run ledger, where each
`summarize` run records its owed hours and whether the LLM failed it, and from the
`summary_sections` table. Extractive mode is a WARNING: summaries are still written, but
they are quoted sentences, not an LLM's notes, and the operator should know.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from openclaw_infra.ops.health import CRITICAL, OK, WARNING, Check, HealthContext, fmt_age

JOB = "summarize"
OWED_CRITICAL_S = 24 * 3600  # an hour owed for a day means summaries are not catching up
LLM_FAILURES_CRITICAL = 3


def _runs(ctx: HealthContext, limit: int = 50) -> list[tuple[str, dict[str, Any], str | None]]:
    """(status, details, error) of the latest finished `summarize` runs, newest first."""
    if ctx.conn is None or not ctx.table_exists("runs"):
        return []
    rows = ctx.conn.execute(
        "SELECT status, details, error FROM runs WHERE job=? AND status != 'running' "
        "ORDER BY started_at DESC LIMIT ?",
        (JOB, limit),
    ).fetchall()
    out = []
    for status, raw, error in rows:
        try:
            details = json.loads(raw) if raw else {}
        except ValueError:
            details = {}
        out.append((str(status), details if isinstance(details, dict) else {}, error))
    return out


def check_mode(ctx: HealthContext) -> Check:
    s = ctx.settings
    if s.summarizer == "anthropic" and not s.api_key:
        return Check(
            "summarize:mode",
            CRITICAL,
            "summarizer=anthropic but no API key is set (summarize exits 78)",
        )
    if s.summarizer == "extractive":
        return Check(
            "summarize:mode",
            WARNING,
            "extractive summaries (OPENCLAW_INFRA_SUMMARIZER=extractive), no LLM",
        )
    if not s.api_key:
        return Check(
            "summarize:mode",
            WARNING,
            "extractive summaries: no Anthropic API key set (OPENCLAW_INFRA_ANTHROPIC_API_KEY)",
        )
    return Check("summarize:mode", OK, f"anthropic ({s.llm_model})")


def check_owed(ctx: HealthContext, runs: list[tuple[str, dict[str, Any], str | None]]) -> Check:
    if not runs:
        return Check("summarize:owed", OK, "no summarize run yet")
    details = runs[0][1]
    owed = int(details.get("owed_hours") or 0)
    pending = int(details.get("pending_hours") or 0)
    perf: dict[str, float | int] = {"summarize_owed_hours": owed}
    if owed == 0:
        text = "no owed hours" + (f" ({pending} hour(s) still open)" if pending else "")
        return Check("summarize:owed", OK, text, perf)
    oldest = details.get("oldest_owed_hour")
    age = 0.0
    if isinstance(oldest, str):
        try:
            start = datetime.strptime(oldest, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            age = ctx.now - start.timestamp()
        except ValueError:
            age = 0.0
    state = CRITICAL if age > OWED_CRITICAL_S else WARNING
    text = f"{owed} hour(s) owed after the last run"
    if age:
        text += f", oldest from {fmt_age(age)} ago"
    return Check("summarize:owed", state, text, perf)


def check_last_summary(ctx: HealthContext) -> Check:
    if ctx.conn is None or not ctx.table_exists("summary_sections"):
        return Check("summarize:last", OK, "no summary written yet")
    row = ctx.conn.execute(
        "SELECT max(created_at), max(hour_start) FROM summary_sections"
    ).fetchone()
    if row is None or row[0] is None:
        return Check("summarize:last", OK, "no summary written yet")
    age = ctx.now - float(row[0])
    return Check(
        "summarize:last",
        OK,
        f"last section written {fmt_age(age)} ago (newest hour {row[1]})",
        {"summarize_last_age_s": int(age)},
    )


def check_llm_failures(runs: list[tuple[str, dict[str, Any], str | None]]) -> Check:
    """Runs in a row that ended because the API stayed unavailable after retries."""
    failures = 0
    last_error = None
    for _, details, error in runs:
        if details.get("llm_failed") is True:
            failures += 1
            last_error = last_error or error
            continue
        break  # an LLM success, or an extractive run: the streak ends
    perf: dict[str, float | int] = {"summarize_llm_failures": failures}
    if not failures:
        return Check("summarize:llm", OK, "no LLM failures in a row", perf)
    state = CRITICAL if failures >= LLM_FAILURES_CRITICAL else WARNING
    text = f"{failures} run(s) in a row failed on the LLM API"
    if last_error:
        text += f": {str(last_error)[:160]}"
    return Check("summarize:llm", state, text, perf)


def check_summaries(ctx: HealthContext) -> Iterable[Check]:
    runs = _runs(ctx)
    yield check_mode(ctx)
    yield check_owed(ctx, runs)
    yield check_last_summary(ctx)
    yield check_llm_failures(runs)
