"""`infra health` checks of the memory index: identity, FAISS/SQLite agreement, lag, last run.

Standard library and SQLite only (no faiss, no numpy): the FAISS file's header line says what
it covers, and everything else is a count in infra.sqlite or a `stat` of a source file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from openclaw_infra.core.checks import CRITICAL, OK, UNKNOWN, WARNING, Check, HealthContext, fmt_age
from openclaw_infra.memory.embedder import configured_name
from openclaw_infra.memory.freshness import freshness
from openclaw_infra.memory.vector_forms import read_header

LAG_WARN_S = 3600  # the index job runs every 15 minutes: an hour behind means it is not
LAG_CRIT_S = 24 * 3600


def _active(ctx: HealthContext) -> tuple[int, str] | None:
    if ctx.conn is None or not ctx.table_exists("memory_generations"):
        return None
    row = ctx.conn.execute(
        "SELECT gen, model FROM memory_generations WHERE state='active'"
    ).fetchone()
    return None if row is None else (int(row[0]), str(row[1]))


def check_index_identity(ctx: HealthContext) -> Iterable[Check]:
    """The index must be built with the configured model, or recall refuses (exit 69)."""
    active = _active(ctx)
    if active is None:
        yield Check("index", WARNING, "the memory index is not built yet (run `infra index`)")
        return
    gen, model = active
    assert ctx.conn is not None
    chunks = int(
        ctx.conn.execute("SELECT count(*) FROM memory_chunks WHERE gen=?", (gen,)).fetchone()[0]
    )
    configured = configured_name(ctx.settings)
    perf: dict[str, float | int] = {"index_chunks": chunks}
    if model.rpartition(":")[0] != configured:
        yield Check(
            "index",
            CRITICAL,
            f"built with {model} but the configured model is {configured}: recall refuses "
            "until `infra index --rebuild`",
            perf,
        )
        return
    building = ctx.conn.execute(
        "SELECT gen FROM memory_generations WHERE state='building'"
    ).fetchone()
    text = f"generation {gen}, {model}, {chunks} chunks"
    if building is not None:
        text += (
            f"; rebuild into generation {building[0]} unfinished (rerun `infra index --rebuild`)"
        )
    yield Check("index", OK, text, perf)


def check_vectors(ctx: HealthContext) -> Iterable[Check]:
    """The FAISS file must hold exactly the vectors SQLite says it covers."""
    active = _active(ctx)
    if active is None or ctx.conn is None:
        return
    gen, model = active
    header = read_header(ctx.settings.faiss_path)
    conn = ctx.conn
    chunks = int(
        conn.execute("SELECT count(*) FROM memory_chunks WHERE gen=?", (gen,)).fetchone()[0]
    )
    if header is None:
        state = WARNING if chunks else OK
        yield Check(
            "vectors",
            state,
            "no FAISS file; queries rebuild it in memory until `infra index` saves one"
            if chunks
            else "empty",
        )
        return
    if header.gen != gen or header.model != model:
        yield Check(
            "vectors",
            WARNING,
            f"FAISS file is of generation {header.gen} ({header.model}), the index is "
            f"generation {gen}: the next `infra index` replaces it",
        )
        return
    covered = int(
        conn.execute(
            "SELECT count(*) FROM memory_chunks WHERE gen=? AND id<=?", (gen, header.high_water)
        ).fetchone()[0]
    )
    deleted_since = int(
        conn.execute(
            "SELECT count(*) FROM memory_deletions WHERE gen=? AND seq>? AND chunk_id<=?",
            (gen, header.deletion_seq, header.high_water),
        ).fetchone()[0]
    )
    pending = chunks - covered
    perf: dict[str, float | int] = {"index_vectors": header.count, "index_pending": pending}
    expected = covered + deleted_since
    if header.count != expected:
        yield Check(
            "vectors",
            CRITICAL,
            f"FAISS holds {header.count} vectors but SQLite has {expected} for it: run "
            "`infra index --rebuild`",
            perf,
        )
        return
    text = f"FAISS agrees with SQLite ({header.count} vectors"
    text += f", {pending} to add on open)" if pending else ")"
    yield Check("vectors", OK, text, perf)


def check_index_lag(ctx: HealthContext) -> Iterable[Check]:
    """Sources changed after the last index are not yet findable by recall."""
    if _active(ctx) is None:
        return
    fresh = freshness(ctx.conn, ctx.settings, ctx.now)
    perf: dict[str, float | int] = {"index_lag_s": int(fresh.lag_s)}
    if not fresh.stale:
        yield Check("index_lag", OK, "every source is indexed", perf)
        return
    state = OK
    if fresh.lag_s > LAG_CRIT_S:
        state = CRITICAL
    elif fresh.lag_s > LAG_WARN_S:
        state = WARNING
    yield Check(
        "index_lag",
        state,
        f"{fresh.changed} source file(s) changed since indexed, oldest {fmt_age(fresh.lag_s)} ago",
        perf,
    )


def check_last_index(ctx: HealthContext) -> Iterable[Check]:
    """What the last `infra index` run did (the job check covers its schedule)."""
    if ctx.conn is None or not ctx.table_exists("runs"):
        return
    row = ctx.conn.execute(
        "SELECT started_at, ended_at, status, error, details FROM runs WHERE job='index' "
        "ORDER BY started_at DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return
    age = ctx.now - float(row["ended_at"] or row["started_at"])
    try:
        details = json.loads(row["details"] or "{}")
    except ValueError:
        details = {}
    status = str(row["status"])
    if status == "ok":
        total = details.get("chunks_total", "?")
        text = f"{fmt_age(age)} ago: {details.get('embedded', 0)} embedded, {total} chunks"
        refused = details.get("refused") or 0
        if refused:
            # a FIFO, a link out of the tree or an oversized file: named so it can be removed
            yield Check(
                "last_index",
                WARNING,
                f"{text}; {refused} file(s) not read, first {details.get('first_refused')}",
                {"index_refused": refused},
            )
            return
        yield Check("last_index", OK, text)
    elif status == "running":
        yield Check("last_index", OK, f"running since {fmt_age(age)}")
    else:
        yield Check("last_index", WARNING, f"failed {fmt_age(age)} ago: {row['error']}")


CHECKS = (check_index_identity, check_vectors, check_index_lag, check_last_index)


def check_index(ctx: HealthContext) -> Iterable[Check]:
    """Every memory check; one that fails is UNKNOWN on its own, the others still report."""
    for fn in CHECKS:
        try:
            yield from list(fn(ctx))
        except Exception as exc:  # a health check must report, never crash
            name = fn.__name__.removeprefix("check_")
            yield Check(name, UNKNOWN, f"check failed: {type(exc).__name__}: {exc}")
