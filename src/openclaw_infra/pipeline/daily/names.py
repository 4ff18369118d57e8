"""People and projects a sentence names, read with spaCy's tagger and entity recogniser.

A name is a run of proper nouns ("Priya", "Solar dos Mouros", "Acme Corp"; lower-case
particles like "dos", "van", "de" may join two of them), kept whole, never cut into its
words. The entity recogniser says what the run is: places (GPE, LOC), dates, times, money,
quantities and numbers are not people or projects, so "Lisbon", "Dec 12" and "150 EUR" are
left out; so are months, weekdays, currency codes and the words of a chat (greetings, "User",
"Assistant") whatever the model thinks of them. The small model misses some first names
("Priya will send…"): a proper noun that is the subject of a verb or opens a "Name:" line
is taken as a name too; a capitalised opener that reads as a verb once lower-cased
("Benchmark SQLite WAL…") is not.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from openclaw_infra.core.calendar_words import MONTH_ABBREVIATIONS, MONTH_NAMES, WEEKDAY_NAMES

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token

NOT_A_NAME_LABELS = frozenset(
    {
        "GPE",
        "LOC",
        "DATE",
        "TIME",
        "MONEY",
        "PERCENT",
        "QUANTITY",
        "CARDINAL",
        "ORDINAL",
        "LANGUAGE",
        "NORP",
        "LAW",
    }
)
NAME_LABELS = frozenset({"PERSON", "ORG", "PRODUCT", "WORK_OF_ART", "EVENT", "FAC"})
PARTICLES = frozenset(
    {
        "dos",
        "das",
        "da",
        "de",
        "do",
        "del",
        "della",
        "di",
        "van",
        "von",
        "der",
        "den",
        "la",
        "le",
        "du",
        "bin",
        "al",
        "of",
    }
)
MONTHS = [*MONTH_NAMES, *MONTH_ABBREVIATIONS]
WEEKDAYS = [*WEEKDAY_NAMES, "mon", "tue", "wed", "thu", "fri"]
_CHAT_WORDS = [
    "the",
    "this",
    "that",
    "then",
    "user",
    "assistant",
    "they",
    "she",
    "he",
    "his",
    "her",
    "our",
    "your",
    "there",
    "turn",
    "audio",
    "transcript",
    "i",
    "we",
    "you",
    "it",
    "me",
    "my",
    "okay",
    "ok",
    "hi",
    "hello",
    "hey",
    "morning",
    "thanks",
    "thank",
    "yes",
    "no",
    "yep",
    "nope",
    "sure",
    "great",
    "cool",
    "good",
    "noted",
    "done",
    "please",
    "also",
    "and",
    "but",
    "so",
    "action",
    "item",
    "todo",
    "decision",
    "question",
    "priority",
    "update",
    "note",
    "reminder",
    "open",
    "today",
    "tomorrow",
    "tonight",
    "weekend",
    "week",
    "eur",
    "usd",
    "gbp",
    "chf",
    "jpy",
    "euro",
    "euros",
    "dollar",
    "dollars",
    "pound",
    "pounds",
    "q1",
    "q2",
    "q3",
    "q4",
    "tbd",
    "asap",
    "fyi",
    "re",
    "fwd",
    "pm",
    "am",
    "utc",
    "cet",
    "cest",
    "pst",
    "est",
    "terminal",
    "gate",
    "platform",
    "room",
    "tram",
    "bus",
    "line",
]
NOT_NAMES = frozenset(w.capitalize() for w in (*MONTHS, *WEEKDAYS, *_CHAT_WORDS))
_NOT_NAME_WORDS = frozenset(w.casefold() for w in NOT_NAMES)
MAX_NAME_WORDS = 5


TITLES = frozenset({"dr", "dr.", "mr", "mr.", "mrs", "mrs.", "ms", "ms.", "prof", "prof."})


def _proper(token: Token) -> bool:
    text = token.text
    return (
        (token.pos_ == "PROPN" or token.ent_type_ == "PERSON" or _name_opener(token))
        and text[:1].isupper()
        and any(c.isalpha() for c in text)
        and text.casefold() not in _NOT_NAME_WORDS
    )


def _name_opener(token: Token) -> bool:
    """ "Marco: update the calendar": a capitalised word opening a "Name:" line."""
    doc = token.doc
    if token.i != 0 or not token.is_alpha or token.tag_.startswith("VB"):
        return False
    if len(doc) > 2 and doc[1].text == ":":
        # "Booked: …" is a verb, "Movers: …" a category, not a name
        return not token.text.endswith("ed") and token.tag_ not in ("NNS", "NNPS")
    # "Ravi will rerun…": a capitalised subject of a modal verb
    return token.dep_ == "nsubj" and any(c.tag_ == "MD" for c in token.head.children)


def _runs(doc: Doc) -> Iterator[tuple[int, int]]:
    """[start, end) token spans of proper-noun runs (particles between two proper nouns
    join them)."""
    i, n = 0, len(doc)
    while i < n:
        if not _proper(doc[i]):
            i += 1
            continue
        end = i + 1
        while end < n:
            if _proper(doc[end]):
                end += 1
            elif (
                doc[end].text in PARTICLES
                and end + 1 < n
                and doc[end + 1].text[:1].isupper()
                and doc[end + 1].is_alpha
            ):
                end += 2
            else:
                break
        yield i, end
        i = end


def _label(doc: Doc, start: int, end: int) -> str:
    """The entity label of the run: its first token's, else any token's, else ''."""
    labels = [doc[k].ent_type_ for k in range(start, end) if doc[k].ent_type_]
    return labels[0] if labels else ""


def _named_role(doc: Doc, start: int, end: int) -> bool:
    """An unlabelled proper noun that acts like a name: a verb's subject, a "Name:" opener,
    or a word after "with/to/from/for/ask/tell/call"."""
    head = doc[end - 1]
    if head.dep_ in ("nsubj", "nsubjpass") and head.head.pos_ in ("VERB", "AUX"):
        return True
    if start == 0 and end < len(doc) and doc[end].text in (":", ","):
        return True
    before = doc[start - 1].lower_ if start > 0 else ""
    return before in (
        "with",
        "to",
        "from",
        "for",
        "ask",
        "tell",
        "call",
        "email",
        "and",
        "sister",
        "brother",
        "mum",
        "mom",
        "dad",
        "wife",
        "husband",
        "friend",
        "colleague",
        "boss",
        "dr",
        "dr.",
        "mr",
        "mr.",
        "ms",
        "ms.",
        "mrs",
        "mrs.",
    )


def _verb_when_lowercased(doc: Doc) -> bool:
    """Read again with its first word in lower case, the sentence opens with a verb: the
    tagger took a capitalised verb ("Benchmark", "Book") for a proper noun."""
    from openclaw_infra.pipeline.daily.language import english

    text = doc.text
    again = english()(text[:1].lower() + text[1:])
    return len(again) > 0 and again[0].tag_ == "VB"


def names_in(doc: Doc) -> list[str]:
    """The people and projects `doc` names, in reading order, each once."""
    out: list[str] = []
    for first, end in _runs(doc):
        start = first
        if end - start > MAX_NAME_WORDS:
            continue
        label = _label(doc, start, end)
        if label in NOT_A_NAME_LABELS:
            continue
        opener = doc[0].tag_.startswith("VB") or (
            doc[0].dep_ == "ROOT" and not _name_opener(doc[0])
        )
        if start == 0 and opener:
            continue  # "Renew passport…": an imperative verb, capitalised as an opener
        if start == 0 and _verb_when_lowercased(doc):
            start = 1  # "Benchmark SQLite WAL vs…": the capital was the sentence's, not a name's
            if start == end:
                continue
        if start == 0 and label != "PERSON" and not _name_opener(doc[0]):
            continue  # "Benchmark SQLite WAL…": a capitalised opener is not a name by itself
        if label not in NAME_LABELS and not _named_role(doc, start, end):
            continue
        while start < end and doc[start].lower_ in TITLES:
            start += 1  # "Mrs. Keller" is Keller
        if start == end:
            continue
        name = doc[start:end].text.strip(" '’-")
        words = name.split()
        if not words or any(w.casefold().strip(".") in _NOT_NAME_WORDS for w in words[:1]):
            continue
        if len(name) < 2 or name in out:
            continue
        if len(words) == 1 and name.isupper() and len(name) <= 4 and label != "PERSON":
            continue  # an acronym ("API", "TLS") is a thing, not a person or project
        out.append(name)
    return out
