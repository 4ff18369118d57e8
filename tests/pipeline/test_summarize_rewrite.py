"""A transcript OpenClaw rewrote with new entry ids (issue 22, item 3): the turns already
summarised are recognised by their content, so only genuinely new turns reach the hourly file."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from openclaw_infra.memory.embedder import HashEmbedder
from summarize_env import SummarizeEnv, at, headings, make_env, split_file, summarize

from conftest import OpenClawHome
from openclaw_fixtures import write_jsonl_session


@pytest.fixture
def env(oc_home: OpenClawHome, monkeypatch: pytest.MonkeyPatch) -> Iterator[SummarizeEnv]:
    yield from make_env(oc_home, monkeypatch)


TURNS = [
    ("user", "Book the dentist for Tuesday.", at(5)),
    ("assistant", "Booked for Tuesday 10:00.", at(6)),
    ("user", "Then order the bike parts.", at(65)),
    ("assistant", "Parts ordered, arriving Friday.", at(66)),
]
NEW_TURN = ("user", "Remind me to pay the invoice.", at(125))


def _rewrite_with_new_ids(env: SummarizeEnv) -> None:
    """The same turns under UUID ids instead of 8-hex ones, plus one new turn."""
    write_jsonl_session(env.state, "main", "s1", [*TURNS, NEW_TURN], uuid_ids=True)


def test_rewrite_with_new_ids_adds_only_the_new_turn(env: SummarizeEnv) -> None:
    """Summarise, rewrite the file with new ids and one new turn, summarise again: one new
    section for the new turn's hour, no second copy of the hours already written."""
    write_jsonl_session(env.state, "main", "s1", TURNS)
    first = summarize(env.settings(), embedder=HashEmbedder)
    assert (first.hours, first.entries) == (2, 4)
    before = env.hourly().read_text()
    _rewrite_with_new_ids(env)
    report = summarize(env.settings(), embedder=HashEmbedder)
    assert report.read.get("kept") == 5  # read again from the start
    assert (report.hours, report.sections, report.entries) == (1, 1, 1)
    front, body = split_file(env.hourly().read_text())
    assert headings(body) == [
        "09:00–10:00 UTC · main",
        "10:00–11:00 UTC · main",
        "11:00–12:00 UTC · main",
    ]
    assert [s["part"] for s in front["sections"]] == [1, 1, 1]
    _, old_body = split_file(before)
    assert body.startswith(old_body.rstrip("\n"))  # the old sections are untouched
    again = summarize(env.settings(), embedder=HashEmbedder)
    assert again.sections == 0


def test_rewrite_of_a_transcript_covered_before_content_identities(env: SummarizeEnv) -> None:
    """An install whose covered rows predate the content identity (NULL): a rewrite with new
    ids takes the turns up to the last summarised hour as done, and summarises the rest."""
    write_jsonl_session(env.state, "main", "s1", TURNS)
    summarize(env.settings(), embedder=HashEmbedder)
    conn = env.db()
    with conn:
        conn.execute("UPDATE summary_covered SET content = NULL")
    conn.close()
    _rewrite_with_new_ids(env)
    report = summarize(env.settings(), embedder=HashEmbedder)
    assert (report.hours, report.sections, report.entries) == (1, 1, 1)
    _, body = split_file(env.hourly().read_text())
    assert headings(body) == [
        "09:00–10:00 UTC · main",
        "10:00–11:00 UTC · main",
        "11:00–12:00 UTC · main",
    ]
