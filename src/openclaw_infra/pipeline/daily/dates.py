"""Due dates said in words, resolved against the day being digested.

"by December 9", "before Dec 12", "tomorrow", "by Thursday", "next Friday", "in two weeks",
"end of the month": the phrase is found by spaCy's DATE entities (and a weekday/relative-day
pattern for the short ones the model misses), then resolved to a calendar date. Calendar
phrases go to `dateparser` (made for natural-language dates) with the digested day as its
base and future dates preferred; the weekday words follow one fixed convention, because
libraries disagree on them: "Friday" / "by Friday" / "this Friday" is the next Friday after
the day, "next Friday" the Friday of the following week. A phrase that names no day
("next week", "soon") gives no due date rather than a guess.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from openclaw_infra.core.calendar_words import WEEKDAY_NAMES
from openclaw_infra.pipeline.items import parse_date

if TYPE_CHECKING:
    from spacy.tokens import Doc

WEEKDAYS = WEEKDAY_NAMES
_DAY_WORDS = re.compile(
    r"\b(?:(next|this|coming)\s)?(monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"today|tonight|this evening|this morning|this afternoon|tomorrow|"
    r"end of (?:the )?(?:week|month|day))\b",
    re.I,
)
_CUE = re.compile(r"\b(?:by|before|until|till|due|on|no later than|deadline)\s{1,3}$", re.I)
_RANGE_END = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?\s{0,2}[-–]\s{0,2}\d{1,2}(?:st|nd|rd|th)?\b")
_PART_OF_DAY = re.compile(r"\s(?:morning|afternoon|evening|night|noon)$", re.I)
_LEADING = re.compile(r"^(?:the|on|by|before|until|due|this coming)\s+", re.I)
_VAGUE = re.compile(
    r"^(?:(?:next|this|last|the) (?:week|month|year|weekend)|weekend|soon|later|now|"
    r"(?:the )?(?:morning|afternoon|evening|night))$",
    re.I,
)
MAX_AHEAD_DAYS = 3 * 366  # a "due date" further out than this is a misreading


def _weekday(word: str, qualifier: str | None, day: date) -> date:
    target = WEEKDAYS.index(word)
    if qualifier == "next":
        next_monday = day + timedelta(days=7 - day.weekday())
        return next_monday + timedelta(days=target)
    ahead = (target - day.weekday()) % 7 or 7
    return day + timedelta(days=ahead)


def _day_words(phrase: str, day: date) -> date | None:
    match = _DAY_WORDS.fullmatch(phrase)
    if match is None:
        return None
    qualifier = (match.group(1) or "").lower() or None
    word = match.group(2).lower()
    if word in ("today", "tonight", "end of day", "end of the day") or word.startswith("this "):
        return day
    if word == "tomorrow":
        return day + timedelta(days=1)
    if word.startswith("end of") and word.endswith("week"):
        return (
            _weekday("friday", None, day)
            if day.weekday() >= 4
            else day + timedelta(days=4 - day.weekday())
        )
    if word.startswith("end of"):
        return day.replace(day=calendar.monthrange(day.year, day.month)[1])
    return _weekday(word, qualifier, day)


def resolve(phrase: str, day: date) -> str | None:
    """The ISO date `phrase` names, read on `day`; None when it names no single day."""
    text = _RANGE_END.sub(r"\1", " ".join(phrase.split()))
    text = _LEADING.sub("", text).strip(" ,.;:")
    if " " in text and not _DAY_WORDS.fullmatch(text):
        text = _PART_OF_DAY.sub("", text)  # "Monday morning"
    if not text or _VAGUE.match(text):
        return None
    explicit = parse_date(text)
    if explicit:
        return explicit
    found = _day_words(text, day)
    if found is None:
        found = _dateparser(text, day)
    if found is None or not (day - timedelta(days=366) <= found <= day + timedelta(MAX_AHEAD_DAYS)):
        return None
    return found.isoformat()


def _dateparser(text: str, day: date) -> date | None:
    import dateparser

    base = datetime.combine(day, time(12))
    parsed = dateparser.parse(
        text,
        languages=["en"],
        settings={
            "RELATIVE_BASE": base,
            "PREFER_DATES_FROM": "future",
            "REQUIRE_PARTS": ["day"],
            "RETURN_AS_TIMEZONE_AWARE": False,
        },
    )
    return parsed.date() if parsed is not None else None


def _phrases(doc: Doc) -> list[tuple[int, str]]:
    """(character offset, phrase) of every date-like phrase, in reading order."""
    found = {ent.start_char: ent.text for ent in doc.ents if ent.label_ == "DATE"}
    for match in _DAY_WORDS.finditer(doc.text):
        covered = any(s <= match.start() < s + len(t) for s, t in found.items())
        if not covered:
            found[match.start()] = match.group(0)
    return sorted(found.items())


def due_in(doc: Doc, day: date) -> str | None:
    """The due date a sentence gives: the first date after "by/before/due/on…", else the
    first date it names; None when it names none."""
    resolved = [(offset, resolve(p, day)) for offset, p in _phrases(doc)]
    resolved = [(offset, iso) for offset, iso in resolved if iso]
    if not resolved:
        return None
    for offset, iso in resolved:
        if _CUE.search(doc.text[max(0, offset - 20) : offset]):
            return iso
    return resolved[0][1]
