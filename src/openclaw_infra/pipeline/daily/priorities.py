"""Tracked action items and priorities: matched by meaning, carried forward, closed with a link.

Two mentions are the same item when
1. their normalised text is equal (case, punctuation, articles, plural/tense endings and
   time words like "this week" do not count: "Ship the API" = "ship the api."), or
2. neither adds a content word to the other and most of one's content words are the
   other's (answered.overlap: "Renew passport before Dec 12" = "renew my passport before
   the trip"), or they share one and their embeddings (the
   memory index's model, loaded once per process) are at least `MERGE_SIMILARITY` apart in
   cosine ("Call the dentist" = "Phone the dentist").
A mention that only adds words to another ("Build API tests" vs "Build API") is a more
specific item, so it stays distinct however close the vectors are: merging is the mistake
that loses work, a leftover near-duplicate only costs a line.

Ids are stable: `A-`/`P-` plus a hash of the first wording, kept for the item's life.

Mentions arrive screened (items.screened); an item tracked before instruction-like text was
screened out stays in the store but is neither shown, carried nor matched again.

The user answers open action items from the daily brief (brief.py): a ✅ (verdict `good`)
marks one done, a ❌ (`bad`) dismisses it; the next daily-sync applies the newest verdict of
each open item before it digests the day, so priorities.md and the digest show it closed.
A ✏️ (`fix`) changes nothing here: the agent takes the correction in words.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from openclaw_infra.pipeline.daily.answered import overlap
from openclaw_infra.pipeline.digest_records import TrackedItem
from openclaw_infra.pipeline.injection import looks_like_instruction
from openclaw_infra.pipeline.items import ACTION, DONE, OPEN, PRIORITY, Item

if TYPE_CHECKING:
    import numpy as np

DISMISSED = "dismissed"  # the user dropped the item (❌ in the daily brief)
CLOSING_VERDICTS = {"good": DONE, "bad": DISMISSED}
MERGE_SIMILARITY = 0.85
SAME_DAY_SIMILARITY = 0.55  # a line restated the same day: one item, in other words
URGENT_MARK = " (urgent)"
MAX_LINKS = 6
PREFIX = {ACTION: "A", PRIORITY: "P"}

_TOKEN = re.compile(r"[a-z0-9]+")
_STOP_TEXT = (
    "a an the to of for on in at by with and or our my your their its this that these "
    "those it be is are was were been some any all please asap now today tonight "
    "tomorrow week weekend month next soon again also just get got do does did make "
    "made have has had s t"
)
STOP_WORDS = frozenset(_STOP_TEXT.split())
# how strongly a priority is said, not what it is: never makes one item more specific
FRAMING_WORDS = frozenset(
    [
        "urgent",
        "urgently",
        "really",
        "very",
        "top",
        "priority",
        "most",
        "important",
        "first",
        "asap",
        "remind",
        "me",
    ]
)
_URGENT = re.compile(r"\b(?:urgent|urgently|asap)\b", re.I)


def _stem(word: str) -> str:
    """Crude English stemming, enough to equate 'flights'/'flight' and 'renewed'/'renew'."""
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith("ss"):
                return word
            return word[: -len(suffix)] + keep
    return word


def tokens(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return [_stem(w) for w in _TOKEN.findall(folded) if w not in STOP_WORDS]


def normalise(text: str) -> str:
    return " ".join(tokens(text))


def content_words(text: str) -> frozenset[str]:
    return frozenset(t for t in tokens(text) if t not in FRAMING_WORDS)


Embed = Callable[[Sequence[str]], "np.ndarray"]


class Matcher:
    """Decides whether a mention is one of the known items (see the module docstring)."""

    def __init__(self, embed: Embed | None, threshold: float = MERGE_SIMILARITY) -> None:
        self.embed = embed
        self.threshold = threshold
        self._vectors: dict[str, np.ndarray] = {}

    def _vector_rows(self, texts: Sequence[str]) -> list[np.ndarray]:
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing and self.embed is not None:
            for text, row in zip(missing, self.embed(missing), strict=True):
                self._vectors[text] = row
        return [self._vectors[t] for t in texts]

    def find(self, text: str, pool: Sequence[str], threshold: float | None = None) -> int | None:
        """Index of the item in `pool` that `text` mentions, or None."""
        key = normalise(text)
        for index, other in enumerate(pool):
            if normalise(other) == key:
                return index
        words = content_words(text)
        eligible = [
            i
            for i, other in enumerate(pool)
            if words & content_words(other) and not _refines(words, content_words(other))
        ]
        for index in eligible:
            if overlap(text, pool[index]):
                return index  # most of one line's words are the other's: one item
        if not eligible or self.embed is None:
            return None
        rows = self._vector_rows([text] + [pool[i] for i in eligible])
        best, best_score = None, self.threshold if threshold is None else threshold
        for index, row in zip(eligible, rows[1:], strict=True):
            score = float(row @ rows[0])
            if score >= best_score:
                best, best_score = index, score
        return best

    def same(self, a: str, b: str) -> bool:
        return self.find(a, [b]) == 0


def _raise_urgency(item: TrackedItem, mention: Item, day: str) -> None:
    """A priority said again the same day, or said again as urgent, is an urgent one (one
    carried by its id, or restated on a later day, is not raised)."""
    again = item.last_day == day or _URGENT.search(mention.text)
    if again and mention.given_id is None and not _URGENT.search(item.text):
        item.text = item.text.rstrip(". ") + URGENT_MARK


def _refines(a: frozenset[str], b: frozenset[str]) -> bool:
    """One adds content words to the other: a more specific item, not the same one."""
    return a != b and (a < b or b < a)


def item_id(kind: str, text: str, taken: set[str]) -> str:
    base = f"{PREFIX[kind]}-" + hashlib.sha256(f"{kind}\n{normalise(text)}".encode()).hexdigest()
    candidate = base[:8]
    n = 2
    while candidate in taken:
        candidate = f"{base[:8]}-{n}"
        n += 1
    return candidate


@dataclass
class Touched:
    """What one mention did to the tracker (for the day's digest)."""

    item: TrackedItem
    mention: Item
    links: list[str]
    new: bool
    closed_today: bool


@dataclass
class Tracker:
    """The tracked items of one run; `update` applies a day's mentions in memory, and the
    caller saves `items` in the day's transaction."""

    items: list[TrackedItem]
    matcher: Matcher
    changed: dict[str, TrackedItem] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.items = [i for i in self.items if not looks_like_instruction(i.text)]

    def open_items(self, kind: str | None = None) -> list[TrackedItem]:
        return [i for i in self.items if i.status == OPEN and (kind is None or i.kind == kind)]

    def _find(self, mention: Item, day: str) -> TrackedItem | None:
        """The item a mention is about: the id the model repeated, else an open item of the
        same meaning (a priority said today: closer wording is not needed,
        `SAME_DAY_SIMILARITY`; tasks are not, "Book the flights" ≠ "Book the hotel"); a
        "done" mention may also name an item that is already done."""
        same_kind = [i for i in self.items if i.kind == mention.section]
        if mention.given_id:
            for item in same_kind:
                if item.id == mention.given_id:
                    return item
        today = [
            i for i in same_kind if i.kind == PRIORITY and i.status == OPEN and i.last_day == day
        ]
        index = self.matcher.find(mention.text, [i.text for i in today], SAME_DAY_SIMILARITY)
        if index is not None:
            return today[index]
        pools = [[i for i in same_kind if i.status == OPEN]]
        if mention.status == DONE:
            pools.append([i for i in same_kind if i.status == DONE])
        for pool in pools:
            index = self.matcher.find(mention.text, [i.text for i in pool])
            if index is not None:
                return pool[index]
        return None

    def update(self, day: str, mention: Item, links: list[str]) -> Touched:
        """Apply one mention of an action item or priority on `day`."""
        found = self._find(mention, day)
        new = found is None
        if found is not None and found.kind == PRIORITY and found.status == OPEN:
            _raise_urgency(found, mention, day)
        if found is None:
            found = TrackedItem(
                id=item_id(mention.section, mention.text, {i.id for i in self.items}),
                kind=mention.section,
                text=mention.text,
                status=OPEN,
                first_day=day,
                last_day=day,
            )
            self.items.append(found)
        found.last_day = max(found.last_day, day)
        if mention.owner:
            found.owner = mention.owner
        if mention.due:
            found.due = mention.due
        for link in links:
            if link not in found.sources:
                found.sources.append(link)
        del found.sources[: max(0, len(found.sources) - MAX_LINKS)]
        closed_today = mention.status == DONE and found.status == OPEN
        if closed_today:
            found.status = DONE
            found.closed_day = day
            found.closed_link = links[0] if links else None
        self.changed[found.id] = found
        return Touched(found, mention, links, new, closed_today)

    def apply_feedback(self, day: str, verdicts: Mapping[str, str]) -> list[TrackedItem]:
        """Close the open action items whose newest verdict closes them (see the module
        docstring), on `day`; the items closed."""
        closed = []
        for item in self.open_items(ACTION):
            status = CLOSING_VERDICTS.get(verdicts.get(item.id, ""))
            if status is None:
                continue
            item.status = status
            item.closed_day = day
            item.closed_link = None  # closed by the user's answer, not by a conversation
            self.changed[item.id] = item
            closed.append(item)
        return closed
