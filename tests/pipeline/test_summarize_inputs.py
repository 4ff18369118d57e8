"""Inputs that must not break `summarize` (issue 4, deliverable 6): a 2,000-turn hour, a
5 MB tool result, future and missing timestamps, a transcript rewritten between runs,
SQLite and JSONL transcripts of two agents at once, non-UTF-8 bytes, a DST change."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest

from openclaw_infra.llm.tokens import estimate_tokens
from openclaw_infra.memory.embedder import HashEmbedder
from openclaw_infra.pipeline import records
from summarize_env import (
    SummarizeEnv,
    at,
    bullets,
    citations,
    headings,
    ids,
    make_env,
    split_file,
    summarize,
    utc,
)

from conftest import OpenClawHome
from openclaw_fixtures import (
    entry_id,
    iso,
    message_line,
    write_jsonl_session,
    write_sqlite_sessions,
)


@pytest.fixture
def env(oc_home: OpenClawHome, monkeypatch: pytest.MonkeyPatch) -> Iterator[SummarizeEnv]:
    yield from make_env(oc_home, monkeypatch)


def request_tokens(body: dict[str, object]) -> int:
    messages = body["messages"]
    assert isinstance(messages, list)
    return estimate_tokens(str(body["system"]) + "".join(str(m["content"]) for m in messages))


def test_hour_with_two_thousand_turns(env: SummarizeEnv) -> None:
    """2,000 turns in one hour: map-reduce within the budget, one section of at most ten
    bullets, each citing real entries, flagged as map-reduced in the frontmatter."""
    write_jsonl_session(
        env.state,
        "main",
        "busy",
        [
            (
                "user" if i % 2 == 0 else "assistant",
                f"Message {i}: let's move ticket T-{i} to the next sprint.",
                at(i * 0.025),
            )
            for i in range(2000)
        ],
    )
    budget = 6000
    report = summarize(
        env.settings(llm_input_budget_tokens=budget, llm_max_tokens=400), embedder=HashEmbedder
    )
    assert (report.sections, report.entries) == (1, 2000)
    assert all(request_tokens(b) <= budget for b in env.fake.stats.requests)
    front, body = split_file(env.hourly().read_text())
    assert front["sections"][0]["flags"][0].startswith("map_reduce:")
    lines = bullets(body)
    assert 1 <= len(lines) <= 10
    real = ids("busy", 2000)
    assert all(citations(line) and set(citations(line)) <= real for line in lines)


def test_five_megabyte_tool_result_and_message(env: SummarizeEnv) -> None:
    """A 5 MB tool result is noise (never sent); a 5 MB pasted message reaches the model in
    parts within the budget (as much as the reader keeps of it), flagged as split."""
    write_jsonl_session(
        env.state,
        "main",
        "s1",
        [
            ("user", "Please check the server log.", at(1)),
            ("tool", "TOOLNOISE " * 500_000, at(2)),
            ("user", "Here is the log: " + "line of log text\n" * 300_000, at(3)),
            ("assistant", "The log shows the disk filled up at 03:12.", at(4)),
        ],
    )
    report = summarize(env.settings(llm_input_budget_tokens=30_000), embedder=HashEmbedder)
    assert report.sections == 1
    sent = "".join(json.dumps(b) for b in env.fake.stats.requests)
    assert "TOOLNOISE" not in sent
    assert all(request_tokens(b) <= 30_000 for b in env.fake.stats.requests)
    front, _ = split_file(env.hourly().read_text())
    assert any(f.startswith("split_passages:") for f in front["sections"][0]["flags"])


def test_future_and_missing_timestamps(env: SummarizeEnv) -> None:
    """An entry with no timestamp and one stamped in 2099 are filed with their neighbours'
    hour: no file for 2099, no invented hour, both summarised once."""
    sid = "s1"
    undated = message_line(
        "user",
        "Undated: we chose oak for the table.",
        None,
        id=entry_id(sid, 1),
        line_ts=False,
        msg_ts=False,
    )
    future = message_line(
        "user", "Future-stamped: ship the table on Friday.", utc(2099, 1, 1), id=entry_id(sid, 2)
    )
    write_jsonl_session(
        env.state,
        "main",
        sid,
        [
            ("user", "Let's build a table.", at(10)),
            undated,
            future,
            ("assistant", "Oak it is.", at(20)),
        ],
    )
    report = summarize(env.settings(), embedder=HashEmbedder)
    assert report.hours == 1 and report.entries == 4
    assert report.flags.get("future") == 1
    files = sorted(p.name for p in env.hourly().parent.iterdir())
    assert files == ["2026-03-02.md"]
    _, body = split_file(env.hourly().read_text())
    assert headings(body) == ["09:00–10:00 UTC · main"]
    conn = env.db()
    covered = records.covered_entries(conn, "main", sid, [entry_id(sid, i) for i in range(4)])
    conn.close()
    assert len(covered) == 4


def test_session_rewritten_between_runs(env: SummarizeEnv) -> None:
    """OpenClaw rewrote a transcript (its last read line changed): it is read from the start,
    the entries already summarised are not summarised again, the new ones are."""
    turns = [("user", f"Point {i}: we agreed on step {i}.", at(5 + i)) for i in range(3)]
    write_jsonl_session(env.state, "main", "s1", turns)
    summarize(env.settings(), embedder=HashEmbedder)
    edited = [
        *turns[:2],
        ("user", "Point 2 (edited): we agreed on step two.", at(7)),
        ("user", "New: order the parts tomorrow.", at(65)),
        ("assistant", "I will remind you at 9.", at(66)),
    ]
    write_jsonl_session(env.state, "main", "s1", edited)
    report = summarize(env.settings(), embedder=HashEmbedder)
    assert report.read.get("kept") == 5  # read again from the start
    assert (report.hours, report.entries) == (1, 2)
    front, body = split_file(env.hourly().read_text())
    assert headings(body) == ["09:00–10:00 UTC · main", "10:00–11:00 UTC · main"]
    assert [s["part"] for s in front["sections"]] == [1, 1]


def test_sqlite_and_jsonl_for_two_agents(env: SummarizeEnv) -> None:
    """Agent main in JSONL and agent work in the 2026.9 SQLite store (compressed events),
    same hour: one section per agent, sources name their containers, links are real."""
    write_jsonl_session(
        env.state,
        "main",
        "home",
        [
            ("user", "Book the dentist for Tuesday.", at(5)),
            ("assistant", "Booked for Tuesday 10:00.", at(6)),
        ],
    )
    write_sqlite_sessions(
        env.state,
        "work",
        {
            "office": [
                ("user", "We decided to freeze the release branch on Thursday. " * 40, at(7)),
                ("assistant", "Release branch frozen Thursday; QA starts Friday.", at(8)),
            ]
        },
        keys={"office": "agent:work:telegram:dm:7"},
    )
    report = summarize(env.settings(), embedder=HashEmbedder)
    assert report.sections == 2
    front, body = split_file(env.hourly().read_text())
    assert headings(body) == ["09:00–10:00 UTC · main", "09:00–10:00 UTC · work"]
    assert {(s["agent"], s["container"]) for s in front["sources"]} == {
        ("main", "jsonl"),
        ("work", "sqlite"),
    }
    real = ids("home", 2) | ids("office", 2, uuid_ids=True)
    assert all(set(citations(line)) <= real and citations(line) for line in bullets(body))


def test_non_utf8_bytes(env: SummarizeEnv) -> None:
    """A line with invalid UTF-8 inside its text is read with replacement characters; the
    summary is valid UTF-8 and the entry is summarised."""
    sid = "s1"
    raw = (
        b'{"type":"message","id":"'
        + entry_id(sid, 1).encode()
        + b'","timestamp":"'
        + iso(at(6)).encode()
        + b'","message":{"role":"user","content":[{"type":"text",'
        b'"text":"Caf\xe9 menu: we decided on the \xff\xfe lunch special."}]}}'
    )
    write_jsonl_session(env.state, "main", sid, [("user", "Lunch plans?", at(5)), raw])
    report = summarize(
        env.settings(summarizer="extractive", anthropic_api_key=None), embedder=HashEmbedder
    )
    assert report.entries == 2
    text = env.hourly().read_bytes().decode("utf-8")  # strict: must not raise
    assert "lunch special" in text


def test_dst_fall_back_gives_two_sections(env: SummarizeEnv) -> None:
    """New York, 2026-11-01: entries at 01:30 EDT and 01:30 EST are two hours, two
    sections with distinct headings, in the same day's file."""
    base = utc(2026, 11, 1, 5, 0)
    write_jsonl_session(
        env.state,
        "main",
        "s1",
        [
            (
                "user",
                "First one-thirty: we decided to set the clocks back.",
                base + timedelta(minutes=30),
            ),
            (
                "user",
                "Second one-thirty: remember the extra hour of sleep.",
                base + timedelta(minutes=90),
            ),
        ],
        start=base,
    )
    report = summarize(env.settings(timezone="America/New_York"), embedder=HashEmbedder)
    assert report.hours == 2
    front, body = split_file(env.hourly("2026-11-01").read_text())
    assert headings(body) == ["01:00 EDT–01:00 EST · main", "01:00–02:00 EST · main"]
    assert front["timezone"] == "America/New_York"
    assert front["period"]["start"] == "2026-11-01T00:00:00-04:00"
    assert front["period"]["end"] == "2026-11-02T00:00:00-05:00"


def test_compaction_summaries_and_voice_notes_are_input(env: SummarizeEnv) -> None:
    """A compaction summary and an [Audio] transcript are sent to the model as passages of
    their own kind, and the summary cites them."""
    write_jsonl_session(
        env.state,
        "main",
        "s1",
        [
            ("user", "Let's plan the week.", at(5)),
            ("compaction", "## Decisions\n- Move the standup to 09:30.", at(6)),
            ("user", "[Audio] voice note (9 s) Transcript: buy oat milk on the way.", at(7)),
        ],
    )
    summarize(env.settings(), embedder=HashEmbedder)
    user = env.fake.stats.requests[0]["messages"][0]["content"]
    assert 'role="compaction"' in user and "Move the standup to 09:30." in user
    assert "buy oat milk on the way." in user
    _, body = split_file(env.hourly().read_text())
    cited = {c for line in bullets(body) for c in citations(line)}
    assert cited == ids("s1", 3)
