"""Chunking: conversation windows (incremental = from scratch) and heading-aware Markdown."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from openclaw_infra.memory.chunking import (
    TURN_MAX_CHARS,
    Turn,
    first_open_window,
    markdown_chunks,
    render_turns,
    window_chunks,
)


def _turns(n: int, start: int = 0) -> list[Turn]:
    return [
        Turn(
            2 + k,
            f"e{k}",
            1_700_000_000.0 + 60 * k,
            "user" if k % 2 == 0 else "assistant",
            f"message number {k}",
        )
        for k in range(start, start + n)
    ]


def _key(chunks: list) -> set[tuple[int, int, str]]:
    return {(c.start, c.end, c.text) for c in chunks}


def test_windows_cover_every_turn_with_speaker_and_time() -> None:
    """Every turn lands in some window, each window names its speakers and starts with a time."""
    turns = _turns(9)
    chunks = window_chunks(turns, size=4, stride=2)
    assert [(c.start, c.end) for c in chunks] == [(2, 5), (4, 7), (6, 9), (8, 10)]
    for turn in turns:
        assert any(f"{turn.role}: {turn.text}" in c.text for c in chunks)
    assert all(c.text.startswith("[2023-11-") and "UTC]" in c.text.splitlines()[0] for c in chunks)


@settings(max_examples=60, deadline=None)
@given(
    total=st.integers(1, 40),
    old=st.integers(0, 40),
    shape=st.sampled_from([(4, 2), (3, 1), (2, 1), (6, 3), (5, 2)]),
)
def test_incremental_windows_equal_windows_from_scratch(
    total: int, old: int, shape: tuple[int, int]
) -> None:
    """Appending turns and re-chunking only the open tail gives exactly the full chunking."""
    size, stride = shape
    old = min(old, total)
    turns = _turns(total)
    full = window_chunks(turns, size=size, stride=stride)
    before = window_chunks(turns[:old], size=size, stride=stride) if old else []
    lo = first_open_window(old, size, stride)
    kept = [c for c in before if lo >= len(turns) or c.start < turns[lo].position]
    tail = window_chunks(turns[lo:], offset=lo, size=size, stride=stride) if lo < total else []
    assert _key(kept) | _key(tail) == _key(full)
    assert len(kept) + len(tail) == len(full)


def test_long_turn_is_shortened_in_windows_and_indexed_whole_in_pieces() -> None:
    """A turn longer than a window allows is cut there but all of its words stay findable."""
    words = [f"word{k}" for k in range(600)]
    long_turn = Turn(3, "x", 1_700_000_000.0, "assistant", " ".join(words))
    chunks = window_chunks([_turns(1)[0], long_turn], size=4, stride=2)
    window = chunks[0]
    assert len(window.text) < TURN_MAX_CHARS + 200 and window.text.endswith("…")
    pieces = [c for c in chunks if "(part " in c.text]
    assert len(pieces) >= 2 and all(c.start == c.end == 3 for c in pieces)
    joined = " ".join(c.text for c in pieces)
    assert all(w in joined for w in words)


def test_time_marker_repeats_after_a_gap() -> None:
    """Turns hours apart inside one window each get their own time marker."""
    turns = [
        Turn(1, "a", 1_700_000_000.0, "user", "hi"),
        Turn(2, "b", 1_700_000_000.0 + 5 * 3600, "assistant", "later"),
    ]
    text = render_turns(turns)
    assert text.count(" UTC]") == 2


MD = """---
period: 2026-01-18
sources: [a, b]
---
# Daily notes

Intro paragraph about the day.

## Garden
- Planted tomatoes
- Watered basil

### Pests
Aphids on the roses.

## Health
Dentist on Friday at 10.
"""


def test_markdown_chunks_follow_headings_with_exact_line_ranges() -> None:
    """Frontmatter is skipped, `##` sections start new chunks, line ranges point at the text."""
    lines = MD.splitlines()
    chunks = markdown_chunks(MD)
    assert all("period:" not in c.text for c in chunks)
    starts = [lines[c.start - 1] for c in chunks]
    assert starts == ["# Daily notes", "## Garden", "## Health"]
    garden = chunks[1]
    assert "Aphids on the roses." in garden.text  # a deeper section is packed with its parent
    for c in chunks:
        body = "\n".join(lines[c.start - 1 : c.end])
        assert all(line in body for line in c.text.splitlines() if line.strip())


def test_oversized_section_is_split_and_each_piece_names_its_section() -> None:
    """A section longer than a chunk becomes several chunks, each prefixed with its heading path."""
    body = "\n".join(f"- item {k} " + "x" * 60 for k in range(60))
    chunks = markdown_chunks(f"# Top\n\n## Lists\n{body}\n", max_chars=800)
    assert len(chunks) > 3
    assert all(len(c.text) <= 800 for c in chunks)
    assert chunks[0].text.startswith("# Top\n\n## Lists\n- item 0")
    assert all(c.text.startswith("§ Top › Lists\n- item") for c in chunks[1:])
    assert sorted({c.start for c in chunks}) == sorted(c.start for c in chunks)
