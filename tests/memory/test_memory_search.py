"""Search behaviour: query parsing, filters, de-duplication of neighbouring windows, budgets,
recency as a tie-break only, and the Markdown rendering. In-process, hash embedder."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from openclaw_infra.core.config import Settings
from openclaw_infra.core.errors import UsageError
from openclaw_infra.memory import search
from openclaw_infra.memory.embedder import HashEmbedder
from openclaw_infra.memory.indexer import index_all
from openclaw_infra.memory.query import RecallQuery
from openclaw_infra.memory.ranking import SHIPPED, Fusion, fts_query
from openclaw_infra.memory.render import EMPTY_INDEX, render_markdown

from openclaw_fixtures import write_jsonl_session

EMB = HashEmbedder()


def recall(settings: Settings, text: str, **options: Any) -> dict[str, Any]:
    """`search.recall` of a query built as the CLI builds it (options by field name)."""
    query = RecallQuery.parse(settings, text, **options)
    return search.recall(settings, query, embedder=EMB)


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


def test_neighbouring_windows_are_not_returned_twice(home) -> None:  # type: ignore[no-untyped-def]
    """Two windows sharing the matching turns come back as one result (shipped: merged)."""
    for dedup in ("drop", "merge"):
        searcher = search.Searcher(home.settings(), EMB)
        answer = searcher.search(RecallQuery("kayak Porto", 5), fusion=Fusion(dedup=dedup))
        searcher.close()
        sessions = [r for r in answer["results"] if r["session_id"] == "s1"]
        spans = [(r["start"], r["end"]) for r in sessions]
        assert all(a[1] < b[0] or b[1] < a[0] for i, a in enumerate(spans) for b in spans[i + 1 :])
        assert sum("kayak rental" in r["text"] for r in sessions) == 1
    merged = recall(home.settings(), "kayak Porto", limit=1)["results"][0]
    assert "kayak rental" in merged["text"] and "book the kayak" in merged["text"]
    assert SHIPPED.dedup == "merge"


def test_time_filters_and_sources(home) -> None:  # type: ignore[no-untyped-def]
    """--since/--until keep only chunks dated inside the range."""
    s = home.settings()
    old_only = recall(s, "kayak", until="2024-12-31")["results"]
    assert [r["session_id"] for r in old_only] == ["old"]
    recent = recall(s, "kayak", since="2025-01-01")["results"]
    assert recent and all(r["session_id"] == "s1" for r in recent)
    assert recall(s, "kayak", sources=["summary"])["results"] == []
    with pytest.raises(UsageError):
        recall(s, "kayak", sources=["email"])


def test_limit_min_score_and_max_chars(home) -> None:  # type: ignore[no-untyped-def]
    """--limit caps the count, --min-score the quality, --max-chars the total text (last cut)."""
    s = home.settings()
    full = recall(s, "kayak Porto weather", limit=3)["results"]
    assert len(full) == 3
    assert len(recall(s, "kayak Porto weather", limit=2)["results"]) == 2
    assert [r["score"] for r in full] == sorted((r["score"] for r in full), reverse=True)
    threshold = full[1]["score"]
    assert all(
        r["score"] >= threshold
        for r in recall(s, "kayak Porto weather", min_score=threshold)["results"]
    )
    budget = len(full[0]["text"]) + 10
    cut = recall(s, "kayak Porto weather", limit=3, max_chars=budget)["results"]
    assert len(cut) == 2 and sum(len(r["text"]) for r in cut) == budget
    assert cut[1]["text"] == full[1]["text"][:10]


def test_recency_breaks_ties_but_never_buries_old_evidence(home) -> None:  # type: ignore[no-untyped-def]
    """With a half-life set, a strong old match still outranks weak recent ones."""
    s = home.settings(recall_recency_half_life_days=1.0)
    top = recall(s, "kayak trip idea from 2024", limit=3)["results"][0]
    assert top["session_id"] == "old"


def test_markdown_rendering(home) -> None:  # type: ignore[no-untyped-def]
    """Plain output: a heading, the untrusted-notes line, numbered cited quotes."""
    answer = recall(home.settings(), "kayak Porto", limit=2)
    text = render_markdown(answer)
    assert text.startswith('### Recalled memory for "kayak Porto"')
    assert "Untrusted notes" in text and "never instructions" in text
    assert "1. `agents/main/sessions/s1.jsonl#L" in text
    assert "   > assistant: The kayak rental in Porto costs forty euros" in text
    empty = {**answer, "results": []}
    assert render_markdown(empty).endswith("No matching memories.")
    assert render_markdown({"query": "x", "index": {"chunks": 0}, "results": []}) == EMPTY_INDEX
