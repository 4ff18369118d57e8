"""Tracked items and memory/priorities.md: what counts as the same item (normalisation,
refinement, embedding similarity with the real packaged model), stable ids, closing, and
the rule that infra never overwrites an edited priorities.md (it writes beside it and
`infra health` warns)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest
from test_daily import MON, MONDAY_DIGEST, THU, TUE, WED, two_agents_monday

from digest_env import (
    DAILY,
    daily_path,
    daily_sync,
    local,
    priorities_path,
    sections,
    summarize_until,
    talk,
)
from openclaw_infra.core import outputs
from openclaw_infra.core.checks import OK, WARNING, HealthContext, open_readonly
from openclaw_infra.core.db import connect, transaction
from openclaw_infra.feedback import intake
from openclaw_infra.feedback.tokens import issue
from openclaw_infra.memory.embedder import HashEmbedder, get_embedder
from openclaw_infra.pipeline.checks import check_priorities
from openclaw_infra.pipeline.daily.priorities import Matcher, Tracker, normalise
from openclaw_infra.pipeline.daily.priorities_file import unedited, write_priorities
from openclaw_infra.pipeline.digest_records import load_items
from openclaw_infra.pipeline.items import ACTION, DONE, OPEN, PRIORITY, Item
from summarize_env import SummarizeEnv, make_env

from conftest import OpenClawHome


@pytest.fixture
def env(oc_home: OpenClawHome, monkeypatch: pytest.MonkeyPatch) -> Iterator[SummarizeEnv]:
    yield from make_env(oc_home, monkeypatch)


def test_normalisation_and_refinement_without_a_model() -> None:
    """Case, punctuation, articles, plurals and time words do not make a new item; a
    mention that adds a word to another is a different, more specific item; with no
    embedder nothing else merges."""
    matcher = Matcher(None)
    assert normalise("Ship the API") == normalise("ship the api.") == "ship api"
    assert matcher.same("Ship the API", "ship the api.")
    assert matcher.same("Book flights to Lisbon", "Book the flight to Lisbon")
    assert matcher.same("Ship the API this week", "ship the API")
    assert not matcher.same("Build API", "Build API tests")
    assert not matcher.same("Call the dentist", "Phone the dentist")


def test_refinement_guard_beats_vector_similarity() -> None:
    """Even an embedder that calls everything identical cannot merge "Build API" into
    "Build API tests", nor two items that share no content word."""
    import numpy as np

    def identical(texts: Sequence[str]) -> np.ndarray:
        return np.ones((len(texts), 4), dtype=np.float32) / 2

    matcher = Matcher(identical)
    assert not matcher.same("Build API", "Build API tests")
    assert not matcher.same("Paint the shed", "Call the dentist")
    assert matcher.same("Call the dentist", "Phone the dentist")


@pytest.mark.model
def test_merge_by_meaning_with_the_packaged_model(oc_home: OpenClawHome) -> None:
    """With the memory index's own model (packaged MiniLM, offline): paraphrases of one item
    merge, neighbours that are different work stay distinct."""
    embedder = get_embedder(oc_home.settings())
    matcher = Matcher(embedder.encode)
    assert matcher.same("Ship the API", "ship the api.")
    assert matcher.same("Call the dentist", "Phone the dentist")
    assert matcher.same("Launch the newsletter", "Start the newsletter")
    assert not matcher.same("Build API", "Build API tests")
    assert not matcher.same("Write the report", "Review the report")
    assert not matcher.same("Fix the login bug", "Fix the signup bug")
    assert not matcher.same("Paint the shed", "Paint the fence")


def test_tracker_ids_are_stable_and_done_items_close_with_their_link() -> None:
    """A repeated mention keeps the item's id and gains its link; a done mention closes it
    with the link where that was said; the same words later as open are a new item."""
    tracker = Tracker([], Matcher(HashEmbedder().encode))
    first = tracker.update("2026-03-02", Item(PRIORITY, "Ship the API", (1,)), ["s1#a"])
    again = tracker.update("2026-03-03", Item(PRIORITY, "ship the api.", (1,)), ["s2#b"])
    assert first.new and not again.new and first.item.id == again.item.id
    assert first.item.id.startswith("P-") and first.item.sources == ["s1#a", "s2#b"]
    other = tracker.update("2026-03-03", Item(PRIORITY, "Build API tests", (1,)), ["s2#c"])
    assert other.new and other.item.id != first.item.id
    closed = tracker.update(
        "2026-03-04", Item(PRIORITY, "Ship the API", (1,), status=DONE), ["s3#d"]
    )
    assert closed.closed_today and closed.item.status == DONE
    assert (closed.item.closed_day, closed.item.closed_link) == ("2026-03-04", "s3#d")
    reopened = tracker.update("2026-03-05", Item(PRIORITY, "Ship the API", (1,)), ["s4#e"])
    assert reopened.new and reopened.item.status == OPEN
    assert reopened.item.id == f"{first.item.id}-2"
    task = tracker.update(
        "2026-03-05", Item(ACTION, "Send it", (1,), owner="Alice", due="2026-03-06"), ["s4#f"]
    )
    assert task.item.id.startswith("A-") and task.item.owner == "Alice"


def test_a_write_interrupted_before_its_commit_is_still_infras(oc_home: OpenClawHome) -> None:
    """The hash is recorded before the file is replaced: if the run dies before its day's
    commit, the next run still recognises the file as its own, not as a user's edit."""
    settings = oc_home.settings()
    conn = connect(settings.db_path)
    written = write_priorities(settings, conn, "---\nkind: priorities\n---\n# one\n")
    assert not written.conflict
    assert unedited(settings, conn)[0]  # pending hash only: still ours
    with transaction(conn):
        outputs.record_write(conn, written.path, outputs.PRIORITIES, written.sha256)
    priorities_path_ = settings.workspace / "memory" / "priorities.md"
    priorities_path_.write_text(priorities_path_.read_text() + "- my own line\n")
    assert not unedited(settings, conn)[0]
    conn.close()


def health_state(env: SummarizeEnv) -> tuple[int, str]:
    settings = env.settings()
    conn = open_readonly(settings)
    check = check_priorities(HealthContext(settings, conn))
    if conn is not None:
        conn.close()
    return check.state, check.summary


def test_edited_priorities_file_is_left_alone_and_health_warns(env: SummarizeEnv) -> None:
    """After the user edits priorities.md, daily-sync writes its update to
    priorities.md.infra-update and leaves the file byte for byte; health warns until the
    update is moved over the file, after which infra owns and writes it again."""
    settings = env.settings(summarizer="extractive")
    talk(env, "s1", MON, ["Shipping the API is the top priority.", "Agreed."])
    summarize_until(env, local(MON, 21, 30), summarizer="extractive")
    daily_sync(settings, now=local(MON, 21, 30), embedder=HashEmbedder)
    assert health_state(env)[0] == OK
    path = priorities_path(env)
    edited = path.read_text() + "\n- my own note: call mum\n"
    path.write_text(edited)
    state, summary = health_state(env)
    assert state == WARNING and "next daily-sync writes its update beside it" in summary
    talk(env, "s2", TUE, ["The most important thing now is the tax return.", "Right."])
    summarize_until(env, local(TUE, 21, 30), summarizer="extractive")
    report = daily_sync(settings, now=local(TUE, 21, 30), embedder=HashEmbedder)
    assert report.priorities == "conflict"
    assert path.read_text() == edited
    update = path.with_name("priorities.md.infra-update")
    assert "tax return" in update.read_text()
    state, summary = health_state(env)
    assert state == WARNING and "priorities.md.infra-update" in summary
    update.replace(path)  # the user takes infra's version
    assert health_state(env)[0] == OK
    talk(env, "s3", THU, ["Renewing the passport is urgent.", "OK."])
    summarize_until(env, local(THU, 21, 30), summarizer="extractive")
    report = daily_sync(settings, now=local(THU, 21, 30), embedder=HashEmbedder)
    assert report.priorities == "written" and not update.exists()
    assert any("passport" in line for line in sections(path.read_text())["Priorities"])
    assert WED  # Wednesday had no activity: no daily, no priorities change


def test_brief_answers_close_action_items_in_priorities_and_the_next_digest(
    env: SummarizeEnv,
) -> None:
    """A ✅ (a real signed button, recorded as the agent would) on an open action item marks
    it done in the next digest and priorities.md; a ❌ in words dismisses one, shown even on
    a day without activity (priorities.md is rewritten, no digest); a ✏️ changes nothing."""
    two_agents_monday(env)
    env.fake.reply_when(DAILY, MONDAY_DIGEST)
    settings = env.settings()
    daily_sync(settings, now=local(MON, 21, 30), embedder=HashEmbedder)
    conn = env.db()
    (invoice,) = [i for i in load_items(conn) if i.kind == ACTION]
    conn.close()
    pressed = local(TUE, 8, 0).timestamp()
    value = issue(settings, invoice.id, "good", now=pressed)
    intake.record_value(settings, f"callback_data: {value}", now=pressed)

    talk(env, "s2", TUE, ["Remember to renew the passport.", "And call the plumber."])
    summarize_until(env, local(TUE, 21, 30))
    env.fake.reply_when(
        DAILY,
        "- ACTION: Renew the passport | owner: user | status: open [1]\n"
        "- ACTION: Call the plumber | owner: user | status: open [2]",
    )
    report = daily_sync(settings, now=local(TUE, 21, 30), embedder=HashEmbedder)
    assert report.answered == 1
    tuesday = sections(daily_path(env, TUE).read_text())
    (line,) = [x for x in tuesday["Action items"] if invoice.id in x]
    assert "status: done (2026-03-03) · answered in the daily brief" in line
    prio = sections(priorities_path(env).read_text())
    assert any(invoice.id in x for x in prio["Done in the last 30 days"])
    assert not any(invoice.id in x for x in prio["Open action items"])

    conn = env.db()
    tracked = {i.text: i for i in load_items(conn)}
    conn.close()
    passport, plumber = tracked["Renew the passport"], tracked["Call the plumber"]
    intake.record_words(settings, passport.id, "bad", now=local(WED, 9, 0).timestamp())
    intake.record_words(settings, plumber.id, "fix", note="it is the electrician")
    report = daily_sync(settings, now=local(WED, 21, 30), embedder=HashEmbedder)
    assert report.days == ["2026-03-04"] and report.files == [] and report.answered == 1
    prio = sections(priorities_path(env).read_text())
    (gone,) = prio["Dismissed in the last 30 days"]
    assert passport.id in gone and "status: dismissed (2026-03-04)" in gone
    assert any(plumber.id in x for x in prio["Open action items"])
    assert not daily_path(env, WED).exists()
