"""The non-LLM summariser: picks the salient sentences of an hour, decisions first; and the
sentence splitting, clipping and near-duplicate test that the daily one shares.

It is a real summariser, not a stand-in: it quotes the conversation's own sentences, scored
for what a memory note needs (decisions, commitments, plans, dates and numbers, the user's
questions, compaction "Decisions" and "Open TODOs" items) and against filler ("Sure!",
"Thanks"). Output is labelled `extractive` everywhere it appears.

Every pattern here is a plain alternation or a single bounded quantifier over a character
class, never a nested or overlapping repetition, so the engine works in linear time on any
input (a test feeds it megabytes of adversarial text).
"""

from __future__ import annotations

import heapq
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from openclaw_infra.llm.mapreduce import Passage
from openclaw_infra.pipeline.bullets import Bullet

EXTRACTIVE_VERSION = "extractive-v1"
MAX_SENTENCE_CHARS = 280
MIN_BULLETS, MAX_BULLETS = 1, 8
HOURLY_SIMILARITY = 0.8  # word overlap above which two picked sentences are one
H = TypeVar("H")

_DECISION = re.compile(
    r"\b(?:decided|decide|decision|agreed|agree|settled|chose|choose|chosen|picked|"
    r"we'll|we will|i'll|i will|let's|let us|going to|plan|planned|plans|planning|"
    r"must|should|need to|needs to|have to|deadline|due|todo|to-do|remember|remind|"
    r"prefer|prefers|preferred|always|never|confirmed|confirm|booked|book|scheduled|"
    r"schedule|bought|buy|order|ordered|deploy|deployed|ship|shipped|fixed|fix|"
    r"switch to|switched to|moved to|cancel|cancelled|canceled|approve|approved)\b",
    re.IGNORECASE,
)
_FILLER = re.compile(
    r"^(?:sure|ok|okay|thanks|thank you|great|cool|nice|got it|you're welcome|no problem|"
    r"of course|sounds good|happy to help|let me know|hello|hi|hey|good morning|"
    r"good night|yes|no|yep|nope)\b",
    re.IGNORECASE,
)
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+")
_ABBREVIATIONS = frozenset(
    ["dr.", "mr.", "mrs.", "ms.", "prof.", "st.", "e.g.", "i.e.", "vs.", "approx.", "no."]
)
_LIST_MARK = re.compile(r"^\s{0,8}(?:[-*•>]|\d{1,3}[.)])\s+")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
_NUMBER = re.compile(r"\d")
_PROPER = re.compile(r"\s[A-Z][a-z]{2,}")
_AUDIO = re.compile(r"^\[Audio\][^\n]{0,400}?Transcript:\s?", re.IGNORECASE)
_KEY_SECTION = re.compile(r"decisions|open todos|todo|pending user asks|constraints", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9']+")

ROLE_WEIGHT = {"user": 1.0, "assistant": 0.7, "compaction": 1.2, "audio": 1.1}


@dataclass(frozen=True)
class Candidate:
    score: float
    ref: int
    order: int  # position in the hour, to restore reading order
    text: str


def sentences(text: str, heading: Callable[[str], H]) -> Iterator[tuple[str, H | None]]:
    """(sentence, what `heading` made of the Markdown heading above it, None before any)
    for each sentence of prose; code blocks are skipped, list marks removed."""
    in_code = False
    under: H | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code or not line:
            continue
        if _HEADING.match(line):
            under = heading(line)
            continue
        line = _LIST_MARK.sub("", line, count=1)
        for piece in _joined(_SENTENCE_BREAK.split(line)):
            sentence = piece.strip()
            if sentence:
                yield sentence, under


def _joined(pieces: list[str]) -> Iterator[str]:
    """Pieces split after a title or abbreviation ("Dr. Okafor") put back together."""
    held = ""
    for piece in pieces:
        held = f"{held} {piece}" if held else piece
        last = held.rsplit(None, 1)[-1].casefold() if held.strip() else ""
        if last not in _ABBREVIATIONS:
            yield held
            held = ""
    if held:
        yield held


def _key_section(heading: str) -> bool:
    return bool(_KEY_SECTION.search(heading[:200]))


def _score(sentence: str, role: str, first: bool, key_section: bool) -> float:
    head = sentence[:2000]  # scoring a bounded prefix keeps huge "sentences" cheap
    words = len(head.split())
    score = ROLE_WEIGHT.get(role, 0.8)
    if words < 3:
        return score - 1.5  # fragments never win; skip the pattern work
    decisions = len(_DECISION.findall(head))
    score += min(decisions, 2) * 1.5
    if key_section:
        score += 1.5
    if role == "user" and head.rstrip().endswith("?"):
        score += 0.8
    if _NUMBER.search(head):
        score += 0.4
    if _PROPER.search(head):
        score += 0.3
    if first:
        score += 0.3
    if words == 3:
        score -= 1.5
    elif words > 60:
        score -= 0.5
    if _FILLER.match(head):
        score -= 1.5
    return score


def clip(sentence: str) -> str:
    """One line of at most MAX_SENTENCE_CHARS, whitespace collapsed."""
    sentence = " ".join(sentence[: MAX_SENTENCE_CHARS * 4].split())
    if len(sentence) > MAX_SENTENCE_CHARS:
        sentence = sentence[: MAX_SENTENCE_CHARS - 1].rstrip() + "…"
    return sentence


def similar(a: str, b: str, threshold: float) -> bool:
    """Near-duplicates: their word sets overlap (Jaccard) above `threshold`."""
    wa, wb = set(_WORD.findall(a.lower())), set(_WORD.findall(b.lower()))
    if not wa or not wb:
        return a == b
    return len(wa & wb) / len(wa | wb) > threshold


def bullet_budget(sentences: int) -> int:
    """More bullets for busier hours, growing slowly (a 2,000-turn hour gets 8, not 2,000)."""
    return max(MIN_BULLETS, min(MAX_BULLETS, round(math.sqrt(sentences))))


def summarize_extractive(
    passages: Sequence[Passage], max_bullets: int | None = None
) -> list[Bullet]:
    """The most salient sentences of `passages`, in reading order, each citing its passage.

    Candidates stream through a bounded heap, so memory stays flat however long the hour.
    """
    pool: list[tuple[float, int, Candidate]] = []
    pool_size = (max_bullets or MAX_BULLETS) * 4  # spares for near-duplicates skipped below
    count = 0
    for passage in passages:
        role = passage.attrs.get("role", "user")
        text = _AUDIO.sub("", passage.text, count=1) if role == "audio" else passage.text
        for index, (sentence, key_section) in enumerate(sentences(text, _key_section)):
            candidate = Candidate(
                _score(sentence, role, index == 0, bool(key_section)), passage.ref, count, sentence
            )
            item = (candidate.score, -count, candidate)
            count += 1
            if len(pool) < pool_size:
                heapq.heappush(pool, item)
            elif item[:2] > pool[0][:2]:
                heapq.heapreplace(pool, item)
    if not pool:
        return []
    wanted = max_bullets or bullet_budget(count)
    chosen: list[Candidate] = []
    for _, _, candidate in sorted(pool, key=lambda item: item[:2], reverse=True):
        clipped = clip(candidate.text)
        if any(similar(clipped, clip(c.text), HOURLY_SIMILARITY) for c in chosen):
            continue
        chosen.append(candidate)
        if len(chosen) == wanted:
            break
    chosen.sort(key=lambda c: c.order)
    return [Bullet(clip(c.text), (c.ref,)) for c in chosen]
