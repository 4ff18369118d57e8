"""The owned-file table: which workspace files are infra's to rewrite, and the migration that
carried the two older tables (`summary_files`, `digest_files`) into it."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest

from openclaw_infra.core import outputs
from openclaw_infra.core.db import connect, migrate, transaction
from openclaw_infra.core.errors import CantCreateError
from openclaw_infra.core.schema import MIGRATIONS
from openclaw_infra.pipeline.records import SectionRecord, SourceRef
from openclaw_infra.pipeline.render import render_hourly_day

from conftest import OpenClawHome

DAY = "2026-03-02"
HOURLY = f"memory/hourly/{DAY}.md"


def long_hourly_day(sections: int) -> str:
    """A real hourly file: one section per agent and hour, each with its source."""
    records = []
    for n in range(sections):
        hour, agent = n % 24, f"agent-{n // 24}"
        source = SourceRef(agent, f"s{n}", f"agents/{agent}/sessions/s{n}.jsonl", "jsonl", 4,
                           "e0", "e3", f"{n:064x}")  # fmt: skip
        records.append(
            SectionRecord(
                day=DAY,
                hour_start=f"{DAY}T{hour:02d}:00:00Z",
                hour_label=f"{hour:02d}:00–{(hour + 1) % 24:02d}:00 UTC",
                timezone="UTC",
                agent=agent,
                part=1,
                summarizer="extractive",
                model=None,
                prompt_version="extractive-v1",
                entries=4,
                body=f"- Topic {n}: the balcony tomatoes [s{n}#e0]",
                sources=(source,),
            )
        )
    return render_hourly_day(date.fromisoformat(DAY), records)


def test_infras_own_long_file_is_accepted_after_the_ledger_is_lost(
    oc_home: OpenClawHome,
) -> None:
    """Restore scenario: infra.sqlite is gone (or older than the workspace), so the table has
    no row; a day of 30 sections has a frontmatter far past any fixed prefix, and the file
    is still recognised as infra's by its frontmatter and rewritten, not refused."""
    settings = oc_home.settings()
    text = long_hourly_day(30)
    assert len(text.split("\n---\n", 1)[0]) > 8192  # generated_by sits at its end
    path = settings.workspace / HOURLY
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    conn = connect(settings.db_path)
    assert outputs.file_state(conn, HOURLY) is None
    assert outputs.owned(conn, settings.workspace, HOURLY)
    outputs.refuse_foreign(conn, settings.workspace, HOURLY, "hourly notes")
    conn.close()


@pytest.mark.parametrize(
    "text",
    [
        "# my own notes\n",
        "---\ntitle: mine\n---\ngenerated_by: openclaw-infra 1.0\n",  # not in the frontmatter
        "---\nnotes:\n  generated_by: openclaw-infra\n---\n",  # not a top-level key
        "---\ngenerated_by: openclaw-infra-fork\n---\n",
    ],
)
def test_a_file_infra_did_not_write_is_refused(oc_home: OpenClawHome, text: str) -> None:
    """A user's file where infra would write: exit 73, the file untouched."""
    settings = oc_home.settings()
    path = settings.workspace / HOURLY
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    conn = connect(settings.db_path)
    with pytest.raises(CantCreateError) as info:
        outputs.refuse_foreign(conn, settings.workspace, HOURLY, "hourly notes")
    conn.close()
    assert info.value.exit_code == 73
    assert path.read_text(encoding="utf-8") == text


def test_a_claimed_file_without_a_marker_is_infras(oc_home: OpenClawHome) -> None:
    """A voice note has no frontmatter marker: the claim made before its write keeps it
    infra's if the run dies before recording it; it is not pending until recorded."""
    settings = oc_home.settings()
    rel = "memory/voice/2026-09-21-141320-0123abcd.md"
    (settings.workspace / rel).parent.mkdir(parents=True)
    (settings.workspace / rel).write_text("# Voice note\n", encoding="utf-8")
    conn = connect(settings.db_path)
    assert not outputs.owned(conn, settings.workspace, rel)
    with transaction(conn):
        outputs.claim(conn, rel, outputs.VOICE, "a" * 64)
    assert outputs.owned(conn, settings.workspace, rel)
    assert outputs.files_to_index(conn) == []
    with transaction(conn):
        outputs.record_write(conn, rel, outputs.VOICE, "a" * 64)
    assert outputs.files_to_index(conn) == [(rel, "a" * 64)]
    with transaction(conn):
        outputs.mark_indexed(conn, rel, "a" * 64)
    assert outputs.files_to_index(conn) == []
    conn.close()


def test_rows_of_the_old_tables_carry_over(oc_home: OpenClawHome) -> None:
    """An install from before the one table: its summary_files and digest_files rows move
    into owned_files with their hashes, so its files stay infra's (even edited ones) and
    only what was never indexed is pending; the old tables are gone."""
    settings = oc_home.settings()
    settings.db_path.parent.mkdir(parents=True, exist_ok=True)
    names = [m.name for m in MIGRATIONS]
    old = sqlite3.connect(settings.db_path, isolation_level=None)
    migrate(old, MIGRATIONS[: names.index("outputs-001-owned-files")])
    old.executemany(
        "INSERT INTO summary_files(day, path, sha256, indexed_sha256, updated_at) "
        "VALUES (?,?,?,?,1)",
        [(DAY, HOURLY, "h1", "h1"), ("2026-03-03", "memory/hourly/2026-03-03.md", "h2", None)],
    )
    old.executemany(
        "INSERT INTO digest_files(path, sha256, pending_sha256, indexed_sha256, updated_at) "
        "VALUES (?,?,?,?,1)",
        [
            (f"memory/daily/{DAY}.md", "d1", None, "d1"),
            ("memory/weekly/2026-W10.md", "w1", None, "w0"),
            ("memory/priorities.md", "p1", "p2", "p1"),
        ],
    )
    old.close()
    edited = settings.workspace / HOURLY
    edited.parent.mkdir(parents=True)
    edited.write_text("# infra's file, its frontmatter edited away\n", encoding="utf-8")

    conn = connect(settings.db_path)
    rows = {
        r["path"]: (r["kind"], r["sha256"], r["pending_sha256"], r["indexed_sha256"])
        for r in conn.execute("SELECT * FROM owned_files")
    }
    assert rows == {
        HOURLY: ("hourly", "h1", None, "h1"),
        "memory/hourly/2026-03-03.md": ("hourly", "h2", None, None),
        f"memory/daily/{DAY}.md": ("daily", "d1", None, "d1"),
        "memory/weekly/2026-W10.md": ("weekly", "w1", None, "w0"),
        "memory/priorities.md": ("priorities", "p1", "p2", "p1"),
    }
    assert outputs.owned(conn, settings.workspace, HOURLY)
    assert outputs.files_to_index(conn) == [
        ("memory/hourly/2026-03-03.md", "h2"),
        ("memory/weekly/2026-W10.md", "w1"),
    ]
    state = outputs.file_state(conn, "memory/priorities.md")
    assert state is not None and state.holds("p2") and not state.holds("p0")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert not tables & {"summary_files", "digest_files"}
    conn.close()
