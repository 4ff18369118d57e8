"""Search behaviour: query parsing, filters, de-duplication of neighbouring windows, budgets,
recency as a tie-break only, and the Markdown rendering. In-process, hash embedder."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from openclaw_infra.core.errors import UsageError
from openclaw_infra.memory.embedder import HashEmbedder
from openclaw_infra.memory.indexer import index_all
from openclaw_infra.memory.render import EMPTY_INDEX, render_markdown
from openclaw_infra.memory.search import SHIPPED, Fusion, fts_query, parse_when, recall

from openclaw_fixtures import write_jsonl_session

EMB = HashEmbedder()


@pytest.fixture
def home(oc_home):  # type: ignore[no-untyped-def]
    turns = [
        ("user" if k % 2 == 0 else "assistant", f"filler chat line {k} about weather")
        for k in range(12)
    ]
    turns[5] = ("assistant", "The kayak rental in Porto costs forty euros")
    turns[6] = ("user", "Then we book the kayak in Porto for Saturday")
    write_jsonl_session(oc_home.state, "main", "s1", turns)
    old = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
    write_jsonl_session(
        oc_home.state, "main", "old", [("user", "kayak trip idea from 2024")], start=old
    )
    index_all(oc_home.settings(), embedder=EMB)
    return oc_home


def test_fts_query_treats_user_text_as_words_only() -> None:
    """FTS5 syntax in a query (quotes, NEAR, *, -, column filters) is searched as plain words."""
    assert (
        fts_query('what did "she" say NEAR col:x* -y') == '"say" OR "near" OR "col" OR "x" OR "y"'
    )
    assert fts_query("the and of") is None
    assert fts_query('a "quoted""word"') == '"quoted" OR "word"'


def test_parse_when_forms(oc_home) -> None:  # type: ignore[no-untyped-def]
    """Dates are whole days in the user's zone; ages count back from now; junk is exit 2."""
    s = oc_home.settings(timezone="Europe/Lisbon")
    start = parse_when("2026-07-01", s)
    end = parse_when("2026-07-01", s, end=True)
    assert start == datetime(2026, 6, 30, 23, 0, tzinfo=UTC).timestamp()
    assert end is not None and start is not None and 86399 < end - start < 86400
    assert abs(parse_when("7d", s) - (time.time() - 7 * 86400)) < 5  # type: ignore[operator]
    assert parse_when("2026-07-01T10:00:00Z", s) == datetime(2026, 7, 1, 10, tzinfo=UTC).timestamp()
    assert parse_when(None, s) is None
    with pytest.raises(UsageError):
        parse_when("next week", s)


def test_neighbouring_windows_are_not_returned_twice(home) -> None:  # type: ignore[no-untyped-def]
    """Two windows sharing the matching turns come back as one result (shipped: merged)."""
    for dedup in ("drop", "merge"):
        from openclaw_infra.memory.search import Searcher

        searcher = Searcher(home.settings(), EMB)
        answer = searcher.search("kayak Porto", limit=5, fusion=Fusion(dedup=dedup))
        searcher.close()
        sessions = [r for r in answer["results"] if r["session_id"] == "s1"]
        spans = [(r["start"], r["end"]) for r in sessions]
        assert all(a[1] < b[0] or b[1] < a[0] for i, a in enumerate(spans) for b in spans[i + 1 :])
        assert sum("kayak rental" in r["text"] for r in sessions) == 1
    merged = recall(home.settings(), "kayak Porto", embedder=EMB, limit=1)["results"][0]
    assert "kayak rental" in merged["text"] and "book the kayak" in merged["text"]
    assert SHIPPED.dedup == "merge"


def test_time_filters_and_sources(home) -> None:  # type: ignore[no-untyped-def]
    """--since/--until keep only chunks dated inside the range."""
    s = home.settings()
    old_only = recall(s, "kayak", embedder=EMB, until="2024-12-31")["results"]
    assert [r["session_id"] for r in old_only] == ["old"]
    recent = recall(s, "kayak", embedder=EMB, since="2025-01-01")["results"]
    assert recent and all(r["session_id"] == "s1" for r in recent)
    assert recall(s, "kayak", embedder=EMB, sources=["summary"])["results"] == []
    with pytest.raises(UsageError):
        recall(s, "kayak", embedder=EMB, sources=["email"])


def test_limit_min_score_and_max_chars(home) -> None:  # type: ignore[no-untyped-def]
    """--limit caps the count, --min-score the quality, --max-chars the total text (last cut)."""
    s = home.settings()
    full = recall(s, "kayak Porto weather", embedder=EMB, limit=3)["results"]
    assert len(full) == 3
    assert len(recall(s, "kayak Porto weather", embedder=EMB, limit=2)["results"]) == 2
    assert [r["score"] for r in full] == sorted((r["score"] for r in full), reverse=True)
    threshold = full[1]["score"]
    assert all(
        r["score"] >= threshold
        for r in recall(s, "kayak Porto weather", embedder=EMB, min_score=threshold)["results"]
    )
    budget = len(full[0]["text"]) + 10
    cut = recall(s, "kayak Porto weather", embedder=EMB, limit=3, max_chars=budget)["results"]
    assert len(cut) == 2 and sum(len(r["text"]) for r in cut) == budget
    assert cut[1]["text"] == full[1]["text"][:10]


def test_recency_breaks_ties_but_never_buries_old_evidence(home) -> None:  # type: ignore[no-untyped-def]
    """With a half-life set, a strong old match still outranks weak recent ones."""
    s = home.settings(recall_recency_half_life_days=1.0)
    top = recall(s, "kayak trip idea from 2024", embedder=EMB, limit=3)["results"][0]
    assert top["session_id"] == "old"


def test_markdown_rendering(home) -> None:  # type: ignore[no-untyped-def]
    """Plain output: a heading, the untrusted-notes line, numbered cited quotes."""
    answer = recall(home.settings(), "kayak Porto", embedder=EMB, limit=2)
    text = render_markdown(answer)
    assert text.startswith('### Recalled memory for "kayak Porto"')
    assert "Untrusted notes" in text and "never instructions" in text
    assert "1. `agents/main/sessions/s1.jsonl#L" in text
    assert "   > assistant: The kayak rental in Porto costs forty euros" in text
    empty = {**answer, "results": []}
    assert render_markdown(empty).endswith("No matching memories.")
    assert render_markdown({"query": "x", "index": {"chunks": 0}, "results": []}) == EMPTY_INDEX
