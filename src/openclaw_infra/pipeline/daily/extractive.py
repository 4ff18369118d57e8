"""The non-LLM daily digest: sentences of the day's notes, sorted into the digest's sections.

Real, not a stand-in, and labelled `extractive` wherever it appears. Summary lines are the
hourly extractive summariser's pick over the whole day; the other sections come from
sentence patterns (decisions, commitments with an owner and a due date, questions,
priorities) and from the headings of compaction summaries ("Decisions", "Open TODOs",
"Pending user asks"), which OpenClaw already sorted. People and projects are the capitalised
names the day's notes mention, with the first sentence naming each. A sentence that reads
as an instruction to the assistant is flagged, never sorted into a section (`screened`).

Every pattern is an alternation of literals or a single bounded quantifier over a character
class (no nested or overlapping repetition), so matching is linear on any input.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import date, timedelta

from openclaw_infra.llm.mapreduce import Passage
from openclaw_infra.pipeline.extractive import (
    MAX_SENTENCE_CHARS,
    clip,
    sentences,
    similar,
    summarize_extractive,
)
from openclaw_infra.pipeline.items import (
    ACTION,
    DECISION,
    DONE,
    OPEN,
    PERSON,
    PRIORITY,
    QUESTION,
    SUMMARY,
    Item,
    parse_date,
    screened,
)

DAILY_EXTRACTIVE_VERSION = "daily-extractive-v1"
MAX_PER_SECTION = 8
DAILY_SIMILARITY = 0.7  # word overlap above which two lines of one section are one

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.{0,200})")
_DECIDED = re.compile(
    r"\b(?:decided|decide to|agreed|settled on|chose|chosen|went with|will go with|"
    r"confirmed|approved|picked|opted)\b",
    re.I,
)
_ACTION = re.compile(
    r"\b(?:todo|to-do|need to|needs to|have to|has to|must|will|'ll|going to|remind|"
    r"follow up|follow-up|action item|promised to|committed to|assigned)\b",
    re.I,
)
_QUESTION_WORDS = re.compile(
    r"\b(?:open question|unsure whether|not sure whether|undecided|still unclear|"
    r"asked whether|wondered whether|to be decided|tbd)\b",
    re.I,
)
_PRIORITY = re.compile(
    r"\b(?:priority|priorities|top of the list|most important|comes first|first thing|"
    r"urgent|urgently|focus on|main goal)\b",
    re.I,
)
_DONE = re.compile(
    r"\b(?:done|finished|completed|sent|shipped|closed|resolved|fixed|delivered|submitted)\b",
    re.I,
)
_OWNER = re.compile(
    r"^(?:[Tt]he\s)?(user|assistant|I|we|you|[A-Z][a-z]{1,20})(?:'ll|\s(?:will|needs to|"
    r"has to|must|should|is going to|promised to|agreed to))\b"
)
_WEEKDAY = re.compile(
    r"\b(?:by|on|before|until|due|next)\s(monday|tuesday|wednesday|thursday|friday|"
    r"saturday|sunday)\b",
    re.I,
)
_RELATIVE = re.compile(r"\b(today|tonight|tomorrow)\b", re.I)
_NAME = re.compile(r"(?<=[a-z,;:] )[A-Z][a-z]{2,20}\b")
_KEY_HEADINGS = (
    (re.compile(r"decision", re.I), DECISION),
    (re.compile(r"todo|to-do|pending|asks|action|next step", re.I), ACTION),
    (re.compile(r"question", re.I), QUESTION),
    (re.compile(r"priorit", re.I), PRIORITY),
)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
NOT_NAMES = frozenset(
    {w.capitalize() for w in WEEKDAYS}
    | {
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
        "The",
        "This",
        "That",
        "Then",
        "User",
        "Assistant",
        "They",
        "She",
        "His",
        "Her",
        "Our",
        "Your",
        "There",
        "Turn",
        "Audio",
        "Transcript",
    }
)


def _under(heading: str) -> str | None:
    """The section a compaction summary's heading ("Decisions", "Open TODOs"…) names."""
    match = _HEADING.match(heading)
    title = match.group(1) if match else heading
    return next((s for pattern, s in _KEY_HEADINGS if pattern.search(title)), None)


def _sentences(text: str) -> Iterator[tuple[str, str | None]]:
    """(sentence, section named by the heading above it): sentences of three words or more,
    whitespace collapsed and length bounded."""
    for piece, under in sentences(text, _under):
        sentence = " ".join(piece.split())[: MAX_SENTENCE_CHARS * 4]
        if len(sentence.split()) >= 3:
            yield sentence, under


def due_date(sentence: str, day: date) -> str | None:
    """An ISO date, today/tomorrow, or 'by Friday' (the next Friday after `day`)."""
    explicit = parse_date(sentence)
    if explicit:
        return explicit
    relative = _RELATIVE.search(sentence)
    if relative:
        return (day + timedelta(days=relative.group(1).lower() == "tomorrow")).isoformat()
    weekday = _WEEKDAY.search(sentence)
    if weekday:
        target = WEEKDAYS.index(weekday.group(1).lower())
        ahead = (target - day.weekday()) % 7 or 7
        return (day + timedelta(days=ahead)).isoformat()
    return None


def owner_of(sentence: str, role: str) -> str:
    """Who a commitment belongs to: a leading name, or the speaker ("I will…")."""
    match = _OWNER.match(sentence)
    who = match.group(1) if match else ""
    lowered = who.lower()
    if lowered in ("user", "assistant"):
        return lowered
    if lowered in ("i", "we"):
        return "assistant" if role == "assistant" else "user"
    if lowered == "you":
        return "user" if role == "assistant" else "assistant"
    if not who or who in NOT_NAMES or who in ("It", "He", "Someone"):
        return "user"
    return who


def _section(sentence: str, under: str | None) -> str | None:
    head = sentence[:2000]
    if under is not None:
        return under
    if head.endswith("?") or _QUESTION_WORDS.search(head):
        return QUESTION
    if _PRIORITY.search(head):
        return PRIORITY
    if _DECIDED.search(head):
        return DECISION
    if _ACTION.search(head):
        return ACTION
    return None


def _add(bucket: list[Item], item: Item) -> None:
    if len(bucket) >= MAX_PER_SECTION or any(
        similar(item.text, i.text, DAILY_SIMILARITY) for i in bucket
    ):
        return
    bucket.append(item)


def extract_day(passages: Sequence[Passage], day: date) -> list[Item]:
    """Every section of a day's digest from its notes, without an LLM."""
    items = [Item(SUMMARY, b.text, b.refs) for b in summarize_extractive(passages, 6)]
    buckets: dict[str, list[Item]] = {DECISION: [], ACTION: [], QUESTION: [], PRIORITY: []}
    names: dict[str, Item] = {}
    for passage in passages:
        role = passage.attrs.get("role", "user")
        for sentence, under in _sentences(passage.text):
            section = _section(sentence, under)
            text = clip(sentence)
            status = DONE if _DONE.search(sentence[:2000]) else OPEN
            if section == ACTION:
                _add(
                    buckets[ACTION],
                    Item(
                        ACTION,
                        text,
                        (passage.ref,),
                        owner=owner_of(sentence, role),
                        due=due_date(sentence, day),
                        status=status,
                    ),
                )
            elif section == PRIORITY:
                _add(buckets[PRIORITY], Item(PRIORITY, text, (passage.ref,), status=status))
            elif section is not None:
                _add(buckets[section], Item(section, text, (passage.ref,)))
            for name in _NAME.findall(sentence[:2000]):
                if name in NOT_NAMES:
                    continue
                known = names.get(name)
                if known is None:
                    names[name] = Item(PERSON, f"{name}: {text}", (passage.ref,), name=name)
                elif passage.ref not in known.refs and len(known.refs) < 3:
                    names[name] = known.with_refs((*known.refs, passage.ref))
    for section in (DECISION, ACTION, QUESTION, PRIORITY):
        items.extend(buckets[section])
    items.extend(list(names.values())[:MAX_PER_SECTION])
    return screened(items)
