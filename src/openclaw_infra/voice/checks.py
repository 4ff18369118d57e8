"""`infra health` checks for voice notes: inbox backlog, oldest untranscribed file, quarantine.

Standard library and SQLite only (health must start fast). A voice note is untranscribed
while the ledger has no row for its (path, size, mtime); one waiting over an hour (four
15-minute runs) means the job is not keeping up or not running.
"""

from __future__ import annotations

from collections.abc import Iterable

from openclaw_infra.core.checks import CRITICAL, OK, WARNING, Check, HealthContext, fmt_age
from openclaw_infra.voice.scan import scan

WAIT_WARN_S = 60 * 60  # four missed 15-minute runs
WAIT_CRIT_S = 24 * 60 * 60
RECENT_QUARANTINE_S = 24 * 60 * 60
REASON_SUFFIX = ".reason.txt"


def _handled_keys(ctx: HealthContext) -> set[tuple[str, int, int]]:
    if ctx.conn is None or not ctx.table_exists("voice_files"):
        return set()
    rows = ctx.conn.execute("SELECT path, size, mtime_ns FROM voice_files")
    return {(str(r[0]), int(r[1]), int(r[2])) for r in rows}


def check_voice_inbox(ctx: HealthContext) -> Iterable[Check]:
    """Backlog and the age of the oldest voice note still without a transcript."""
    handled = _handled_keys(ctx)
    found = scan(ctx.settings)
    waiting = [c for c in found if c.refused is None and c.key not in handled]
    refused = sum(1 for c in found if c.refused is not None)
    if not waiting:
        text = "no untranscribed voice notes"
        perf: dict[str, float | int] = {"voice_backlog": 0, "voice_oldest_s": 0}
        state = OK
    else:
        oldest = max(0.0, ctx.now - min(c.changed_at for c in waiting))
        perf = {"voice_backlog": len(waiting), "voice_oldest_s": int(oldest)}
        state = CRITICAL if oldest > WAIT_CRIT_S else WARNING if oldest > WAIT_WARN_S else OK
        text = f"{len(waiting)} untranscribed, oldest {fmt_age(oldest)}"
    if refused:
        text += f"; {refused} refused (symlink outside the inbox or not a file)"
        state = max(state, WARNING)
    perf["voice_refused"] = refused
    yield Check("voice:inbox", state, text, perf)


def check_voice_quarantine(ctx: HealthContext) -> Iterable[Check]:
    """Quarantined audio files; a new one in the last day is worth a look (WARNING)."""
    qdir = ctx.settings.voice_quarantine_dir
    try:
        reasons = [p for p in qdir.iterdir() if p.name.endswith(REASON_SUFFIX)]
    except FileNotFoundError:
        reasons = []
    recent = 0
    for p in reasons:
        try:
            if ctx.now - p.stat().st_mtime < RECENT_QUARANTINE_S:
                recent += 1
        except FileNotFoundError:
            continue
    perf: dict[str, float | int] = {"voice_quarantined": len(reasons)}
    if recent:
        yield Check(
            "voice:quarantine",
            WARNING,
            f"{recent} audio file(s) quarantined in the last day, {len(reasons)} in "
            f"all (see {qdir})",
            perf,
        )
    else:
        yield Check("voice:quarantine", OK, f"{len(reasons)} quarantined", perf)
