"""The extractive digest's reading of sentences: names that are names, due dates resolved
against the day, replies that are not tasks, answered questions that are not open, and a
priority said twice becoming one urgent line (real spaCy model, real tracker)."""

from __future__ import annotations

from datetime import date

import pytest

from openclaw_infra.llm.mapreduce import Passage
from openclaw_infra.memory.embedder import HashEmbedder
from openclaw_infra.pipeline.daily.dates import resolve
from openclaw_infra.pipeline.daily.extractive import extract_day
from openclaw_infra.pipeline.daily.priorities import URGENT_MARK, Matcher, Tracker
from openclaw_infra.pipeline.items import ACTION, PERSON, PRIORITY, QUESTION

THU = date(2026, 11, 19)


def _day(*notes: str, day: date = THU) -> list:
    passages = [Passage(i, text, {"role": "note"}) for i, text in enumerate(notes, 1)]
    return extract_day(passages, day)


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("December 9", "2026-12-09"),
        ("tomorrow", "2026-11-20"),
        ("Thursday", "2026-11-26"),
        ("Friday", "2026-11-20"),
        ("next Friday", "2026-11-27"),
        ("Dec 12-16", "2026-12-12"),
        ("end of the month", "2026-11-30"),
        ("Monday morning", "2026-11-23"),
        ("next week", None),
        ("soon", None),
    ],
)
def test_due_dates_resolve_against_the_digested_day(phrase: str, expected: str | None) -> None:
    """Calendar and relative phrases resolve from the day digested; a vague one gives none."""
    assert resolve(phrase, THU) == expected


def test_people_are_names_not_dates_places_or_fragments() -> None:
    """Months, weekdays, currencies and places are not people; a hotel's name stays whole."""
    items = _day(
        "Booked in the plan: Solar dos Mouros for Dec 12-16.",
        "Priya: sync engine design doc due Nov 27.",
        "Can we plan the Lisbon trip on Friday for 150 EUR?",
        "My sister Maria might join for the weekend.",
    )
    names = {i.name for i in items if i.section == PERSON}
    assert {"Priya", "Maria"} <= names
    assert not names & {"Dec", "Nov", "Mouros", "Solar", "Lisbon", "Friday", "EUR"}


def test_action_owner_and_due_from_the_sentence_and_replies_are_not_tasks() -> None:
    """ "Priya will send … by December 9" is Priya's, due 2026-12-09; "remind me to …
    tomorrow" is the user's; a hand-back reply is no task at all."""
    items = _day(
        "Priya will send the sync engine design doc by December 9.",
        "Remind me to call the plumber tomorrow.",
        "That is your call; tell me when you decide.",
    )
    actions = {(i.owner, i.due) for i in items if i.section == ACTION}
    assert actions == {("Priya", "2026-12-09"), ("user", "2026-11-20")}


def test_a_question_answered_later_is_not_open() -> None:
    """The plumber question is answered an hour later; the other one stays open."""
    items = _day(
        "What time is the plumber coming on Thursday?",
        "Who is bringing the dessert on Christmas Eve?",
        "The plumber comes at 8 on Thursday morning.",
    )
    questions = [i.text for i in items if i.section == QUESTION]
    assert questions == ["Who is bringing the dessert on Christmas Eve?"]


def test_a_priority_said_twice_is_one_urgent_line() -> None:
    """Two wordings of one priority give one tracked line, marked urgent."""
    items = _day(
        "My top priority is to renew my passport before the trip.",
        "Ship the quarterly report is another priority.",
        "Renewing my passport before the trip is the priority, really.",
    )
    tracker = Tracker([], Matcher(HashEmbedder().encode))
    for item in (i for i in items if i.section == PRIORITY):
        tracker.update(THU.isoformat(), item, [])
    texts = [i.text for i in tracker.open_items(PRIORITY)]
    assert len(texts) == 2
    passport = next(t for t in texts if "passport" in t)
    assert "top priority" in passport or passport.endswith(URGENT_MARK)
