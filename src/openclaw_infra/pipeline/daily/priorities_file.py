"""`memory/priorities.md`: the tracked items as Markdown, written only while infra owns it.

infra writes the file as long as it holds bytes infra wrote (the hash recorded in
`owned_files`, or the one claimed just before a write that a crash interrupted, or that of
the update it last offered beside the file). If someone edited it since, infra leaves it
alone: its update goes to
`memory/priorities.md.infra-update` (not `.md`, so OpenClaw's memory search does not index
a second copy) and `infra health` warns until the edit is resolved, by moving the update
over the file or by deleting the file, after which the next daily-sync writes it afresh.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from openclaw_infra import __version__
from openclaw_infra.core import outputs
from openclaw_infra.core.config import Settings
from openclaw_infra.core.db import transaction
from openclaw_infra.core.errors import os_error_to_infra
from openclaw_infra.core.fsio import sha256_file, sha256_text, write_if_changed
from openclaw_infra.core.layout import PRIORITIES_REL
from openclaw_infra.core.mdsafe import identifier, markdown_text
from openclaw_infra.pipeline.bullets import MAX_CITATIONS
from openclaw_infra.pipeline.daily.priorities import DISMISSED
from openclaw_infra.pipeline.digest_records import TrackedItem
from openclaw_infra.pipeline.items import ACTION, DONE, OPEN, PRIORITY
from openclaw_infra.pipeline.render import GENERATOR, dump_frontmatter

UPDATE_SUFFIX = ".infra-update"
DONE_SHOWN_DAYS = 30


def links_of(links: Sequence[str]) -> str:
    """` [a] [b]`: the first link (where it started) and the latest ones, at most three."""
    distinct = list(dict.fromkeys(links))
    if len(distinct) > MAX_CITATIONS:
        distinct = [distinct[0], *distinct[-(MAX_CITATIONS - 1) :]]
    return "".join(f" [{identifier(link)}]" for link in distinct)


def tracked_line(item: TrackedItem, links: Sequence[str], *, note: str | None = None) -> str:
    """`- `A-1b2c3d` Send the invoice · owner: Alice · due: 2026-03-05 · status: open [..]`."""
    parts = [f"- `{item.id}` {markdown_text(item.text)}"]
    if item.kind == ACTION:
        parts.append(f"owner: {markdown_text(item.owner or 'unassigned')}")
        parts.append(f"due: {item.due or 'none'}")
    status = f"status: {item.status}"
    if item.status != OPEN and item.closed_day:
        status += f" ({item.closed_day})"
    parts.append(status)
    if note:
        parts.append(note)
    return " · ".join(parts) + links_of(links)


def render_priorities(items: Sequence[TrackedItem], as_of: date) -> str:
    """The whole file for the state after `as_of` (a pure function: same state, same bytes)."""
    cutoff = (as_of - timedelta(days=DONE_SHOWN_DAYS)).isoformat()
    priorities = [i for i in items if i.kind == PRIORITY and i.status == OPEN]
    actions = sorted(
        (i for i in items if i.kind == ACTION and i.status == OPEN),
        key=lambda i: (i.due or "9999", i.first_day, i.id),
    )
    done = sorted(
        (i for i in items if i.status == DONE and (i.closed_day or "") >= cutoff),
        key=lambda i: (i.closed_day or "", i.id),
        reverse=True,
    )
    dismissed = sorted(
        (i for i in items if i.status == DISMISSED and (i.closed_day or "") >= cutoff),
        key=lambda i: (i.closed_day or "", i.id),
        reverse=True,
    )
    front = {
        "kind": "priorities",
        "as_of": as_of.isoformat(),
        "open_priorities": len(priorities),
        "open_action_items": len(actions),
        "done_shown": len(done),
        "generated_by": f"{GENERATOR} {__version__}",
    }
    lines = [
        dump_frontmatter(front).rstrip("\n"),
        "",
        "# Priorities and open action items",
        "",
        "_Kept by `infra daily-sync`: carried forward day to day, duplicates merged, finished "
        "items marked done. infra does not overwrite edits to this file: it writes its update "
        f"to priorities.md{UPDATE_SUFFIX} and `infra health` warns._",
        "",
        "## Priorities",
        "",
    ]
    lines += [tracked_line(i, i.sources, note=f"since {i.first_day}") for i in priorities] or [
        "_None open._"
    ]
    lines += ["", "## Open action items", ""]
    lines += [tracked_line(i, i.sources, note=f"since {i.first_day}") for i in actions] or [
        "_None open._"
    ]
    lines += ["", f"## Done in the last {DONE_SHOWN_DAYS} days", ""]
    lines += [
        tracked_line(i, [i.closed_link] if i.closed_link else i.sources[-1:]) for i in done
    ] or ["_Nothing marked done._"]
    if dismissed:  # only when there are any: a file without answers keeps its bytes
        lines += ["", f"## Dismissed in the last {DONE_SHOWN_DAYS} days", ""]
        lines += [tracked_line(i, i.sources[-1:]) for i in dismissed]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class PrioritiesWrite:
    path: str  # what was written (the file, or the update beside it)
    sha256: str
    conflict: bool  # the file was edited by someone else: the update went beside it


def update_path(settings: Settings) -> Path:
    return settings.workspace / (PRIORITIES_REL + UPDATE_SUFFIX)


def unedited(settings: Settings, conn: sqlite3.Connection) -> tuple[bool, str | None]:
    """(priorities.md holds what infra wrote or is absent: infra may write it, sha256 of
    what it holds now or None when absent)."""
    path = settings.workspace / PRIORITIES_REL
    try:
        current = sha256_file(path)
    except FileNotFoundError:
        return True, None
    except OSError as exc:
        raise os_error_to_infra(exc, path) from exc
    state = outputs.file_state(conn, PRIORITIES_REL)
    return state is not None and state.holds(current), current


def write_priorities(settings: Settings, conn: sqlite3.Connection, text: str) -> PrioritiesWrite:
    """Write the file (or, when someone edited it, the update beside it). The caller records
    a non-conflict write with `outputs.record_write` in its day's transaction."""
    sha = sha256_text(text)
    ours, _ = unedited(settings, conn)
    with transaction(conn):
        # also for the update beside it: a user who moves it over the file gives it back
        outputs.claim(conn, PRIORITIES_REL, outputs.PRIORITIES, sha)
    if not ours:
        write_if_changed(update_path(settings), text)
        return PrioritiesWrite(PRIORITIES_REL + UPDATE_SUFFIX, sha, True)
    write_if_changed(settings.workspace / PRIORITIES_REL, text)
    with contextlib.suppress(FileNotFoundError):
        update_path(settings).unlink()  # a resolved conflict: the old update is stale
    return PrioritiesWrite(PRIORITIES_REL, sha, False)
