"""The labelled days of tests/data/digest_days: each day's notes (hourly bullets, compaction
summaries, voice notes, as daily-sync reads them), digested by the real extractive daily
digest and the real tracker, scored against the expected items per section.

Scoring is independent of the digest's own matching: an expected line is found when every
word of its `match` phrase occurs in a predicted line (case folded); an action also needs
the same owner and due date; a person, the same name (titles like "Dr." and first/last name
parts aside). `<section>_optional` lists lines that are neither required nor wrong (an
ambiguous case: "Android" as a project). Precision is over predicted lines, recall over
expected ones.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from openclaw_infra.llm.mapreduce import Passage
from openclaw_infra.pipeline.daily.digest import DAILY_DIGEST
from openclaw_infra.pipeline.daily.priorities import Embed, Matcher, Tracker
from openclaw_infra.pipeline.daily.run import ROLE_OF, DailyRun
from openclaw_infra.pipeline.items import ACTION, DECISION, PERSON, PRIORITY, QUESTION, Item
from openclaw_infra.pipeline.summarizer import ExtractiveSummarizer

DAYS = Path(__file__).parent / "data" / "digest_days"
SECTIONS = ("people", "actions", "decisions", "questions", "priorities")
_TITLE = re.compile(r"^(?:dr|mr|mrs|ms|prof|grandma|grandpa|aunt|uncle)\.?\s+", re.I)


@dataclass
class Predicted:
    """One section line as the digest gives it."""

    text: str
    owner: str | None = None
    due: str | None = None


@dataclass
class Tally:
    true_pos: int = 0
    predicted: int = 0
    expected: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.true_pos / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.true_pos / self.expected if self.expected else 1.0


def load_days() -> list[tuple[str, dict[str, Any]]]:
    return [(p.stem, json.loads(p.read_text())) for p in sorted(DAYS.glob("*.json"))]


def passages_of(day: dict[str, Any]) -> list[Passage]:
    """The passages daily-sync builds from a day's notes (run.py's roles and attrs)."""
    return [
        Passage(
            ref,
            note["text"],
            {
                "role": ROLE_OF[note["kind"]],
                "agent": note["agent"] or "voice",
                "day": day["day"],
                "time": "?",
            },
        )
        for ref, note in enumerate(day["notes"], 1)
    ]


def digest(day: dict[str, Any], embed: Embed) -> dict[str, list[Predicted]]:
    """The day's sections: the extractive summariser's items, then the action items and
    priorities applied to a fresh tracker as daily-sync applies them."""
    when = date.fromisoformat(day["day"])
    items: list[Item] = (
        ExtractiveSummarizer(DAILY_DIGEST).summarize(passages_of(day), "", when).items
    )
    tracker = Tracker([], Matcher(embed))
    out: dict[str, list[Predicted]] = {s: [] for s in SECTIONS}
    for kind, section in ((ACTION, "actions"), (PRIORITY, "priorities")):
        rows = DailyRun._tracked(when, kind, items, lambda _: [], tracker)
        out[section] = [Predicted(t.text, t.owner, t.due) for t, _, _ in rows]
    for item in items:
        if item.section == PERSON:
            out["people"].append(Predicted(item.name or item.text))
        elif item.section == DECISION:
            out["decisions"].append(Predicted(item.text))
        elif item.section == QUESTION:
            out["questions"].append(Predicted(item.text))
    return out


def _name_key(name: str) -> set[str]:
    return set(_TITLE.sub("", name).casefold().split())


def _matches(section: str, expected: Any, got: Predicted) -> bool:
    if section == "people":
        return bool(_name_key(expected)) and _name_key(expected) <= _name_key(got.text)
    phrase = expected["match"] if isinstance(expected, dict) else expected
    text = got.text.casefold()
    if not all(word in text for word in phrase.casefold().split()):
        return False
    if section == "actions" and isinstance(expected, dict):
        owner = (got.owner or "").casefold()
        return owner == str(expected["owner"]).casefold() and got.due == expected["due"]
    return True


def score_day(
    day: dict[str, Any], predicted: dict[str, list[Predicted]], tallies: dict[str, Tally]
) -> None:
    expected_all = day["expected"]
    for section in SECTIONS:
        tally = tallies.setdefault(section, Tally())
        expected = list(expected_all.get(section, []))
        optional = expected_all.get(f"{section}_optional", [])
        unmatched = list(expected)
        for got in predicted[section]:
            hit = next((e for e in unmatched if _matches(section, e, got)), None)
            if hit is not None:
                unmatched.remove(hit)
                tally.true_pos += 1
                tally.predicted += 1
            elif any(
                _matches(section, {"match": o} if section == "actions" else o, got)
                for o in optional
                if section != "actions"
            ) or any(
                all(w in got.text.casefold() for w in o.casefold().split())
                for o in optional
                if section == "actions"
            ):
                continue  # an ambiguous line: neither required nor wrong
            else:
                tally.predicted += 1
                tally.misses.append(f"{day['day']} {section} extra: {got}")
        tally.expected += len(expected)
        tally.misses += [f"{day['day']} {section} missed: {e}" for e in unmatched]


def evaluate(days: Sequence[tuple[str, dict[str, Any]]], embed: Embed) -> dict[str, Tally]:
    tallies: dict[str, Tally] = {}
    for _, day in days:
        score_day(day, digest(day, embed), tallies)
    return tallies


def report(tallies: dict[str, Tally], line: Callable[[str], None] = print) -> None:
    line(f"{'section':<12} {'precision':>9} {'recall':>7} {'tp':>4} {'pred':>5} {'exp':>4}")
    for section in SECTIONS:
        t = tallies[section]
        line(
            f"{section:<12} {t.precision:>9.2f} {t.recall:>7.2f} {t.true_pos:>4} "
            f"{t.predicted:>5} {t.expected:>4}"
        )
