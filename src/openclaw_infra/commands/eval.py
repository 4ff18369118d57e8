"""`infra eval`: recall@10 and MRR of the memory index on the user's own history."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command("eval")(evaluate)


def evaluate(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Score the memory index on a private evaluation set built from your own digests.

    Each cited bullet of infra's daily digests and hourly summaries is a query; the transcript
    turns it cites are its answer (a hit: all of them in the top 10, summaries not searched).
    The set (at most OPENCLAW_INFRA_EVAL_MAX_QUERIES, picked by hash, so the same memory gives
    the same set) is kept in infra's data dir and refreshed when new digests appear;
    `infra index --rebuild` then switches to a new index only if it scores no worse, and
    `infra health` shows the last score. Nothing to evaluate yet is exit 0.
    """
    from openclaw_infra.commands.context import settings_of
    from openclaw_infra.memory.eval_scores import evaluate as run
    from openclaw_infra.memory.evalset import set_path
    from openclaw_infra.services import writer_embedder

    settings = settings_of(ctx)
    started = time.monotonic()
    evalset, changed, score = run(settings, writer_embedder(settings))
    took = round(time.monotonic() - started, 2)
    if as_json:
        report = {
            "set": {
                "path": str(set_path(settings)),
                "set_id": evalset.set_id,
                "queries": len(evalset.queries),
                "changed": changed,
            },
            "score": None if score is None else score.__dict__,
            "took_s": took,
        }
        typer.echo(json.dumps(report, sort_keys=True))
        return
    if score is None:
        typer.echo(
            "nothing to evaluate yet: no cited digest or summary bullet whose transcript turns "
            "are in the index (run `infra summarize`, `infra daily-sync` and `infra index`)",
            err=True,
        )
        return
    state = "refreshed" if changed else "unchanged"
    typer.echo(f"evaluation set: {score.queries} queries ({state}), {set_path(settings)}")
    typer.echo(
        f"recall@10 {score.recall_at_10:.3f}  MRR {score.mrr:.3f}  "
        f"(index generation {score.gen}, {score.model}) in {took:.1f}s"
    )
