"""Transcript reader: discovery over both containers, JSONL entries, incremental cursors."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from openclaw_infra.openclaw.batch import Source
from openclaw_infra.openclaw.cursors import Cursor
from openclaw_infra.openclaw.reader import discover_sources, read_all, read_new

from conftest import OpenClawHome
from openclaw_fixtures import (
    BASE_TS,
    append_jsonl,
    create_store,
    message_line,
    sessions_dir,
    state_with_both_containers,
    write_jsonl_session,
    write_sessions_json,
    write_sqlite_sessions,
)


def _source(oc_home: OpenClawHome, key_part: str) -> Source:
    matches = [s for s in discover_sources(oc_home.settings()) if key_part in s.key]
    assert len(matches) == 1, [s.key for s in discover_sources(oc_home.settings())]
    return matches[0]


# --- discovery ---------------------------------------------------------------------------


def test_discovers_both_containers_per_agent(oc_home: OpenClawHome) -> None:
    """JSONL files and SQLite sessions of every agent are listed with stable keys."""
    state_with_both_containers(oc_home.state, "main")
    write_sqlite_sessions(oc_home.state, "work", {"w1": [("user", "work things")]})
    sources = discover_sources(oc_home.settings())
    keys = [s.key for s in sources]
    assert keys == [
        "jsonl:agents/main/sessions/old-session.jsonl",
        "sqlite:main:cron-session",
        "sqlite:main:new-session",
        "sqlite:work:w1",
    ]
    by_key = {s.key: s for s in sources}
    old = by_key["jsonl:agents/main/sessions/old-session.jsonl"]
    assert (old.agent, old.container, old.session_id) == ("main", "jsonl", "old-session")
    assert old.path == oc_home.state / "agents/main/sessions/old-session.jsonl"
    assert old.session_key == "agent:main:main" and old.is_user_conversation
    new = by_key["sqlite:main:new-session"]
    assert new.container == "sqlite" and new.path.name == "openclaw-agent.sqlite"
    assert new.rel_path == "agents/main/agent/openclaw-agent.sqlite"
    assert new.is_user_conversation and new.session_key == "agent:main:telegram:dm:42"
    assert not by_key["sqlite:main:cron-session"].is_user_conversation


def test_index_agents_limits_discovery(oc_home: OpenClawHome) -> None:
    """OPENCLAW_INFRA_INDEX_AGENTS, when set, names the only agents read."""
    write_jsonl_session(oc_home.state, "main", "a", [("user", "x")])
    write_jsonl_session(oc_home.state, "work", "b", [("user", "y")])
    write_jsonl_session(oc_home.state, "play", "c", [("user", "z")])
    settings = oc_home.settings(index_agents="work, play")
    assert sorted(s.agent for s in discover_sources(settings)) == ["play", "work"]


def test_glob_skips_side_files(oc_home: OpenClawHome) -> None:
    """Trajectories, checkpoints, reset/deleted copies, .bak/.tmp and the import archive
    are not transcripts; Telegram topic files are."""
    write_jsonl_session(oc_home.state, "main", "s1", [("user", "real")])
    write_jsonl_session(
        oc_home.state, "main", "s1", [("user", "topic")], file_name="s1-topic-77.jsonl"
    )
    folder = sessions_dir(oc_home.state, "main")
    for name in (
        "s1.trajectory.jsonl",
        "s1.checkpoint.3.jsonl",
        "s1.jsonl.reset.2026-03-01",
        "s1.jsonl.deleted.2026-03-01",
        "s1.jsonl.bak",
        "s1.jsonl.tmp",
        "s1.bak.jsonl",
        ".hidden.jsonl",
        "s1.tmp.jsonl",
    ):
        (folder / name).write_text('{"type":"session","id":"s1"}\n')
    archive = folder / "session-sqlite-import-archive"
    archive.mkdir()
    (archive / "s0.jsonl").write_text('{"type":"session","id":"s0"}\n')
    names = sorted(s.path.name for s in discover_sources(oc_home.settings()))
    assert names == ["s1-topic-77.jsonl", "s1.jsonl"]


def test_background_sessions_are_marked(oc_home: OpenClawHome) -> None:
    """cron:, hook: and sub-agent sessions (by key or spawnedBy) are not the user's
    conversations, in sessions.json and in the SQLite metadata alike."""
    for sid in ("chat", "cron1", "hook1", "sub1", "spawned", "topic"):
        write_jsonl_session(oc_home.state, "main", sid, [("user", sid)])
    write_jsonl_session(
        oc_home.state, "main", "topic", [("user", "t")], file_name="topic-topic-5.jsonl"
    )
    write_sessions_json(
        oc_home.state,
        "main",
        {
            "agent:main:main": "chat",
            "agent:main:cron:nightly:run:r1": "cron1",
            "hook:gmail:msg-1": "hook1",
            "agent:main:subagent:0b7c": "sub1",
            "agent:main:explicit:helper": {"sessionId": "spawned", "spawnedBy": "agent:main:main"},
            "agent:main:telegram:group:-100:topic:5": "topic",
        },
    )
    write_sqlite_sessions(
        oc_home.state,
        "main",
        {
            "s-chat": [("user", "hi")],
            "s-cron": [("user", "run")],
            "s-sub": [("user", "go")],
            "s-unknown": [("user", "?")],
        },
        keys={
            "s-chat": "agent:main:whatsapp:dm:+15550001",
            "s-cron": "agent:main:cron:j1",
            "s-sub": "agent:main:explicit:worker",
        },
        spawned_by={"s-sub": "agent:main:main"},
    )
    user = {s.key: s.is_user_conversation for s in discover_sources(oc_home.settings())}
    assert user == {
        "jsonl:agents/main/sessions/chat.jsonl": True,
        "jsonl:agents/main/sessions/cron1.jsonl": False,
        "jsonl:agents/main/sessions/hook1.jsonl": False,
        "jsonl:agents/main/sessions/spawned.jsonl": False,
        "jsonl:agents/main/sessions/sub1.jsonl": False,
        "jsonl:agents/main/sessions/topic-topic-5.jsonl": True,
        "jsonl:agents/main/sessions/topic.jsonl": True,
        "sqlite:main:s-chat": True,
        "sqlite:main:s-cron": False,
        "sqlite:main:s-sub": False,
        "sqlite:main:s-unknown": True,
    }


def test_store_without_transcript_events_is_not_a_source(oc_home: OpenClawHome) -> None:
    """Before 2026.7.2 the SQLite file exists for other state only; an empty
    transcript_events table has no sessions either."""
    create_store(oc_home.state, "main", transcripts=False)
    create_store(oc_home.state, "work")  # table present, no rows
    assert discover_sources(oc_home.settings()) == []


def test_no_state_dir_means_no_sources(oc_home: OpenClawHome) -> None:
    """A machine without OpenClaw data yields nothing, not an error."""
    assert discover_sources(oc_home.settings()) == []


# --- JSONL entries -----------------------------------------------------------------------


def test_jsonl_entries_are_normalised(oc_home: OpenClawHome) -> None:
    """User and assistant text and compaction summaries are kept; thinking, tool calls,
    tool results, custom entries and model changes are dropped and counted."""
    write_jsonl_session(
        oc_home.state,
        "main",
        "s1",
        [
            ("user", "What did I plant?"),
            ("toolCall", "planting"),
            ("tool", "Tomatoes, 2026-02-01"),
            ("thinking", "You planted tomatoes."),
            ("custom", "ttl"),
            ("custom_message", "bootstrap"),
            ("model_change", "fake-2"),
            ("branch_summary", "a side branch"),
            ("compaction", "## Decisions\n- tomatoes on the balcony"),
            ("nested_tool", "nested result"),
        ],
    )
    batch = read_all(oc_home.settings(), _source(oc_home, "s1.jsonl"))
    assert not batch.rewritten
    got = [(e.role, e.text, e.position) for e in batch.entries]
    assert got == [
        ("user", "What did I plant?", 2),
        ("assistant", "You planted tomatoes.", 5),
        ("compaction", "## Decisions\n- tomatoes on the balcony", 10),
    ]
    first = batch.entries[0]
    assert first.agent == "main" and first.session_id == "s1" and first.container == "jsonl"
    assert first.source == "agents/main/sessions/s1.jsonl"
    assert len(first.entry_id) == 8 and first.citation == f"s1#{first.entry_id}"
    assert first.timestamp == BASE_TS
    stats = batch.stats
    assert (stats.lines, stats.kept, stats.malformed) == (11, 3, 0)
    assert stats.noise == 8
    assert stats.noise_by == {
        "session": 1,
        "assistant_empty": 1,
        "role:toolResult": 1,
        "custom": 1,
        "custom_message": 1,
        "model_change": 1,
        "branch_summary": 1,
        "role:custom": 1,
    }
    assert batch.end.line == 11 and batch.end.offset == batch.source.path.stat().st_size


def test_v1_file_string_content_and_missing_ids(oc_home: OpenClawHome) -> None:
    """A v1 header without `version`, lines without ids and string `content` read fine;
    the entry id falls back to L<line>."""
    write_jsonl_session(
        oc_home.state,
        "main",
        "v1",
        [("user", "old words"), ("assistant", "old reply")],
        version=None,
        string_content=True,
    )
    entries = read_all(oc_home.settings(), _source(oc_home, "v1")).entries
    assert [(e.entry_id, e.text) for e in entries] == [("L2", "old words"), ("L3", "old reply")]


def test_timestamp_fallbacks(oc_home: OpenClawHome) -> None:
    """Either timestamp may be missing (fall back to the other); both missing is None;
    a line dated in the future yields to a sane message timestamp, and an all-future line
    keeps its date but is counted."""
    later = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    future = datetime(2031, 1, 1, tzinfo=UTC)
    no_line_ts = message_line("user", "no line ts", later, id="a1", line_ts=False)
    no_msg_ts = message_line("user", "no msg ts", later, id="a2", msg_ts=False)
    neither = message_line("user", "neither", None, id="a3")
    skewed = message_line("user", "skewed", later, id="a4")
    skewed["timestamp"] = "2031-01-01T00:00:00.000Z"
    all_future = message_line("user", "all future", future, id="a5")
    garbage = message_line("user", "garbage ts", later, id="a6")
    garbage["timestamp"] = "yesterday-ish"
    write_jsonl_session(
        oc_home.state, "main", "ts", [no_line_ts, no_msg_ts, neither, skewed, all_future, garbage]
    )
    batch = read_all(
        oc_home.settings(), _source(oc_home, "ts"), now=datetime(2026, 3, 3, tzinfo=UTC)
    )
    got = {e.text: e.timestamp for e in batch.entries}
    assert got == {
        "no line ts": later,
        "no msg ts": later,
        "neither": None,
        "skewed": later,
        "all future": future,
        "garbage ts": later,
    }
    assert batch.stats.future_timestamps == 1


# --- incremental reading -----------------------------------------------------------------


def test_read_new_returns_only_what_was_appended(oc_home: OpenClawHome) -> None:
    """Appending after a read yields only the new entries, numbered on from the old ones."""
    path = write_jsonl_session(oc_home.state, "main", "s1", [("user", "one"), ("assistant", "two")])
    settings = oc_home.settings()
    source = _source(oc_home, "s1")
    first = read_new(settings, source, None)
    assert [e.text for e in first.entries] == ["one", "two"]
    again = read_new(settings, source, first.end)
    assert again.items == [] and again.end == first.end and not again.rewritten
    append_jsonl(path, [("tool", "noise"), ("user", "three"), ("assistant", "four")])
    second = read_new(settings, source, first.end)
    assert not second.rewritten
    assert [(e.text, e.position) for e in second.entries] == [("three", 5), ("four", 6)]
    assert second.stats.noise == 1 and second.end.offset == path.stat().st_size


def test_item_cursors_let_a_consumer_stop_midway(oc_home: OpenClawHome) -> None:
    """Each item carries the cursor just after it; resuming there yields the rest, once."""
    write_jsonl_session(oc_home.state, "main", "s1", [("user", f"turn {i}") for i in range(6)])
    settings = oc_home.settings()
    source = _source(oc_home, "s1")
    batch = read_new(settings, source, None)
    _, after_third = batch.items[2]
    rest = read_new(settings, source, after_third)
    assert [e.text for e in rest.entries] == ["turn 3", "turn 4", "turn 5"]
    assert rest.end == batch.end


def test_truncated_file_is_reread_from_the_start(oc_home: OpenClawHome) -> None:
    """A file shorter than the cursor was rewritten: read again from the start, flagged."""
    path = write_jsonl_session(
        oc_home.state, "main", "s1", [("user", "a"), ("user", "b"), ("user", "c")]
    )
    settings = oc_home.settings()
    source = _source(oc_home, "s1")
    end = read_new(settings, source, None).end
    inode = path.stat().st_ino
    write_jsonl_session(oc_home.state, "main", "s1", [("user", "only")])  # truncates in place
    assert path.stat().st_ino == inode and path.stat().st_size < end.offset
    batch = read_new(settings, source, end)
    assert batch.rewritten and [e.text for e in batch.entries] == ["only"]


def test_replaced_file_is_reread(oc_home: OpenClawHome) -> None:
    """A new inode (OpenClaw replaced the file) means a rewrite even when it grew."""
    path = write_jsonl_session(oc_home.state, "main", "s1", [("user", "a")])
    settings = oc_home.settings()
    source = _source(oc_home, "s1")
    end = read_new(settings, source, None).end
    replacement = path.with_name("x.tmp")
    replacement.write_bytes(path.read_bytes() + path.read_bytes().splitlines(True)[1])
    os.replace(replacement, path)
    batch = read_new(settings, source, end)
    assert batch.rewritten and [e.text for e in batch.entries] == ["a", "a"]


def test_changed_last_line_is_a_rewrite(oc_home: OpenClawHome) -> None:
    """Same inode and length but a different last consumed line: rewritten."""
    path = write_jsonl_session(oc_home.state, "main", "s1", [("user", "abc")])
    settings = oc_home.settings()
    source = _source(oc_home, "s1")
    end = read_new(settings, source, None).end
    data = path.read_bytes().replace(b'"abc"', b'"xyz"')
    with path.open("r+b") as f:
        f.write(data)
    batch = read_new(settings, source, end)
    assert batch.rewritten and [e.text for e in batch.entries] == ["xyz"]


def test_line_being_written_is_left_for_later(oc_home: OpenClawHome) -> None:
    """An unterminated, incomplete last line is not consumed; once complete it is read once."""
    path = write_jsonl_session(oc_home.state, "main", "s1", [("user", "done")])
    settings = oc_home.settings()
    source = _source(oc_home, "s1")
    with path.open("ab") as f:
        f.write(b'{"type":"message","id":"p1","message":{"role":"user","cont')
    first = read_new(settings, source, None)
    assert [e.text for e in first.entries] == ["done"] and first.stats.partial_tail == 1
    assert first.stats.malformed == 0
    with path.open("ab") as f:
        f.write(b'ent":"finished"}}\n')
    second = read_new(settings, source, first.end)
    assert [(e.text, e.position) for e in second.entries] == [("finished", 3)]


def test_complete_unterminated_line_then_append(oc_home: OpenClawHome) -> None:
    """A complete JSON last line without newline is read; OpenClaw's next append (which
    starts with the missing newline) neither repeats it nor shifts line numbers."""
    path = write_jsonl_session(
        oc_home.state, "main", "s1", [("user", "a"), ("user", "b")], trailing_newline=False
    )
    settings = oc_home.settings()
    source = _source(oc_home, "s1")
    first = read_new(settings, source, None)
    assert [e.text for e in first.entries] == ["a", "b"]
    with path.open("ab") as f:
        f.write(b'\n{"type":"message","id":"c1","message":{"role":"user","content":"c"}}\n')
    second = read_new(settings, source, first.end)
    assert not second.rewritten
    assert [(e.text, e.position) for e in second.entries] == [("c", 4)]
    assert second.stats.noise == 0


def test_cursor_json_round_trip() -> None:
    """Cursors survive JSON, so consumers can store them anywhere."""
    jsonl = Cursor("jsonl", inode=7, offset=120, line=3, line_len=40, line_hash="ab" * 32)
    sqlite = Cursor("sqlite", line=5, seq=9, line_hash="cd" * 32)
    assert Cursor.from_json(jsonl.to_json()) == jsonl
    assert Cursor.from_json(sqlite.to_json()) == sqlite
    with pytest.raises(ValueError):
        Cursor.from_json('{"kind": "csv"}')


def test_read_conversations_skips_background_and_reports_failures(
    oc_home: OpenClawHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each user conversation's new entries, source by source; a background run is left
    out, and an unreadable transcript is logged and collected without holding back the
    others (summarize and daily-sync report it at the end)."""
    from structlog.testing import capture_logs

    from openclaw_infra.core.db import connect
    from openclaw_infra.core.errors import DataError, InfraError
    from openclaw_infra.openclaw import reader
    from openclaw_infra.openclaw.cursors import CursorStore

    for sid in ("a", "broken", "b", "cron1"):
        write_jsonl_session(oc_home.state, "main", sid, [("user", f"hello from {sid}")])
    write_sessions_json(oc_home.state, "main", {"agent:main:cron:nightly:run:r1": "cron1"})
    real = reader.read_jsonl

    def failing(source: Source, *args: object, **kwargs: object) -> object:
        if source.path.name == "broken.jsonl":
            raise DataError(f"{source.path}: cannot be read")
        return real(source, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(reader, "read_jsonl", failing)
    oc_home.data.mkdir(parents=True, exist_ok=True)
    conn = connect(oc_home.data / "t.sqlite")
    errors: list[InfraError] = []
    with capture_logs() as logs:
        got = list(
            reader.read_conversations(
                oc_home.settings(), CursorStore(conn, "t"), job="summarize", errors=errors
            )
        )
    conn.close()
    assert [source.path.name for source, _, _ in got] == ["a.jsonl", "b.jsonl"]
    assert [stored for _, stored, _ in got] == [None, None]
    assert [batch.entries[0].text for _, _, batch in got] == ["hello from a", "hello from b"]
    assert len(errors) == 1 and "broken.jsonl" in str(errors[0])
    assert [r["event"] for r in logs if r["log_level"] == "error"] == ["summarize.source_failed"]
