"""Health of the private evaluation set: the active index's last recall@10 and MRR, their
age, and a WARNING while the last guarded rebuild stands refused. Reads one small JSON file
(`eval_scores`) and one row of the store: no model, no scan."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openclaw_infra.core.checks import OK, WARNING, Check, HealthContext, fmt_age
from openclaw_infra.memory.eval_guard import REFUSED
from openclaw_infra.memory.eval_scores import read_scores, scores_path


def _active_gen(ctx: HealthContext) -> int | None:
    if not ctx.table_exists("memory_generations"):
        return None
    assert ctx.conn is not None
    row = ctx.conn.execute("SELECT gen FROM memory_generations WHERE state='active'").fetchone()
    return None if row is None else int(row[0])


def check_eval(ctx: HealthContext) -> Iterable[Check]:
    path = scores_path(ctx.settings)
    try:
        data: dict[str, Any] = read_scores(path)
    except (OSError, ValueError) as exc:
        yield Check("eval", WARNING, f"{path}: unreadable ({exc}); `infra eval` writes it anew")
        return
    active = data.get("active")
    if not active:
        yield Check("eval", OK, "no score yet (`infra eval` builds a set from your digests)")
        return
    age = ctx.now - float(active["at"])
    summary = (
        f"recall@10 {active['recall_at_10']:.3f}, MRR {active['mrr']:.3f} on "
        f"{active['queries']} of your own queries, {fmt_age(age)} ago"
    )
    if active.get("gen") != _active_gen(ctx):
        summary += " (of an earlier index; `infra eval` scores the current one)"
    perf = {
        "eval_recall10": active["recall_at_10"],
        "eval_mrr": active["mrr"],
        "eval_age_s": int(age),
    }
    rebuild = data.get("rebuild") or {}
    if rebuild.get("outcome") == REFUSED:
        when = fmt_age(ctx.now - float(rebuild.get("at", ctx.now)))
        refusal = f"the last index rebuild ({when} ago) was refused: {rebuild.get('message')}"
        if rebuild.get("hint"):
            refusal += f" ({rebuild['hint']})"
        yield Check("eval", WARNING, f"{refusal}; {summary}", perf)
        return
    yield Check("eval", OK, summary, perf)
