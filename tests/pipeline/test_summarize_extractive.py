"""The extractive summariser and the bullet parser: salient sentences chosen, provenance
kept, and every pattern linear on long adversarial input."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openclaw_infra.core.mdsafe import MAX_BULLET_CHARS, markdown_text
from openclaw_infra.llm.mapreduce import Passage
from openclaw_infra.pipeline.bullets import Bullet, parse_bullets, render_bullet
from openclaw_infra.pipeline.extractive import (
    MAX_BULLETS,
    MAX_SENTENCE_CHARS,
    summarize_extractive,
)


def test_decisions_beat_filler() -> None:
    """Decision-like and dated sentences are picked; greetings and thanks are not; bullets
    keep reading order and cite their passage."""
    passages = [
        Passage(1, "Hi! Thanks so much.", {"role": "user"}),
        Passage(
            2,
            "We decided to move the nightly backup to the external SSD on Friday.",
            {"role": "user"},
        ),
        Passage(
            3,
            "Sure! Sounds good. I will schedule it for 02:00 and remind you on Thursday.",
            {"role": "assistant"},
        ),
        Passage(4, "ok", {"role": "user"}),
    ]
    bullets = summarize_extractive(passages, max_bullets=2)
    assert [b.refs for b in bullets] == [(2,), (3,)]
    assert bullets[0].text.startswith("We decided to move the nightly backup")
    assert "schedule it for 02:00" in bullets[1].text


def test_compaction_decisions_and_audio_transcripts_are_used() -> None:
    """A compaction summary's Decisions items and a voice note's transcript are input like
    any turn, and favoured (they are dense)."""
    compaction = (
        "## Decisions\n- Use Postgres 16 for the ledger service.\n"
        "## Open TODOs\n- Renew the TLS certificate before 2026-04-01.\n"
    )
    audio = "[Audio] voice note (12 s) Transcript: Call the plumber about the leak tomorrow."
    bullets = summarize_extractive(
        [
            Passage(1, "The weather is nice.", {"role": "assistant"}),
            Passage(2, compaction, {"role": "compaction"}),
            Passage(3, audio, {"role": "audio"}),
        ],
        max_bullets=3,
    )
    texts = [b.text for b in bullets]
    assert "Use Postgres 16 for the ledger service." in texts
    assert "Renew the TLS certificate before 2026-04-01." in texts
    assert "Call the plumber about the leak tomorrow." in texts


def test_busy_hour_is_bounded() -> None:
    """2,000 turns give at most MAX_BULLETS bullets, no near-duplicates, each a real ref."""
    passages = [
        Passage(i, f"We decided item {i % 7} goes first. Okay.", {"role": "user"})
        for i in range(1, 2001)
    ]
    bullets = summarize_extractive(passages)
    assert 1 <= len(bullets) <= MAX_BULLETS
    assert len({b.text for b in bullets}) == len(bullets)
    assert all(1 <= b.refs[0] <= 2000 for b in bullets)


ADVERSARIAL = [
    "a" * 3_000_000,
    "a. " * 600_000,
    "!" * 3_000_000,
    "\n" * 2_000_000,
    "decide " * 400_000,
    "[Audio] " + "x" * 2_000_000,
    "# " * 1_000_000,
    "- [1, " * 300_000,
    "[" + "1," * 1_000_000,
    " " * 3_000_000 + "Transcript:",
    "```\n" * 500_000,
    ("A" * 50 + " ") * 60_000,
]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("text", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_patterns_are_linear_on_adversarial_input(text: str) -> None:
    """Megabytes of text built to trip backtracking regexes (runs of one character, long
    bracket lists, unterminated markers) finish in seconds in the summariser and the bullet
    parser; an exponential pattern would never finish."""
    started = time.monotonic()
    bullets = summarize_extractive([Passage(1, text, {"role": "audio"})])
    parse_bullets("- " + text, {1})
    markdown_text(text)
    assert time.monotonic() - started < 60
    assert all(len(b.text) <= MAX_SENTENCE_CHARS for b in bullets)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=400), min_size=1, max_size=12))
def test_any_text_gives_cited_bounded_bullets(texts: list[str]) -> None:
    """Whatever the input, every bullet cites one of the given refs and is bounded."""
    passages = [Passage(i, t, {"role": "user"}) for i, t in enumerate(texts, 1)]
    for bullet in summarize_extractive(passages):
        assert bullet.refs[0] in range(1, len(texts) + 1)
        assert 0 < len(bullet.text) <= MAX_SENTENCE_CHARS


def test_parse_bullets_keeps_only_real_refs() -> None:
    """Refs that name no input are discarded; a bullet citing nothing real is dropped and
    counted; entities are unescaped; preamble lines are ignored."""
    text = (
        "Here are the notes:\n- Chose &lt;Postgres&gt; [1, 3]\n* Invented fact [42]\n"
        "- Two sources [2][3]\n1. Numbered list item [2; 9]\n- no refs at all\n"
    )
    bullets, dropped = parse_bullets(text, {1, 2, 3})
    assert bullets == [
        Bullet("Chose <Postgres>", (1, 3)),
        Bullet("Two sources", (2, 3)),
        Bullet("Numbered list item", (2,)),
    ]
    assert dropped == 2


def test_rendered_bullet_is_inert_and_cited() -> None:
    """Rendered text cannot forge citations or HTML; at most three citations are shown."""
    line = render_bullet(
        Bullet("see [s#e] <b>x</b>\nnext", (1,)), ["s1#a", "s1#b", "s1#a", "s2#c", "s2#d"]
    )
    assert line == r"- see \[s#e\] &lt;b&gt;x&lt;/b&gt; next [s1#a] [s1#b] [s2#c]"
    assert len(markdown_text("y" * 10_000)) <= MAX_BULLET_CHARS
