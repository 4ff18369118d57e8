"""`summarize` end to end in-process: real transcripts, the real reader, real SQLite, the
real anthropic SDK against the local fake API, real files. Owed hours, provenance,
idempotency, failures and crash safety."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from openclaw_infra.core.db import connect
from openclaw_infra.core.errors import CantCreateError, TempFailError
from openclaw_infra.core.ledger import last_runs
from openclaw_infra.llm.client import Completion, Pricing
from openclaw_infra.llm.mapreduce import Passage
from openclaw_infra.memory.embedder import HashEmbedder
from openclaw_infra.pipeline.hourly import HOURLY_NOTES
from openclaw_infra.pipeline.summarizer import LLMSummarizer
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
)

from conftest import OpenClawHome
from openclaw_fixtures import BASE_TS, append_jsonl, write_jsonl_session

KEY_S1 = "jsonl:agents/main/sessions/s1.jsonl"


@pytest.fixture
def env(oc_home: OpenClawHome, monkeypatch: pytest.MonkeyPatch) -> Iterator[SummarizeEnv]:
    yield from make_env(oc_home, monkeypatch)


def one_hour(env: SummarizeEnv, session: str = "s1", turns: int = 4) -> None:
    write_jsonl_session(
        env.state,
        "main",
        session,
        [
            (
                "user" if i % 2 == 0 else "assistant",
                f"Turn {i}: we decided to paint the shed green on Saturday {i}.",
                at(5 + i),
            )
            for i in range(turns)
        ],
    )


def test_hour_with_provenance_frontmatter_and_cursor(env: SummarizeEnv) -> None:
    """One hour of two conversations becomes one section whose every bullet ends with links
    to real entries; the frontmatter records summariser, model, prompt version, tokens, cost
    and each source with a hash; the cursor moves with the output."""
    one_hour(env, "s1")
    one_hour(env, "s2", turns=2)
    report = summarize(env.settings(), embedder=HashEmbedder)
    assert (report.hours, report.sections, report.entries) == (1, 1, 6)
    front, body = split_file(env.hourly().read_text())
    assert front["kind"] == "hourly" and front["summarizer"] == "anthropic"
    assert front["model"] == "claude-sonnet-4-6" and front["prompt_version"] == "hourly-v1"
    assert front["tokens"] == {
        "input": env.fake.stats.tokens_in,
        "output": env.fake.stats.tokens_out,
    }
    expected_cost = (env.fake.stats.tokens_in * 3 + env.fake.stats.tokens_out * 15) / 1e6
    assert front["cost_usd"] == pytest.approx(expected_cost)
    assert front["period"] == {
        "start": "2026-03-02T00:00:00+00:00",
        "end": "2026-03-03T00:00:00+00:00",
    }
    assert [(s["session"], s["entries"], len(s["sha256"])) for s in front["sources"]] == [
        ("s1", 4, 64),
        ("s2", 2, 64),
    ]
    assert headings(body) == ["09:00–10:00 UTC · main"]
    real = ids("s1", 4) | ids("s2", 2)
    lines = bullets(body)
    assert lines and all(citations(line) and set(citations(line)) <= real for line in lines)
    assert env.cursor(KEY_S1) is not None


def test_rerun_with_nothing_new_is_byte_identical(env: SummarizeEnv) -> None:
    """A second run reads nothing new: no LLM call, no write (same bytes, same mtime)."""
    one_hour(env)
    summarize(env.settings(), embedder=HashEmbedder)
    path = env.hourly()
    before, mtime = path.read_bytes(), path.stat().st_mtime_ns
    calls = env.fake.stats.calls
    report = summarize(env.settings(), embedder=HashEmbedder)
    assert report.sections == 0 and env.fake.stats.calls == calls
    assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime


def test_nine_owed_hours_oldest_first_within_the_cap(env: SummarizeEnv) -> None:
    """A Mac that slept 9 hours: all 9 are owed; with a cap of 4 the runs do 4, 4, 1, oldest
    first, and the report says what is still owed; the file lists the hours in order."""
    write_jsonl_session(
        env.state,
        "main",
        "s1",
        [
            ("user", f"Hour {h}: remember to water plant number {h}.", at(60 * h + 10))
            for h in range(9)
        ],
    )
    done = [summarize(env.settings(), max_hours=4, embedder=HashEmbedder) for _ in range(3)]
    assert [r.hours for r in done] == [4, 4, 1]
    assert [r.owed_left for r in done] == [5, 1, 0]
    _, body = split_file(env.hourly().read_text())
    assert headings(body) == [f"{9 + h:02d}:00–{10 + h:02d}:00 UTC · main" for h in range(9)]
    assert env.fake.stats.ok_calls == 9


def test_noise_only_hour_costs_nothing(env: SummarizeEnv) -> None:
    """Heartbeats, HEARTBEAT_OK and tool results only: no LLM call, no file, and the cursor
    moves past them so they are never read again."""
    write_jsonl_session(
        env.state,
        "main",
        "s1",
        [
            (
                "user",
                "Read HEARTBEAT.md if it exists (workspace context). Follow it strictly.",
                at(1),
            ),
            ("assistant", "HEARTBEAT_OK", at(2)),
            ("tool", "search results " * 50, at(3)),
        ],
    )
    report = summarize(env.settings(), embedder=HashEmbedder)
    assert report.sections == 0 and env.fake.stats.calls == 0
    assert not env.hourly().exists()
    assert env.cursor(KEY_S1) is not None


def test_open_hour_waits_for_its_end(env: SummarizeEnv) -> None:
    """Entries of the hour still running are not summarised and keep the cursor; the run
    after the hour ends does them."""
    one_hour(env)
    report = summarize(env.settings(), now=BASE_TS + timedelta(minutes=40), embedder=HashEmbedder)
    assert (report.sections, report.pending) == (0, 1)
    assert env.cursor(KEY_S1) is None and not env.hourly().exists()
    report = summarize(env.settings(), now=BASE_TS + timedelta(minutes=65), embedder=HashEmbedder)
    assert report.sections == 1 and env.hourly().exists()


def test_api_down_exit_75_then_next_run_completes(env: SummarizeEnv) -> None:
    """529 on every attempt: exit 75, nothing written, cursor unchanged, the ledger says the
    LLM failed; the next run completes the hour with exactly one section."""
    one_hour(env)
    env.fake.fail_always("529")
    with pytest.raises(TempFailError) as info:
        summarize(env.settings(), embedder=HashEmbedder)
    assert info.value.exit_code == 75
    assert env.fake.stats.calls == 3  # 1 + llm_max_retries
    assert not env.hourly().exists() and env.cursor(KEY_S1) is None
    conn = env.db()
    run = last_runs(conn, "summarize", 1)[0]
    conn.close()
    assert run["status"] == "failed" and run["exit_code"] == 75
    assert '"llm_failed": true' in run["details"] and '"owed_hours": 1' in run["details"]
    env.fake.fail_always(None)
    summarize(env.settings(), embedder=HashEmbedder)
    _, body = split_file(env.hourly().read_text())
    assert headings(body) == ["09:00–10:00 UTC · main"]
    assert env.cursor(KEY_S1) is not None


def test_crash_between_file_and_commit_writes_no_duplicate(env: SummarizeEnv) -> None:
    """If the records cannot commit after the file was written (a crash at that point), the
    next run rebuilds the file from the records plus its new work: one section, and a
    further run is byte-identical."""
    one_hour(env)
    conn = connect(env.home.data / "infra.sqlite")
    conn.execute(
        "CREATE TRIGGER crash BEFORE INSERT ON summary_sections "
        "BEGIN SELECT RAISE(ABORT, 'simulated crash'); END"
    )
    with pytest.raises(sqlite3.IntegrityError):
        summarize(env.settings(), embedder=HashEmbedder)
    assert env.hourly().exists() and env.cursor(KEY_S1) is None
    conn.execute("DROP TRIGGER crash")
    conn.close()
    summarize(env.settings(), embedder=HashEmbedder)
    text = env.hourly().read_text()
    assert headings(split_file(text)[1]) == ["09:00–10:00 UTC · main"]
    assert text.count("## ") == 1
    summarize(env.settings(), embedder=HashEmbedder)
    assert env.hourly().read_text() == text


def test_late_entry_joins_its_hour_without_a_second_heading(env: SummarizeEnv) -> None:
    """An entry that arrives after its hour was summarised is summarised once more as part
    2 of the same section (same heading), and a new hour gets its own section."""
    one_hour(env)
    summarize(env.settings(), embedder=HashEmbedder)
    path = env.state / "agents/main/sessions/s1.jsonl"
    append_jsonl(
        path,
        [
            ("user", "Late: we also agreed the door stays blue.", at(50)),
            ("user", "Next hour: book the painter for Monday.", at(70)),
        ],
    )
    summarize(env.settings(), embedder=HashEmbedder)
    front, body = split_file(env.hourly().read_text())
    assert headings(body) == ["09:00–10:00 UTC · main", "10:00–11:00 UTC · main"]
    assert [(s["start"], s["part"]) for s in front["sections"]] == [
        ("2026-03-02T09:00:00Z", 1),
        ("2026-03-02T09:00:00Z", 2),
        ("2026-03-02T10:00:00Z", 1),
    ]
    assert "door stays blue" in body and "painter" in body


def test_output_cut_at_max_tokens_is_flagged(env: SummarizeEnv) -> None:
    """When the model stays cut at max_tokens after continuing, the section is flagged
    `output_truncated` in the frontmatter (never silently short)."""
    one_hour(env, turns=8)
    env.fake.script("max_tokens", "max_tokens", "max_tokens")
    summarize(env.settings(), embedder=HashEmbedder)
    front, body = split_file(env.hourly().read_text())
    assert front["sections"][0]["flags"] == ["output_truncated"]
    assert bullets(body)


def test_existing_file_not_ours_is_refused(env: SummarizeEnv) -> None:
    """infra never rewrites a file it did not create: exit 73, file and cursor untouched."""
    one_hour(env)
    env.hourly().parent.mkdir(parents=True)
    env.hourly().write_text("# my own notes\n")
    with pytest.raises(CantCreateError) as info:
        summarize(env.settings(), embedder=HashEmbedder)
    assert info.value.exit_code == 73
    assert env.hourly().read_text() == "# my own notes\n" and env.cursor(KEY_S1) is None


def test_extractive_mode_is_labelled_and_offline(env: SummarizeEnv) -> None:
    """summarizer=extractive: no request to the API; file and section say extractive."""
    one_hour(env)
    summarize(env.settings(summarizer="extractive", anthropic_api_key=None), embedder=HashEmbedder)
    front, body = split_file(env.hourly().read_text())
    assert front["summarizer"] == "extractive" and front["model"] is None
    assert front["prompt_version"] == "extractive-v1" and front["llm_calls"] == 0
    assert "_Extractive summary" in body and env.fake.stats.calls == 0
    assert all(set(citations(line)) <= ids("s1", 4) for line in bullets(body))


class Unattributed:
    """An LLM at the protocol seam that answers without citing any input."""

    model = "fake-model"

    def complete(self, system: str, user: str, max_tokens: int | None = None) -> Completion:
        return Completion("- A confident claim with no source.\n- Another [77]", 10, 5, "end_turn")


def test_uncited_llm_output_falls_back_labelled() -> None:
    """A model answer whose bullets cite nothing real is not kept; the section quotes the
    hour instead and is labelled extractive with a flag."""
    passages = [Passage(1, "We chose the blue door for the shed.", {"role": "user"})]
    summary = LLMSummarizer(
        HOURLY_NOTES, Unattributed(), Pricing(3, 15), budget_tokens=30_000, max_tokens=300
    ).summarize(passages, "hour", date(2026, 3, 2))
    assert summary.summarizer == "extractive"
    assert "llm_output_unusable" in summary.flags
    assert "uncited_bullets_dropped:2" in summary.flags
    assert [b.refs for b in summary.items] == [(1,)]
    assert summary.cost.tokens_in == 10  # the failed attempt's cost is still counted


def test_hour_without_summarisable_text_writes_nothing(env: SummarizeEnv) -> None:
    """An hour whose only message is a code block gives the extractive summariser nothing
    to quote: no file is written, yet the entry is covered and the cursor moves on."""
    write_jsonl_session(env.state, "main", "s1", [("user", "```\nprint('hi')\n```", at(5))])
    report = summarize(
        env.settings(summarizer="extractive", anthropic_api_key=None), embedder=HashEmbedder
    )
    assert report.sections == 1 and report.files == []
    assert not env.hourly().exists() and env.cursor(KEY_S1) is not None
    again = summarize(
        env.settings(summarizer="extractive", anthropic_api_key=None), embedder=HashEmbedder
    )
    assert again.sections == 0
