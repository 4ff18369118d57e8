"""The rebuild guard: an index rebuild is switched to only when recall@10 on the private
evaluation set (`evalset`) does not drop by more than `eval_rebuild_margin`.

The new generation is scored before it is activated. The old one is scored at the same
moment when the configured model built it (same code, same memory: a fair comparison);
after a model change the old model is not loaded, so its last recorded score on the same set
stands in. The scores, and what the last rebuild decided, live in one small JSON file
(`DataPaths.eval_scores`) that `infra health` reads without opening the store.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from openclaw_infra.memory.eval_scores import record, recorded_active, score_generation
from openclaw_infra.memory.evalset import EvalSet, Score

if TYPE_CHECKING:
    from openclaw_infra.core.config import Settings
    from openclaw_infra.memory.embedder import Embedder
    from openclaw_infra.memory.store import Generation

REFUSED = "refused"


@dataclass(frozen=True)
class Verdict:
    """What the guard decided about a rebuilt generation, and the line that says why."""

    outcome: str  # no-set | no-baseline | passed | forced | refused
    message: str
    hint: str | None = None
    old: Score | None = None
    new: Score | None = None
    margin: float = 0.0

    @property
    def activate(self) -> bool:
        return self.outcome != REFUSED

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["activate"] = self.activate
        return data


def _figures(old: Score, new: Score) -> str:
    return (
        f"recall@10 {old.recall_at_10:.3f} -> {new.recall_at_10:.3f}, "
        f"MRR {old.mrr:.3f} -> {new.mrr:.3f} on {new.queries} queries"
    )


def judge(
    settings: Settings,
    evalset: EvalSet | None,
    shadow: Generation,
    old: Generation | None,
    embedder: Embedder,
    *,
    force: bool = False,
) -> Verdict:
    """Score `shadow` (complete but not active) against `old` (the active generation) on
    `evalset` (None: there is none, and nothing is compared)."""
    if evalset is None or not evalset.queries:
        return Verdict("no-set", "")
    margin = settings.eval_rebuild_margin
    new = score_generation(settings, evalset, embedder, shadow)
    baseline: Score | None = None
    if old is not None:
        if old.model == shadow.model:
            baseline = score_generation(settings, evalset, embedder)
        else:
            last = recorded_active(settings)
            if last is not None and (last.set_id, last.gen) == (evalset.set_id, old.gen):
                baseline = last
    if baseline is None:
        what = "no old index" if old is None else f"no score of {old.model} on this set"
        return Verdict(
            "no-baseline",
            f"evaluation set: recall@10 {new.recall_at_10:.3f}, MRR {new.mrr:.3f} on "
            f"{new.queries} queries ({what} to compare with)",
            new=new,
            margin=margin,
        )
    figures = _figures(baseline, new)
    if baseline.recall_at_10 - new.recall_at_10 <= margin + 1e-9:
        return Verdict("passed", f"evaluation set: {figures}", old=baseline, new=new, margin=margin)
    if force:
        return Verdict(
            "forced",
            f"evaluation set: {figures}; switched anyway (--force)",
            old=baseline,
            new=new,
            margin=margin,
        )
    hint = "`infra index --rebuild --force` switches anyway"
    if old is not None and old.model != shadow.model:
        name = old.model.rpartition(":")[0]
        hint = f"set OPENCLAW_INFRA_EMBEDDING_MODEL back to {name} (recall needs it), or {hint}"
    return Verdict(
        REFUSED,
        f"kept the old index: recall@10 on your evaluation set would drop by more than "
        f"{margin:g} ({figures}); the new index was dropped",
        hint=hint,
        old=baseline,
        new=new,
        margin=margin,
    )


def record_verdict(settings: Settings, verdict: Verdict) -> None:
    """Keep what a rebuild decided (health warns while the last one was refused) and the
    score of the generation now active."""
    if verdict.outcome == "no-set":
        return
    active = verdict.old if verdict.outcome == REFUSED else verdict.new
    record(settings, active=active, rebuild={**verdict.as_dict(), "at": time.time()})
