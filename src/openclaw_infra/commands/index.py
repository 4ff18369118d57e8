"""`infra index`: build or refresh the memory index (the `index` cron job)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

# What a rebuild after a corrupt store cannot derive from the transcripts and memory files.
NOT_REBUILT = (
    "the run ledger and job watermarks, summarize's and the digests' records, tracked "
    "priorities, voice records and the owned-file table start fresh; infra's summaries are "
    "still recognised as its own by their `generated_by` frontmatter, while "
    "memory/priorities.md and voice notes, which carry no marker, are now treated as yours"
)


def register(app: typer.Typer) -> None:
    app.command("index")(index)


def index(
    ctx: typer.Context,
    rebuild: Annotated[
        bool,
        typer.Option(
            "--rebuild",
            help="Re-chunk and re-embed everything into a new index generation and switch to "
            "it when complete (after changing the embedding model); the old index keeps "
            "answering until then. A corrupt infra.sqlite is moved aside (kept) first and "
            "the memory store is rebuilt from the transcripts and memory files.",
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="With --rebuild: switch to the new index even when recall@10 on your "
            "evaluation set (`infra eval`) drops by more than OPENCLAW_INFRA_EVAL_REBUILD_MARGIN.",
        ),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the run's figures as JSON.")
    ] = False,
) -> None:
    """Index new and changed transcripts of every agent, MEMORY.md and memory/**/*.md.

    Incremental: unchanged text is never embedded again, changed files replace their chunks,
    deleted ones drop theirs. A second run while one is going exits 75 (work stays owed).
    With an evaluation set, a rebuild that would lower recall@10 on it by more than the
    margin keeps the old index, drops the new one and exits 69 (--force switches anyway).
    """
    from openclaw_infra.commands.context import settings_of
    from openclaw_infra.core import db
    from openclaw_infra.core.jobs import run_job
    from openclaw_infra.memory.indexer import index_all
    from openclaw_infra.pipeline.outputs import index_pending
    from openclaw_infra.services import writer_embedder

    settings = settings_of(ctx)
    if force and not rebuild:
        from openclaw_infra.core.errors import UsageError

        raise UsageError("--force goes with --rebuild")
    set_aside = None
    if rebuild and db.probe(settings.db_path, thorough=True) is not None:
        set_aside = db.set_aside(
            settings.db_path, settings.locks_dir, derived=[settings.faiss_path]
        )
    with run_job(settings, "index") as job:
        embedder = writer_embedder(settings)
        stats = index_all(
            settings, embedder=embedder, rebuild=rebuild, force=force, progress=not as_json
        )
        # the tree pass above read infra's own files too: this marks them done
        index_pending(settings, job.conn, lambda: embedder)
        job.run.items = stats.chunks_added
        job.run.details = {
            "generation": stats.generation,
            "chunks_total": stats.chunks_total,
            "embedded": stats.embedded,
            "removed": stats.chunks_removed,
            "rebuilt": stats.rebuilt,
            "refused": stats.refused,
            "first_refused": stats.first_refused,
        }
        if set_aside is not None:
            job.run.details["corrupt_store_set_aside"] = str(set_aside)
            stats.extra.update(corrupt_store_set_aside=str(set_aside), not_rebuilt=NOT_REBUILT)
    if as_json:
        typer.echo(json.dumps(stats.as_dict(), sort_keys=True))
        return
    verb = "rebuilt" if stats.rebuilt else "indexed"
    typer.echo(
        f"{verb}: {stats.sources_read} transcript(s) with new turns, {stats.files_changed} "
        f"changed file(s), {stats.removed} removed; +{stats.chunks_added}/-{stats.chunks_removed} "
        f"chunks ({stats.embedded} embedded, {stats.reused} from cache); {stats.chunks_total} "
        f"chunks in the index ({stats.model}) in {stats.took_s:.1f}s"
    )
    if "eval" in stats.extra:
        typer.echo(stats.extra["eval"]["message"])
    if set_aside is not None:
        typer.echo(f"moved the corrupt store aside, kept: {set_aside}")
        typer.echo(f"not derivable: {NOT_REBUILT}")
