"""`infra health` checks for the pipeline: summarize (mode, owed hours, last summary, LLM
failures), daily-sync and weekly-synthesis (last digests, owed days, dropped claims,
edited priorities).

Light on purpose (stdlib and sqlite only): the numbers come from the run ledger, where each
`summarize` run records its owed hours and whether the LLM failed it, and from the
`summary_sections` table. Extractive mode is a WARNING: summaries are still written, but
they are quoted sentences, not an LLM's notes, and the operator should know. A local
model (openai-compatible) is OK, and a WARNING when the last run could not reach it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from openclaw_infra.core.checks import CRITICAL, OK, WARNING, Check, HealthContext, fmt_age
from openclaw_infra.core.layout import PRIORITIES_REL
from openclaw_infra.core.outputs import file_state
from openclaw_infra.pipeline.periods import DAILY_JOB, last_ready_day, sync_time

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


def check_local_mode(
    ctx: HealthContext, runs: list[tuple[str, dict[str, Any], str | None]]
) -> Check:
    """A local model is a real LLM (OK, not a degraded mode). No request is sent to see if it
    is up (health stays fast and offline): the last run's ledger says whether it answered."""
    s = ctx.settings
    where = f"openai-compatible ({s.openai_model or 'no model'} at {s.openai_base_url})"
    if not s.openai_model:
        return Check(
            "summarize:mode",
            CRITICAL,
            f"{where}: OPENCLAW_INFRA_OPENAI_MODEL is not set (summarize exits 78)",
        )
    last = runs[0][1] if runs else {}
    unreachable = {"connection", "timeout"} & set(last.get("llm_errors") or {})
    if last.get("summarizer") == "openai-compatible" and last.get("llm_failed") and unreachable:
        return Check("summarize:mode", WARNING, f"{where}: unreachable at the last run")
    return Check("summarize:mode", OK, where)


def check_mode(
    ctx: HealthContext, runs: list[tuple[str, dict[str, Any], str | None]] | None = None
) -> Check:
    s = ctx.settings
    if s.summarizer == "openai-compatible":
        return check_local_mode(ctx, runs or [])
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
    yield check_mode(ctx, runs)
    yield check_owed(ctx, runs)
    yield check_last_summary(ctx)
    yield check_llm_failures(runs)


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
    path = ctx.settings.workspace / PRIORITIES_REL
    if ctx.conn is None or not ctx.table_exists("owned_files"):
        return Check("priorities", OK, "not written yet")
    state = file_state(ctx.conn, PRIORITIES_REL)
    try:
        current = hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return Check(
            "priorities",
            OK,
            "not written yet" if state is None else "absent (rewritten by the next daily-sync)",
        )
    if state is not None and state.holds(current):
        return Check("priorities", OK, f"{PRIORITIES_REL} as infra last wrote it")
    # here only: the module that writes the file imports yaml (~15 ms on every health run)
    from openclaw_infra.pipeline.daily.priorities_file import UPDATE_SUFFIX

    update = path.with_name(path.name + UPDATE_SUFFIX)
    where = (
        f"infra's update is in {PRIORITIES_REL}{UPDATE_SUFFIX}"
        if update.exists()
        else "the next daily-sync writes its update beside it"
    )
    return Check(
        "priorities",
        WARNING,
        f"{PRIORITIES_REL} was changed since infra wrote it and is left alone; {where} (move it "
        "over the file, or delete the file, to resume)",
    )


def check_digests(ctx: HealthContext) -> Iterable[Check]:
    yield check_daily(ctx)
    yield check_weekly(ctx)
    yield check_priorities(ctx)
