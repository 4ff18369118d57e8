"""Coverage for the top results: maximal marginal relevance over the candidates' own vectors.

A question that joins facts from several conversations (multi-hop) needs each of them in
the top `limit`; plain relevance order fills it with near-duplicates of the best match (the
same fact retold in three sessions, greetings that share the query's names). MMR picks, one
at a time, the candidate whose score minus `weight` times its highest cosine to a result
already picked is best. Pure and deterministic: ties go to the earlier candidate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from openclaw_infra.memory.ranking import Candidate


def mmr(
    ranked: Sequence[Candidate], vectors: np.ndarray, limit: int, weight: float
) -> list[Candidate]:
    """`ranked` reordered: the first `limit` chosen by MMR, the rest in their old order.

    `vectors` holds one unit vector per candidate, in `ranked`'s order."""
    import numpy as np

    n = len(ranked)
    if n <= 1 or weight <= 0:
        return list(ranked)
    sims = vectors @ vectors.T
    scores = np.array([c.score for c in ranked], dtype=np.float64)
    closest = np.full(n, -np.inf)  # highest cosine to anything chosen so far
    free = np.ones(n, dtype=bool)
    order: list[int] = []
    for _ in range(min(limit, n)):
        penalty = np.where(np.isfinite(closest), np.maximum(closest, 0.0), 0.0)
        value = np.where(free, scores - weight * penalty, -np.inf)
        best = int(np.argmax(value))  # the first maximum: `ranked` is sorted by (-score, id)
        order.append(best)
        free[best] = False
        closest = np.maximum(closest, sims[best])
    chosen = [ranked[k] for k in order]
    return chosen + [c for k, c in enumerate(ranked) if free[k]]
