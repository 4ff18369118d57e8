"""Signals across agents: two agents, one in a JSONL file and one in the SQLite store; entity
and meaning matches, word boundaries, dedup, the daily cap, the look-back, notification
failures, `infra signals list` and the health check."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from context_env import NOW, TODAY, item, jsonl_session, plant_daily, plant_items, sqlite_session

from openclaw_infra.context.checks import check_signals
from openclaw_infra.context.signals import entities, scan, words
from openclaw_infra.core.checks import OK, WARNING, HealthContext, open_readonly
from openclaw_infra.core.db import connect
from openclaw_infra.memory.embedder import HashEmbedder

TS = NOW - timedelta(hours=2)


@pytest.fixture
def settings(oc_home):  # type: ignore[no-untyped-def]
    """Agent `home` (SQLite store) owns an action item and a decision; agent `work` (JSONL)
    talks. Item and decision cite home's session h0."""
    s = oc_home.settings(signals_notify=False)
    sqlite_session(s, "home", "h0", [("user", "the lease with Maren Holt", TS)])
    plant_items(
        s,
        [
            item("A-00000a", "Send the signed lease to Maren Holt", sources=["h0#x"]),
            item("A-00000b", "Renew the contract with This Inc", sources=["h0#x"]),
            item("A-00000c", "Nobody owns this one about Maren Holt", sources=["gone#x"]),
        ],
    )
    plant_daily(s, TODAY, ["Chose the Tromso cabin for the summer holiday [h0#x]"])
    return s


def run(settings, **kwargs):  # type: ignore[no-untyped-def]
    conn = connect(settings.db_path)
    try:
        return scan(settings, conn, embed=HashEmbedder().encode, now=NOW, **kwargs)
    finally:
        conn.close()


def test_signals_entity_match_records_both_citations(settings) -> None:  # type: ignore[no-untyped-def]
    """work's turn names Maren Holt: one signal for home's item, citing the turn and the item;
    the item nobody owns is not a target."""
    jsonl_session(settings, "work", "w1", [("user", "Maren Holt called about the keys", TS)])
    report = run(settings)
    assert [(s.target.key, s.agent, s.how, s.matched) for s in report.recorded] == [
        ("A-00000a", "work", "entity", "Maren Holt")
    ]
    signal = report.recorded[0]
    assert signal.citation.startswith("w1#")
    assert signal.target.citation == "h0#x" and signal.target.agents == {"home"}


def test_signals_word_boundaries_this_inc_is_not_this_includes(settings) -> None:  # type: ignore[no-untyped-def]
    """ "This Inc" is a name; "This includes" is not a mention of it. "This Inc." is."""
    assert ("This", "Inc") in entities("Renew the contract with This Inc")
    assert words("This includes the deposit") == ["This", "includes", "the", "deposit"]
    jsonl_session(settings, "work", "w1", [("user", "This includes the deposit, ok", TS)])
    assert run(settings).recorded == []
    jsonl_session(
        settings,
        "work",
        "w1",
        [("user", "This includes the deposit, ok", TS), ("user", "This Inc. sent terms", TS)],
    )
    assert [s.target.key for s in run(settings).recorded] == ["A-00000b"]


def test_signals_sentence_start_words_are_not_names() -> None:
    """A capitalised first word, a weekday or a verb alone is not an entity."""
    assert entities("Send the lease on Monday") == set()
    assert entities("Chose the Tromso cabin") == {("Tromso",)}


def test_signals_same_agent_and_old_turns_raise_nothing(settings) -> None:  # type: ignore[no-untyped-def]
    """home's own conversation touching its own item is no signal; turns older than the
    look-back (48 h) are read past."""
    sqlite_session(settings, "home", "h1", [("user", "Maren Holt again", TS)])
    jsonl_session(
        settings, "work", "w1", [("user", "Maren Holt, long ago", NOW - timedelta(days=3))]
    )
    report = run(settings)
    assert report.recorded == [] and report.turns == 2  # h0 and h1


def test_signals_recorded_once_and_capped_per_day(settings) -> None:  # type: ignore[no-untyped-def]
    """A second scan with another mention adds nothing; the daily cap holds the rest back."""
    jsonl_session(settings, "work", "w1", [("user", "Maren Holt called", TS)])
    assert len(run(settings).recorded) == 1
    jsonl_session(
        settings,
        "work",
        "w1",
        [
            ("user", "Maren Holt called", TS),
            ("user", "Maren Holt again", TS),
            ("user", "This Inc wrote too", TS),
        ],
    )
    capped = settings.model_copy(update={"signals_max_per_day": 1})
    report = run(capped)
    assert report.recorded == [] and report.capped == 1


def test_signals_meaning_match_without_a_name(settings) -> None:  # type: ignore[no-untyped-def]
    """A user turn about the same topic (no shared name) matches by embedding."""
    low = settings.model_copy(update={"signals_similarity": 0.5})
    jsonl_session(
        low, "work", "w1", [("user", "chose the tromso cabin for the summer holiday, right?", TS)]
    )
    report = run(low)
    assert [(s.how, s.target.section) for s in report.recorded] == [("embedding", "decision")]


def test_signals_unsent_is_recorded_and_health_warns(oc_home, settings) -> None:  # type: ignore[no-untyped-def]
    """With notification on and no `openclaw` to run, the signal is kept, the failure is
    recorded, listed, and health warns."""
    loud = settings.model_copy(update={"signals_notify": True, "alert_target": "42"})
    jsonl_session(loud, "work", "w1", [("user", "Maren Holt called", TS)])
    report = run(loud)
    assert len(report.recorded) == 1 and report.notified == 0
    assert report.notify_errors and "openclaw" in report.notify_errors[0]
    listed = oc_home.run("signals", "list", "--json", "--days", "365")
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)["signals"]
    assert row["notify_error"] and row["target_agents"] == ["home"]
    conn = open_readonly(loud)
    try:
        (check,) = check_signals(HealthContext(loud, conn, now=NOW.timestamp() + 60))
    finally:
        conn.close()
    assert check.state == WARNING and "not sent" in check.summary


def test_signals_scan_cli_is_a_ledgered_job(oc_home, settings) -> None:  # type: ignore[no-untyped-def]
    """`infra signals scan --json` runs as the `signals` job; health reads its last run."""
    env = {"OPENCLAW_INFRA_EMBEDDING_MODEL": "test-hash-embedder"}
    env["OPENCLAW_INFRA_TEST_EMBEDDER"] = "1"
    run_ = oc_home.run("signals", "scan", "--json", extra_env=env)
    assert run_.returncode == 0, run_.stderr
    # the two items: the planted daily is not within the last days of the real clock
    assert json.loads(run_.stdout)["targets"] == 2
    conn = open_readonly(settings)
    try:
        (check,) = check_signals(HealthContext(settings, conn))
    finally:
        conn.close()
    assert check.state == OK and "last scan" in check.summary
