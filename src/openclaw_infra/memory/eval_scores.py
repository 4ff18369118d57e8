"""The scores of the private evaluation set, in one small JSON file of infra's data dir
(`DataPaths.eval_scores`, 0600): the active index's last recall@10 and MRR, and what the last
guarded rebuild decided. `infra health` reads it without opening the store or a model;
`infra eval` and the rebuild guard write it.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from openclaw_infra.core.fsio import atomic_write_text
from openclaw_infra.core.layout import DataPaths
from openclaw_infra.core.locking import wait_lock
from openclaw_infra.memory.evalset import EvalSet, Score, refresh_set, score

if TYPE_CHECKING:
    from openclaw_infra.core.config import Settings
    from openclaw_infra.memory.embedder import Embedder
    from openclaw_infra.memory.store import Generation

log = structlog.get_logger("infra.memory")

SCORES_VERSION = 1


def scores_path(settings: Settings) -> Path:
    return DataPaths(settings.data).eval_scores


def read_scores(path: Path) -> dict[str, Any]:
    """The scores file as written; {} when absent. Raises ValueError or OSError when it is
    unreadable (the caller decides: health warns, writers start it afresh)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    if not isinstance(data, dict) or data.get("version") != SCORES_VERSION:
        raise ValueError(f"not a version-{SCORES_VERSION} scores file")
    return data


def record(
    settings: Settings, *, active: Score | None = None, rebuild: dict[str, Any] | None = None
) -> None:
    """Store the active generation's score and/or the last rebuild's verdict (0600)."""
    path = scores_path(settings)
    with wait_lock(settings.locks_dir, "eval-scores", 30.0):
        try:
            data = read_scores(path)
        except (OSError, ValueError) as exc:  # a record of measurements: start it afresh
            log.warning("eval.scores_replaced", path=str(path), error=str(exc))
            data = {}
        data["version"] = SCORES_VERSION
        if active is not None:
            data["active"] = asdict(active)
        if rebuild is not None:
            data["rebuild"] = rebuild
        atomic_write_text(path, json.dumps(data, indent=1, sort_keys=True) + "\n")


def recorded_active(settings: Settings) -> Score | None:
    try:
        raw = read_scores(scores_path(settings)).get("active")
        return Score.from_dict(raw) if raw else None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("eval.scores_unreadable", error=str(exc))
        return None


def score_generation(
    settings: Settings, evalset: EvalSet, embedder: Embedder, gen: Generation | None = None
) -> Score:
    """The score of `gen` (None: the active generation) with this embedder."""
    from openclaw_infra.memory.search import Searcher

    searcher = Searcher(settings, embedder, generation=gen)
    try:
        return score(searcher, evalset)
    finally:
        searcher.close()


def evaluate(settings: Settings, embedder: Embedder) -> tuple[EvalSet, bool, Score | None]:
    """`infra eval`: refresh the set from the digests, score the active index on it, record
    the score. Returns the set, whether it changed, and the score (None: an empty set)."""
    from openclaw_infra.core.db import connect

    conn: sqlite3.Connection = connect(settings.db_path)
    try:
        evalset, changed = refresh_set(settings, conn)
    finally:
        conn.close()
    if not evalset.queries:
        return evalset, changed, None
    result = score_generation(settings, evalset, embedder)
    record(settings, active=result)
    return evalset, changed, result
