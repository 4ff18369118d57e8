"""When two lines say the same thing, and when a later line answers a question.

Both compare content words (stop words, question words and framing words such as "urgent"
or "priority" left out; a light stemmer equates "renewal" and "renew", "comes" and
"coming"). Two lines are one when most of the shorter one's content is in the other; a
question is answered by a later statement (not another question) that holds most of the
question's content. The tracker (priorities.py) adds the embedder's judgement for lines
said in wholly other words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

SAME_SHARE = 0.5  # share of the shorter line's content words the other must hold
SHORT_LINE, SHORT_SAME_SHARE = 3, 0.75  # content words of a short line; share it needs
ANSWER_SHARE = 0.5  # share of the question's content words an answer must hold
ANSWER_WINDOW = 40  # later sentences searched for an answer

_TOKEN = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "to",
        "of",
        "for",
        "on",
        "in",
        "at",
        "by",
        "with",
        "and",
        "or",
        "but",
        "our",
        "my",
        "your",
        "their",
        "its",
        "this",
        "that",
        "these",
        "those",
        "it",
        "be",
        "is",
        "are",
        "was",
        "were",
        "been",
        "being",
        "am",
        "some",
        "any",
        "all",
        "please",
        "now",
        "also",
        "just",
        "get",
        "got",
        "do",
        "does",
        "did",
        "done",
        "make",
        "made",
        "have",
        "has",
        "had",
        "s",
        "t",
        "i",
        "we",
        "you",
        "he",
        "she",
        "they",
        "me",
        "us",
        "him",
        "them",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "whose",
        "why",
        "how",
        "whether",
        "if",
        "is",
        "are",
        "can",
        "could",
        "would",
        "should",
        "shall",
        "will",
        "ll",
        "may",
        "might",
        "must",
        "need",
        "needs",
        "again",
        "still",
        "yet",
        "really",
        "very",
        "so",
        "about",
        "as",
        "from",
        "into",
        "up",
        "out",
        "over",
        "than",
        "then",
        "there",
        "here",
        "not",
        "no",
        "yes",
        "ok",
        "okay",
        "one",
        "more",
        "thing",
        "open",
        "question",
        "priority",
        "priorities",
        "urgent",
        "urgently",
        "top",
        "important",
        "most",
        "first",
        "item",
        "action",
        "todo",
        "decision",
        "decided",
        "remind",
        "reminder",
        "note",
    ]
)
_SUFFIXES = (
    ("ational", "ate"),
    ("ies", "y"),
    ("ing", ""),
    ("ment", ""),
    ("ion", ""),
    ("al", ""),
    ("ed", ""),
    ("es", ""),
    ("er", ""),
    ("s", ""),
)


def stem(word: str) -> str:
    """Crude, symmetric: "capped"/"caps", "coming"/"comes", "renewal"/"renew" meet."""
    for suffix, keep in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith("ss"):
                break
            word = word[: -len(suffix)] + keep
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiousl":
                word = word[:-1]  # "capp" -> "cap"
            break
    return word[:-1] if len(word) > 3 and word.endswith("e") else word


def content(text: str) -> frozenset[str]:
    """The stemmed content words of `text`."""
    folded = unicodedata.normalize("NFKC", text[:2000]).casefold()
    return frozenset(stem(w) for w in _TOKEN.findall(folded) if w not in _STOP)


def overlap(a: str, b: str) -> bool:
    """`a` and `b` say the same thing: they share two content words (one, when a line has
    only one) making up half of the shorter line, three quarters of a short one."""
    wa, wb = content(a), content(b)
    if not wa or not wb:
        return a.strip().casefold() == b.strip().casefold()
    shared = len(wa & wb)
    smaller = min(len(wa), len(wb))
    # two short lines differ by one word ("Fix the login bug" / "Fix the signup bug"): ask more
    share = SHORT_SAME_SHARE if max(len(wa), len(wb)) <= SHORT_LINE else SAME_SHARE
    return shared >= min(2, smaller) and shared / smaller >= share


def is_answered(question: str, later: Sequence[str]) -> bool:
    """A later statement of the conversation holds most of the question's content."""
    asked = content(question)
    if not asked:
        return False
    needed = max(1, min(2, len(asked)))
    for text in later[:ANSWER_WINDOW]:
        if text.rstrip().endswith("?"):
            continue  # another question (or the same one restated) answers nothing
        shared = len(asked & content(text))
        if shared >= needed and shared / len(asked) >= ANSWER_SHARE:
            return True
    return False
