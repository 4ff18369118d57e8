"""The extractive daily digest on the labelled days (tests/data/digest_days): the real
digest (spaCy's packaged English model) and the real tracker with the packaged MiniLM, scored
per section by tests/digest_days.py. benchmarks/digest_quality.py prints the same figures."""

from __future__ import annotations

import pytest

from digest_days import evaluate, load_days
from openclaw_infra.memory.embedder import PACKAGED_MODEL, SentenceTransformerEmbedder

FLOOR = 0.85

pytestmark = pytest.mark.model


def test_labelled_days_meet_the_floor_in_every_section() -> None:
    """Every section (people, action items with owner and due date, decisions, open
    questions, priorities) keeps precision and recall at or above the floor on at least ten
    varied days; a failure lists what was missed or extra."""
    days = load_days()
    assert len(days) >= 10
    tallies = evaluate(days, SentenceTransformerEmbedder(PACKAGED_MODEL).encode)
    for section, tally in tallies.items():
        assert tally.expected > 0 or section == "priorities", section
        assert tally.precision >= FLOOR and tally.recall >= FLOOR, (section, tally.misses)
